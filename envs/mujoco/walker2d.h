#pragma once
// Walker2d-v5 and Walker2d-v4: Gymnasium 1.x mujoco/walker2d_v5.py and walker2d_v4.py, on MuJoCo
// 2.2.2 (docs/MUJOCO.md); what they share with Hopper is planar_walker.h. -v4 differs in three
// ways: its model's right foot has friction 0.9 (the left 1.9; -v5 gives both 1.9), with
// terminate_when_unhealthy the healthy reward is paid on every step, the terminating one included,
// and it has no frame_skip or xml_file option.
//
// Observation (17 float32): qpos[1:] = [z, torso angle, thigh, leg, foot, thigh_left, leg_left,
// foot_left] then qvel (9) clipped to +-10; 18 with x first when
// exclude_current_positions_from_observation is false. Action: Box(-1, 1, (6,)), torques of the
// right then the left thigh, leg and foot hinges (gear 100); MuJoCo clamps them, the control cost
// takes them as given. dt = 4 frames * 2 ms. Healthy: z inside (0.8, 2) and the torso angle inside
// (-1, 1) (open intervals; unlike Hopper no other state value is checked, and there is no
// healthy_state option). State: [qpos (9), qvel (9), solver warm start (9)].

#include "envs/mujoco/planar_walker.h"

namespace trustrl::envs {

class Walker2d final : public PlanarWalker {
 public:
  /// Options: PlanarWalker's, without healthy_state_min/max; `version` is 4 or 5.
  explicit Walker2d(EnvOptions& options, int version = 5);
};

}  // namespace trustrl::envs
