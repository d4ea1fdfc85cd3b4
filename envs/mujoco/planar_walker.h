#pragma once
// What Hopper and Walker2d share (Gymnasium 1.x mujoco/hopper_v5.py and walker2d_v5.py, and their
// -v4): a planar robot whose qpos starts [x, z, torso angle, joints...]; reward
// forward_reward_weight
// * dx/dt + healthy_reward while healthy - ctrl_cost_weight * |a|^2; healthy while z and the torso
// angle stay inside their open ranges (Hopper also checks every other state value); unhealthy
// terminates (terminate_when_unhealthy); reset to qpos0 and zero velocity plus uniform noise in
// +-reset_noise_scale; the observation qpos[1:] then qvel clipped to +-10. -v4 pays the healthy
// reward on the terminating step too. The two robots differ in data only: a PlanarWalkerModel.
// A step in which MuJoCo raises a simulation warning (NaN or huge qpos, qvel, qacc, ...) terminates
// with reward 0 from MuJoCo's reset state and counts in unstable_steps().
//
// get_state()/set_state(): MujocoSim::state(), [qpos, qvel, solver warm start]; set_state() also
// takes [qpos, qvel].

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "envs/env.h"
#include "envs/mujoco/locomotion.h"
#include "envs/mujoco/side_view.h"
#include "envs/options.h"

namespace trustrl::envs {

/// One planar walker's name, model files and defaults.
struct PlanarWalkerModel {
  std::string name;                // the id without its version, "Hopper"
  std::string model_v5, model_v4;  // built-in MJCF files of the -v5 and -v4 ids
  std::optional<double> reward_threshold;
  double z_min, z_max;          // healthy_z_min/max defaults
  double angle_min, angle_max;  // healthy_angle_min/max defaults
  /// healthy_state_min/max defaults, for a robot whose every qpos[2:] and qvel value must stay
  /// inside them (Hopper); none: no such check and no such options (Walker2d).
  std::optional<std::pair<double, double>> state_range;
};

class PlanarWalker : public Env {
 public:
  static constexpr int kMaxEpisodeSteps = 1000;

  /// Gymnasium's is_healthy for the current state.
  bool is_healthy() const;
  const LocomotionInfo& info() const { return info_; }
  /// Steps ended by simulation instability since construction.
  std::int64_t unstable_steps() const override { return unstable_steps_; }
  const MujocoSim& sim() const { return sim_; }
  /// One env step's duration (s): frame_skip model steps.
  double dt() const { return sim_.timestep() * frame_skip_; }

  /// A side view that follows the torso (side_view.h).
  Frame render() const override { return render_side_view(sim_); }
  std::vector<double> get_state() const override;
  void set_state(std::span<const double> state, std::span<float> obs) override;

 protected:
  /// Options (Gymnasium's keyword arguments; a range (lo, hi) is two options _min and _max):
  /// forward_reward_weight (1), ctrl_cost_weight (1e-3), healthy_reward (1),
  /// terminate_when_unhealthy (true), healthy_z_min/max, healthy_angle_min/max and, where the
  /// model has one, healthy_state_min/max (the model's defaults), reset_noise_scale (5e-3),
  /// exclude_current_positions_from_observation (true), frame_skip (4, -v5), xml_file (built in,
  /// -v5). `version` is 4 or 5.
  PlanarWalker(EnvOptions& options, int version, const PlanarWalkerModel& model);

  void reset_impl(std::span<float> obs) final;
  StepResult step_impl(Action action, std::span<float> obs) final;

 private:
  PlanarWalker(EnvOptions& options, int version, const PlanarWalkerModel& model, MujocoSim sim);
  void write_obs(std::span<float> obs) const;

  MujocoSim sim_;
  int version_ = 5;
  int frame_skip_ = 4;
  bool exclude_x_ = true;
  double forward_reward_weight_ = 1.0, ctrl_cost_weight_ = 1e-3, healthy_reward_ = 1.0;
  bool terminate_when_unhealthy_ = true;
  std::optional<std::pair<double, double>> state_range_;
  double z_min_ = 0.0, z_max_ = 0.0;
  double angle_min_ = 0.0, angle_max_ = 0.0;
  double reset_noise_scale_ = 5e-3;
  LocomotionInfo info_;
  std::int64_t unstable_steps_ = 0;
};

}  // namespace trustrl::envs
