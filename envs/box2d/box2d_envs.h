#pragma once
// The Box2D family: LunarLander-v3, LunarLanderContinuous-v3, BipedalWalker-v3,
// BipedalWalkerHardcore-v3 (Gymnasium 1.x, on Box2D 2.4; differences in docs/BOX2D.md), and the
// multi-agent multiwalker_v9 (PettingZoo SISL; docs/MULTI_AGENT.md).

#include "envs/registry.h"

namespace trustrl::envs {

void register_box2d(EnvRegistry& registry);
void register_box2d_multi_agent(EnvRegistry& registry);

}  // namespace trustrl::envs
