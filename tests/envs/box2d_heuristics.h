#pragma once
// Gymnasium's scripted controllers for the Box2D envs, ported as test helpers: the control laws of
// `heuristic` in box2d/lunar_lander.py and `BipedalWalkerHeuristics` in box2d/bipedal_walker.py.
// They read only the observation, so they also check that it means what Gymnasium's does.

#include <array>
#include <cstdint>
#include <span>

namespace trustrl::envs::testing {

/// LunarLander: points the lander towards the pad, hovers proportionally to the offset, and only
/// brakes the descent once a leg touches. Returns the discrete action (0..3).
std::int64_t lunar_lander_heuristic_discrete(std::span<const float> s);
/// The same law for the continuous form: [main, lateral] in [-1, 1].
std::array<float, 2> lunar_lander_heuristic_continuous(std::span<const float> s);

/// BipedalWalker: a three-phase gait (stand on one leg, put the other down, push off) with PD
/// control of hips and knees. Keeps its phase between calls; use one per episode.
class BipedalWalkerHeuristic {
 public:
  std::array<float, 4> act(std::span<const float> s);

 private:
  enum Phase { kStayOnOneLeg = 1, kPutOtherDown = 2, kPushOff = 3 };
  static constexpr double kSpeed = 0.29;  // falls forward when faster
  static constexpr double kSupportKneeAngle = 0.1;
  Phase phase_ = kStayOnOneLeg;
  int moving_leg_ = 0;
  int supporting_leg_ = 1;
  double supporting_knee_angle_ = kSupportKneeAngle;
};

}  // namespace trustrl::envs::testing
