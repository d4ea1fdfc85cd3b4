#pragma once
// Humanoid-v5 and Humanoid-v4: Gymnasium 1.x mujoco/humanoid_v5.py and humanoid_v4.py, on MuJoCo
// 2.2.2 (docs/MUJOCO.md). A 3D biped with a free torso, 17 hinges and two hip-knee tendons.
//
// Observation (348 float32 for -v5): qpos[2:] (22), qvel (23), then what MuJoCo computed for
// the bodies but the world: cinert (13 x 10), cvel (13 x 6), qfrc_actuator without the free
// joint's 6 (17), cfrc_ext (13 x 6); each of the last four can be left out
// (include_*_in_observation), and x and y come first when
// exclude_current_positions_from_observation is false. Action: Box(-0.4, 0.4, (17,)), gears 25
// to 300. Reward: forward_reward_weight * dx/dt of the centre of mass (body masses times xipos)
// + healthy_reward while healthy - ctrl_cost_weight * |a|^2 - the contact cost
// contact_cost_weight * |cfrc_ext|^2 clipped to [contact_cost_min, contact_cost_max]; dt = 5
// frames * 3 ms. Healthy: z inside (healthy_z_min, healthy_z_max), open. Unhealthy terminates
// (terminate_when_unhealthy). Reset: qpos0 and zero velocity plus uniform noise in
// +-reset_noise_scale on every component (the quaternion too, unnormalized until the first step).
//
// -v4: obs 376 (all four parts for every body and joint, the world and the free joint included),
// no contact cost, the healthy reward paid on the terminating step too, no frame_skip, xml_file,
// contact cost or include_* option.
//
// The centre of mass that the next step's forward term starts from and the observed quantities
// are what MuJoCo computed before the last frame's integration, not functions of qpos and qvel,
// so they are part of the state: get_state() is [qpos (24), qvel (23), solver warm start (23),
// centre of mass x and y (2), cinert (14 x 10), cvel (14 x 6), qfrc_actuator (23), cfrc_ext
// (14 x 6)]. set_state() also takes [qpos, qvel]; then they are recomputed at that state with
// no control and no contact forces, as after reset.
// A step in which MuJoCo raises a simulation warning terminates with reward 0 from MuJoCo's reset
// state and counts in unstable_steps().

#include <array>
#include <cstdint>
#include <vector>

#include "envs/env.h"
#include "envs/mujoco/locomotion.h"
#include "envs/options.h"

namespace trustrl::envs {

class Humanoid final : public Env {
 public:
  /// Options (Gymnasium's keyword arguments; a range (lo, hi) is two options _min and _max):
  /// forward_reward_weight (1.25), ctrl_cost_weight (0.1), contact_cost_weight (5e-7, -v5),
  /// contact_cost_min/max (-inf, 10, -v5), healthy_reward (5), terminate_when_unhealthy (true),
  /// healthy_z_min/max (1, 2), reset_noise_scale (1e-2),
  /// exclude_current_positions_from_observation (true), include_cinert_in_observation,
  /// include_cvel_in_observation, include_qfrc_actuator_in_observation,
  /// include_cfrc_ext_in_observation (true, -v5), frame_skip (5, -v5), xml_file (built in, -v5).
  /// `version` is 4 or 5.
  explicit Humanoid(EnvOptions& options, int version = 5);

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
  Humanoid(EnvOptions& options, int version, MujocoSim sim);
  /// Copies what the next step and the observation read from MuJoCo's derived data.
  void keep_derived();
  void write_obs(std::span<float> obs) const;

  MujocoSim sim_;
  int version_ = 5;
  int frame_skip_ = 5;
  bool exclude_xy_ = true;
  // cinert, cvel, qfrc_actuator, cfrc_ext.
  std::array<bool, 4> observe_{true, true, true, true};
  double forward_reward_weight_ = 1.25, ctrl_cost_weight_ = 0.1, contact_cost_weight_ = 5e-7;
  double contact_cost_min_ = 0.0, contact_cost_max_ = 10.0;
  double healthy_reward_ = 5.0;
  bool terminate_when_unhealthy_ = true;
  double z_min_ = 1.0, z_max_ = 2.0;
  double reset_noise_scale_ = 1e-2;
  // [centre of mass x, y, cinert, cvel, qfrc_actuator, cfrc_ext] as MuJoCo last computed them.
  std::vector<double> derived_;
  LocomotionInfo info_;
  std::int64_t unstable_steps_ = 0;
};

}  // namespace trustrl::envs
