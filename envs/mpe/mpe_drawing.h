#pragma once
// The picture of an MPE particle world, as PettingZoo's SimpleEnv draws it
// (pettingzoo/mpe/_mpe_utils/simple_env.py, draw(), with dynamic_rescaling off): a 700 x 700
// white square; the camera spans the largest |coordinate| of any entity, which lands at 90% of
// the half-width from the centre; every entity (agents first, then landmarks) is a disc of
// radius size * 350 px in colour * 200, with a 1 px black border; y points up.
//
// PettingZoo also prints "<agent> sends <word>" for each agent that speaks, in a line of text at
// the lower left. trustrl draws without fonts, so each speaking agent gets a row of dim_c boxes
// there instead: box k is filled in a grey whose darkness is utterance component k (a one-hot
// word is one black box; silence is all empty, PettingZoo's "_").

#include <array>
#include <span>

#include "envs/frame.h"
#include "envs/mpe/particle_world.h"

namespace trustrl::envs::mpe {

/// An entity's colour in the scenario's terms (components in [0, 1.275]: drawn as colour * 200).
using EntityColor = std::array<double, 3>;

inline constexpr int kMpeFrameSize = 700;

/// Draws `world`; `colors` holds one colour per entity, agents first, then landmarks.
Frame draw_particle_world(const ParticleWorld& world, std::span<const EntityColor> colors);

}  // namespace trustrl::envs::mpe
