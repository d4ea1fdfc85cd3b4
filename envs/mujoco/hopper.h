#pragma once
// Hopper-v5 and Hopper-v4: Gymnasium 1.x mujoco/hopper_v5.py and hopper_v4.py, on MuJoCo 2.2.2
// (docs/MUJOCO.md); what they share with Walker2d is planar_walker.h. -v4 differs in two ways:
// with terminate_when_unhealthy, the healthy reward is paid on every step, the terminating one
// included; it has no frame_skip or xml_file option.
//
// Observation (11 float32): qpos[1:] = [z, torso angle, thigh, leg, foot] then qvel (6: x, z,
// angle, thigh, leg, foot) clipped to +-10; 12 with x first when
// exclude_current_positions_from_observation is false. Action: Box(-1, 1, (3,)), torques of the
// thigh, leg and foot hinges (gear 200); MuJoCo clamps them, the control cost takes them as given.
// dt = 4 frames * 2 ms. Healthy: every value of qpos[2:] and qvel inside the healthy state range
// (-100, 100), z inside (0.7, inf) and the torso angle inside (-0.2, 0.2) (open intervals).
// State: [qpos (6), qvel (6), solver warm start (6)].

#include "envs/mujoco/planar_walker.h"

namespace trustrl::envs {

class Hopper final : public PlanarWalker {
 public:
  /// Options: PlanarWalker's, healthy_state_min/max included; `version` is 4 or 5.
  explicit Hopper(EnvOptions& options, int version = 5);

  static constexpr double kRewardThreshold = 3800.0;
};

}  // namespace trustrl::envs
