#pragma once
// HalfCheetah-v5 and HalfCheetah-v4: Gymnasium 1.x mujoco/half_cheetah_v5.py and
// half_cheetah_v4.py, on MuJoCo 2.2.2 (docs/MUJOCO.md). -v4 has the same dynamics and reward and
// no frame_skip or xml_file option.
//
// Observation (17 float32): qpos[1:] = [z, torso angle, bthigh, bshin, bfoot, fthigh, fshin,
// ffoot] then qvel (9: x, z, angle and the six joints), unclipped; 18 with x first when
// exclude_current_positions_from_observation is false. Action: Box(-1, 1, (6,)), torques of the
// six joints (gears 120, 90, 60, 120, 60, 30). Reward: forward_reward_weight * dx/dt -
// ctrl_cost_weight * |a|^2, dt = 5 frames * 10 ms. Never terminates; truncated at 1000 steps.
// Reset: qpos0 plus uniform noise in +-reset_noise_scale, zero velocity plus reset_noise_scale
// times standard normal noise. A step in which MuJoCo raises a simulation warning terminates with
// reward 0 from MuJoCo's reset state and counts in unstable_steps().
//
// get_state()/set_state(): MujocoSim::state(), [qpos (9), qvel (9), solver warm start (9)];
// set_state() also takes [qpos, qvel].

#include <cstdint>

#include "envs/env.h"
#include "envs/mujoco/locomotion.h"
#include "envs/mujoco/side_view.h"
#include "envs/options.h"

namespace trustrl::envs {

class HalfCheetah final : public Env {
 public:
  /// Options (Gymnasium's keyword arguments): forward_reward_weight (1), ctrl_cost_weight (0.1),
  /// reset_noise_scale (0.1), exclude_current_positions_from_observation (true), frame_skip (5),
  /// xml_file (built in); frame_skip and xml_file for -v5 only. `version` is 4 or 5.
  explicit HalfCheetah(EnvOptions& options, int version = 5);

  static constexpr int kMaxEpisodeSteps = 1000;
  static constexpr double kRewardThreshold = 4800.0;

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
  void reset_impl(std::span<float> obs) override;
  StepResult step_impl(Action action, std::span<float> obs) override;

 private:
  HalfCheetah(EnvOptions& options, int version, MujocoSim sim);
  void write_obs(std::span<float> obs) const;

  MujocoSim sim_;
  int frame_skip_ = 5;
  bool exclude_x_ = true;
  double forward_reward_weight_ = 1.0, ctrl_cost_weight_ = 0.1, reset_noise_scale_ = 0.1;
  LocomotionInfo info_;
  std::int64_t unstable_steps_ = 0;
};

}  // namespace trustrl::envs
