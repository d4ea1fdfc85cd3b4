#include "envs/mujoco/half_cheetah.h"

#include <cmath>
#include <limits>

#include "core/error.h"

namespace trustrl::envs {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

EnvSpec half_cheetah_spec(EnvOptions& options, int version, const MujocoSim& sim) {
  const bool exclude_x = options.flag("exclude_current_positions_from_observation", true);
  const auto obs_dim = static_cast<std::int64_t>(sim.nq() + sim.nv() - (exclude_x ? 1 : 0));
  const int frame_skip = read_frame_skip(options, version, 5);
  return EnvSpec{locomotion_id("HalfCheetah", version),
                 Space::box(-static_cast<float>(kInf), static_cast<float>(kInf), {obs_dim}),
                 locomotion_action_space(sim),
                 HalfCheetah::kMaxEpisodeSteps,
                 HalfCheetah::kRewardThreshold,
                 static_cast<int>(std::lround(1.0 / (sim.timestep() * frame_skip)))};
}

}  // namespace

HalfCheetah::HalfCheetah(EnvOptions& options, int version)
    : HalfCheetah(options, version, load_locomotion_model(options, "half_cheetah.xml", version)) {}

HalfCheetah::HalfCheetah(EnvOptions& options, int version, MujocoSim sim)
    : Env(half_cheetah_spec(options, version, sim)), sim_(std::move(sim)) {
  if (sim_.nq() < 1)
    throw Error(spec().id + ": the model needs qpos [x, ...], it has no position coordinates");
  // half_cheetah_spec() read these two already; reading again returns the same values.
  exclude_x_ = options.flag("exclude_current_positions_from_observation", true);
  frame_skip_ = read_frame_skip(options, version, 5);
  forward_reward_weight_ = options.number("forward_reward_weight", 1.0);
  ctrl_cost_weight_ = options.number("ctrl_cost_weight", 0.1, Bounds::non_negative());
  reset_noise_scale_ = options.number("reset_noise_scale", 0.1, Bounds::non_negative());
}

void HalfCheetah::write_obs(std::span<float> obs) const {
  write_locomotion_obs(sim_, exclude_x_, kInf, obs);
}

void HalfCheetah::reset_impl(std::span<float> obs) {
  reset_with_noise(sim_, rng(), reset_noise_scale_, VelocityNoise::kNormal);
  info_ = LocomotionInfo{sim_.qpos()[0]};
  write_obs(obs);
}

StepResult HalfCheetah::step_impl(Action action, std::span<float> obs) {
  const double x_before = sim_.qpos()[0];
  if (!sim_.step(action.continuous, frame_skip_)) {
    ++unstable_steps_;
    sim_.reset();
    info_ = LocomotionInfo{sim_.qpos()[0]};
    write_obs(obs);
    return {0.0, true, false};
  }
  const double x_after = sim_.qpos()[0];
  info_.x_position = x_after;
  info_.x_velocity = (x_after - x_before) / dt();
  info_.reward_forward = forward_reward_weight_ * info_.x_velocity;
  info_.reward_survive = 0.0;
  info_.reward_ctrl = -control_cost(action.continuous, ctrl_cost_weight_);
  write_obs(obs);
  return {info_.reward_forward + info_.reward_ctrl, false, false};
}

std::vector<double> HalfCheetah::get_state() const { return sim_.state(); }

void HalfCheetah::set_state(std::span<const double> state, std::span<float> obs) {
  sim_.set_state(state);
  write_obs(obs);
}

}  // namespace trustrl::envs
