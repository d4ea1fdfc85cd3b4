#pragma once
// Ant-v5 and Ant-v4: Gymnasium 1.x mujoco/ant_v5.py and ant_v4.py, on MuJoCo 2.2.2
// (docs/MUJOCO.md). A quadruped with a free torso and two hinges per leg.
//
// Observation (105 float32 for -v5): qpos[2:] (13: z, torso quaternion, 8 joint angles), qvel
// (14), then each body's centre-of-mass-based external force clipped to the contact force range,
// the world left out (13 bodies x 6 = 78); 107 with x and y first when
// exclude_current_positions_from_observation is false; 27 without the forces
// (include_cfrc_ext_in_observation false). Action: Box(-1, 1, (8,)), torques of hip_4, ankle_4,
// hip_1, ankle_1, ..., ankle_3 (gear 150). Reward: forward_reward_weight * dx/dt of the main
// body's frame + healthy_reward while healthy - ctrl_cost_weight * |a|^2 - contact_cost_weight *
// |clipped cfrc_ext|^2, dt = 5 frames * 10 ms. Healthy: qpos and qvel finite and z inside
// [healthy_z_min, healthy_z_max] (a closed interval, unlike the planar robots' open ones).
// Unhealthy terminates (terminate_when_unhealthy). Reset: qpos0 plus uniform noise in
// +-reset_noise_scale (the quaternion too, unnormalized, as in Gymnasium), zero velocity plus
// reset_noise_scale times standard normal noise.
//
// -v4: obs 27 (qpos[2:], qvel); use_contact_forces adds the clipped forces of every body, the
// world's included (84, obs 111), and the contact cost, which -v4 leaves out otherwise; the
// healthy reward is paid on the terminating step too; no frame_skip, main_body,
// forward_reward_weight or include_cfrc_ext_in_observation option (xml_file exists).
//
// The forward reward reads the main body's frame position as MuJoCo last computed it, which after
// a step is the last frame's before its integration, and the observed forces are the step's; both
// are part of the state so that save/load continues exactly: get_state() is [qpos (15), qvel
// (14), solver warm start (14), main body x and y (2), cfrc_ext (14 x 6)]. set_state() also takes
// [qpos, qvel]; then the position is recomputed and the forces are zero, as after reset.
// A step in which MuJoCo raises a simulation warning terminates with reward 0 from MuJoCo's reset
// state and counts in unstable_steps().

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "envs/env.h"
#include "envs/mujoco/locomotion.h"
#include "envs/mujoco/side_view.h"
#include "envs/options.h"

namespace trustrl::envs {

class Ant final : public Env {
 public:
  /// Options (Gymnasium's keyword arguments; a range (lo, hi) is two options _min and _max):
  /// forward_reward_weight (1, -v5), ctrl_cost_weight (0.5), contact_cost_weight (5e-4),
  /// healthy_reward (1), main_body (1: a body id or name, -v5), terminate_when_unhealthy (true),
  /// healthy_z_min/max (0.2, 1), contact_force_min/max (-1, 1), reset_noise_scale (0.1),
  /// exclude_current_positions_from_observation (true), include_cfrc_ext_in_observation (true,
  /// -v5), use_contact_forces (false, -v4), frame_skip (5, -v5), xml_file (built in).
  /// `version` is 4 or 5.
  explicit Ant(EnvOptions& options, int version = 5);

  static constexpr int kMaxEpisodeSteps = 1000;
  static constexpr double kRewardThreshold = 6000.0;

  /// Gymnasium's is_healthy for the current state.
  bool is_healthy() const;
  const LocomotionInfo& info() const { return info_; }
  /// Steps ended by simulation instability since construction.
  std::int64_t unstable_steps() const override { return unstable_steps_; }
  const MujocoSim& sim() const { return sim_; }
  /// The external forces (14 bodies x 6, unclipped) that the observation and the contact cost
  /// read: the last step's, zero after reset() and after set_state() of [qpos, qvel].
  std::span<const double> cfrc_ext() const { return cfrc_ext_; }
  /// One env step's duration (s): frame_skip model steps.
  double dt() const { return sim_.timestep() * frame_skip_; }
  /// The body whose frame's x velocity is rewarded.
  int main_body() const { return main_body_; }

  /// A side view that follows the torso (side_view.h).
  Frame render() const override { return render_side_view(sim_); }
  std::vector<double> get_state() const override;
  void set_state(std::span<const double> state, std::span<float> obs) override;

 protected:
  void reset_impl(std::span<float> obs) override;
  StepResult step_impl(Action action, std::span<float> obs) override;

 private:
  Ant(EnvOptions& options, int version, MujocoSim sim);
  /// Copies what the next step and the observation read from MuJoCo's derived data.
  void keep_derived();
  double clipped_force(double f) const;
  void write_obs(std::span<float> obs) const;

  MujocoSim sim_;
  int version_ = 5;
  int frame_skip_ = 5;
  int main_body_ = 1;
  bool exclude_xy_ = true;
  bool observe_forces_ = true;
  bool contact_cost_ = true;
  double forward_reward_weight_ = 1.0, ctrl_cost_weight_ = 0.5, contact_cost_weight_ = 5e-4;
  double healthy_reward_ = 1.0;
  bool terminate_when_unhealthy_ = true;
  double z_min_ = 0.2, z_max_ = 1.0;
  double force_min_ = -1.0, force_max_ = 1.0;
  double reset_noise_scale_ = 0.1;
  std::array<double, 2> main_body_xy_{};
  std::vector<double> cfrc_ext_;
  LocomotionInfo info_;
  std::int64_t unstable_steps_ = 0;
};

}  // namespace trustrl::envs
