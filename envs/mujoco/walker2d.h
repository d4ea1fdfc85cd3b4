#pragma once
// Walker2d-v5 and Walker2d-v4: Gymnasium 1.x mujoco/walker2d_v5.py and walker2d_v4.py, on MuJoCo
// 2.2.2 (docs/MUJOCO.md). -v4 differs in three ways: its model's right foot has friction 0.9 (the
// left 1.9; -v5 gives both 1.9), with terminate_when_unhealthy the healthy reward is paid on every
// step, the terminating one included, and it has no frame_skip or xml_file option.
//
// Observation (17 float32): qpos[1:] = [z, torso angle, thigh, leg, foot, thigh_left, leg_left,
// foot_left] then qvel (9) clipped to +-10; 18 with x first when
// exclude_current_positions_from_observation is false. Action: Box(-1, 1, (6,)), torques of the
// right then the left thigh, leg and foot hinges (gear 100); MuJoCo clamps them, the control cost
// takes them as given. Reward: forward_reward_weight * dx/dt + healthy_reward while healthy -
// ctrl_cost_weight * |a|^2, dt = 4 frames * 2 ms. Healthy: z and torso angle inside their ranges
// (open intervals; unlike Hopper no other state value is checked). Unhealthy terminates
// (terminate_when_unhealthy). Reset: qpos0 and zero velocity plus uniform noise in
// +-reset_noise_scale on every component. A step in which MuJoCo raises a simulation warning
// terminates with reward 0 from MuJoCo's reset state and counts in unstable_steps().
//
// get_state()/set_state(): MujocoSim::state(), [qpos (9), qvel (9), solver warm start (9)];
// set_state() also takes [qpos, qvel].

#include <cstdint>

#include "envs/env.h"
#include "envs/mujoco/locomotion.h"
#include "envs/options.h"

namespace trustrl::envs {

class Walker2d final : public Env {
 public:
  /// Options (Gymnasium's keyword arguments; a range (lo, hi) is two options _min and _max):
  /// forward_reward_weight (1), ctrl_cost_weight (1e-3), healthy_reward (1),
  /// terminate_when_unhealthy (true), healthy_z_min/max (0.8, 2), healthy_angle_min/max (-1, 1),
  /// reset_noise_scale (5e-3), exclude_current_positions_from_observation (true), frame_skip (4,
  /// -v5), xml_file (built in, -v5). `version` is 4 or 5.
  explicit Walker2d(EnvOptions& options, int version = 5);

  static constexpr int kMaxEpisodeSteps = 1000;

  /// Gymnasium's is_healthy for the current state.
  bool is_healthy() const;
  const LocomotionInfo& info() const { return info_; }
  /// Steps ended by simulation instability since construction.
  std::int64_t unstable_steps() const { return unstable_steps_; }
  const MujocoSim& sim() const { return sim_; }
  /// One env step's duration (s): frame_skip model steps.
  double dt() const { return sim_.timestep() * frame_skip_; }

  std::vector<double> get_state() const override;
  void set_state(std::span<const double> state, std::span<float> obs) override;

 protected:
  void reset_impl(std::span<float> obs) override;
  StepResult step_impl(Action action, std::span<float> obs) override;

 private:
  Walker2d(EnvOptions& options, int version, MujocoSim sim);
  void write_obs(std::span<float> obs) const;

  MujocoSim sim_;
  int version_ = 5;
  int frame_skip_ = 4;
  bool exclude_x_ = true;
  double forward_reward_weight_ = 1.0, ctrl_cost_weight_ = 1e-3, healthy_reward_ = 1.0;
  bool terminate_when_unhealthy_ = true;
  double z_min_ = 0.8, z_max_ = 2.0;
  double angle_min_ = -1.0, angle_max_ = 1.0;
  double reset_noise_scale_ = 5e-3;
  LocomotionInfo info_;
  std::int64_t unstable_steps_ = 0;
};

}  // namespace trustrl::envs
