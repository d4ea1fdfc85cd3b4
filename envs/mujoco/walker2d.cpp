#include "envs/mujoco/walker2d.h"

#include <cmath>
#include <limits>
#include <tuple>

#include "core/error.h"

namespace trustrl::envs {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// walker2d_v5.py clips the observed velocities (not the simulated ones) to +-10.
constexpr double kVelocityClip = 10.0;

// Gymnasium's -v5 loads walker2d_v5.xml (both feet at friction 1.9), -v4 walker2d.xml.
std::string walker2d_model(int version) {
  return version >= 5 ? "walker2d_v5.xml" : "walker2d_v4.xml";
}

EnvSpec walker2d_spec(EnvOptions& options, int version, const MujocoSim& sim) {
  const bool exclude_x = options.flag("exclude_current_positions_from_observation", true);
  const auto obs_dim = static_cast<std::int64_t>(sim.nq() + sim.nv() - (exclude_x ? 1 : 0));
  const int frame_skip = read_frame_skip(options, version, 4);
  return EnvSpec{locomotion_id("Walker2d", version),
                 Space::box(-static_cast<float>(kInf), static_cast<float>(kInf), {obs_dim}),
                 locomotion_action_space(sim),
                 Walker2d::kMaxEpisodeSteps,
                 std::nullopt,  // Gymnasium registers Walker2d without a reward threshold
                 static_cast<int>(std::lround(1.0 / (sim.timestep() * frame_skip)))};
}

}  // namespace

Walker2d::Walker2d(EnvOptions& options, int version)
    : Walker2d(options, version, load_locomotion_model(options, walker2d_model(version), version)) {
}

Walker2d::Walker2d(EnvOptions& options, int version, MujocoSim sim)
    : Env(walker2d_spec(options, version, sim)), sim_(std::move(sim)), version_(version) {
  if (sim_.nq() < 3)
    throw Error(spec().id + ": the model needs qpos [x, z, angle, ...], it has " +
                std::to_string(sim_.nq()) + " position coordinates");
  // walker2d_spec() read these two already; reading again returns the same values.
  exclude_x_ = options.flag("exclude_current_positions_from_observation", true);
  frame_skip_ = read_frame_skip(options, version, 4);
  forward_reward_weight_ = options.number("forward_reward_weight", 1.0);
  ctrl_cost_weight_ = options.number("ctrl_cost_weight", 1e-3, Bounds::non_negative());
  healthy_reward_ = options.number("healthy_reward", 1.0);
  terminate_when_unhealthy_ = options.flag("terminate_when_unhealthy", true);
  z_min_ = options.number("healthy_z_min", 0.8);
  z_max_ = options.number("healthy_z_max", 2.0);
  angle_min_ = options.number("healthy_angle_min", -1.0);
  angle_max_ = options.number("healthy_angle_max", 1.0);
  reset_noise_scale_ = options.number("reset_noise_scale", 5e-3, Bounds::non_negative());
  for (const auto& [lo, hi, name] : {std::tuple{z_min_, z_max_, "healthy_z"},
                                     std::tuple{angle_min_, angle_max_, "healthy_angle"}})
    if (!(lo < hi)) throw Error(spec().id + ": " + name + "_min must be below " + name + "_max");
}

bool Walker2d::is_healthy() const {
  const double z = sim_.qpos()[1], angle = sim_.qpos()[2];
  return z_min_ < z && z < z_max_ && angle_min_ < angle && angle < angle_max_;
}

void Walker2d::write_obs(std::span<float> obs) const {
  write_locomotion_obs(sim_, exclude_x_, kVelocityClip, obs);
}

void Walker2d::reset_impl(std::span<float> obs) {
  sim_.reset();
  std::vector<double> qpos(sim_.init_qpos().begin(), sim_.init_qpos().end());
  std::vector<double> qvel(static_cast<std::size_t>(sim_.nv()), 0.0);
  for (double& q : qpos) q += rng().uniform(-reset_noise_scale_, reset_noise_scale_);
  for (double& v : qvel) v += rng().uniform(-reset_noise_scale_, reset_noise_scale_);
  sim_.set_qpos_qvel(qpos, qvel);
  info_ = LocomotionInfo{sim_.qpos()[0]};
  write_obs(obs);
}

StepResult Walker2d::step_impl(Action action, std::span<float> obs) {
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
  const bool healthy = is_healthy();
  // -v4 pays it on the terminating step too (Gymnasium issue 526, fixed in -v5).
  const bool paid = healthy || (version_ < 5 && terminate_when_unhealthy_);
  info_.reward_survive = paid ? healthy_reward_ : 0.0;
  info_.reward_ctrl = -control_cost(action.continuous, ctrl_cost_weight_);
  write_obs(obs);
  const double reward = info_.reward_forward + info_.reward_survive + info_.reward_ctrl;
  return {reward, !healthy && terminate_when_unhealthy_, false};
}

std::vector<double> Walker2d::get_state() const { return sim_.state(); }

void Walker2d::set_state(std::span<const double> state, std::span<float> obs) {
  sim_.set_state(state);
  write_obs(obs);
}

}  // namespace trustrl::envs
