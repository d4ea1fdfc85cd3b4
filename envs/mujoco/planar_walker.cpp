#include "envs/mujoco/planar_walker.h"

#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "core/error.h"

namespace trustrl::envs {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// hopper_v5.py and walker2d_v5.py clip the observed velocities (not the simulated ones) to +-10.
constexpr double kVelocityClip = 10.0;

const std::string& model_file(const PlanarWalkerModel& model, int version) {
  return version >= 5 ? model.model_v5 : model.model_v4;
}

EnvSpec planar_walker_spec(EnvOptions& options, int version, const PlanarWalkerModel& model,
                           const MujocoSim& sim) {
  const bool exclude_x = options.flag("exclude_current_positions_from_observation", true);
  const auto obs_dim = static_cast<std::int64_t>(sim.nq() + sim.nv() - (exclude_x ? 1 : 0));
  const int frame_skip = read_frame_skip(options, version, 4);
  return EnvSpec{locomotion_id(model.name, version),
                 Space::box(-static_cast<float>(kInf), static_cast<float>(kInf), {obs_dim}),
                 locomotion_action_space(sim),
                 PlanarWalker::kMaxEpisodeSteps,
                 model.reward_threshold,
                 static_cast<int>(std::lround(1.0 / (sim.timestep() * frame_skip)))};
}

}  // namespace

PlanarWalker::PlanarWalker(EnvOptions& options, int version, const PlanarWalkerModel& model)
    : PlanarWalker(options, version, model,
                   load_locomotion_model(options, model_file(model, version), version)) {}

PlanarWalker::PlanarWalker(EnvOptions& options, int version, const PlanarWalkerModel& model,
                           MujocoSim sim)
    : Env(planar_walker_spec(options, version, model, sim)),
      sim_(std::move(sim)),
      version_(version) {
  if (sim_.nq() < 3)
    throw Error(spec().id + ": the model needs qpos [x, z, angle, ...], it has " +
                std::to_string(sim_.nq()) + " position coordinates");
  // planar_walker_spec() read these two already; reading again returns the same values.
  exclude_x_ = options.flag("exclude_current_positions_from_observation", true);
  frame_skip_ = read_frame_skip(options, version, 4);
  forward_reward_weight_ = options.number("forward_reward_weight", 1.0);
  ctrl_cost_weight_ = options.number("ctrl_cost_weight", 1e-3, Bounds::non_negative());
  healthy_reward_ = options.number("healthy_reward", 1.0);
  terminate_when_unhealthy_ = options.flag("terminate_when_unhealthy", true);
  if (model.state_range)
    state_range_ = {options.number("healthy_state_min", model.state_range->first),
                    options.number("healthy_state_max", model.state_range->second)};
  z_min_ = options.number("healthy_z_min", model.z_min);
  z_max_ = options.number("healthy_z_max", model.z_max);
  angle_min_ = options.number("healthy_angle_min", model.angle_min);
  angle_max_ = options.number("healthy_angle_max", model.angle_max);
  reset_noise_scale_ = options.number("reset_noise_scale", 5e-3, Bounds::non_negative());
  std::vector<std::tuple<double, double, const char*>> ranges = {
      {z_min_, z_max_, "healthy_z"}, {angle_min_, angle_max_, "healthy_angle"}};
  if (state_range_)
    ranges.insert(ranges.begin(), {state_range_->first, state_range_->second, "healthy_state"});
  for (const auto& [lo, hi, name] : ranges)
    if (!(lo < hi)) throw Error(spec().id + ": " + name + "_min must be below " + name + "_max");
}

bool PlanarWalker::is_healthy() const {
  const auto qpos = sim_.qpos();
  if (state_range_) {
    const auto [lo, hi] = *state_range_;
    const auto inside = [lo, hi](double v) { return lo < v && v < hi; };
    for (std::size_t i = 2; i < qpos.size(); ++i)
      if (!inside(qpos[i])) return false;
    for (double v : sim_.qvel())
      if (!inside(v)) return false;
  }
  const double z = qpos[1], angle = qpos[2];
  return z_min_ < z && z < z_max_ && angle_min_ < angle && angle < angle_max_;
}

void PlanarWalker::write_obs(std::span<float> obs) const {
  write_locomotion_obs(sim_, exclude_x_, kVelocityClip, obs);
}

void PlanarWalker::reset_impl(std::span<float> obs) {
  reset_with_noise(sim_, rng(), reset_noise_scale_, VelocityNoise::kUniform);
  info_ = LocomotionInfo{sim_.qpos()[0]};
  write_obs(obs);
}

StepResult PlanarWalker::step_impl(Action action, std::span<float> obs) {
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
  info_.reward_survive =
      survive_reward(healthy, version_, terminate_when_unhealthy_, healthy_reward_);
  info_.reward_ctrl = -control_cost(action.continuous, ctrl_cost_weight_);
  write_obs(obs);
  const double reward = info_.reward_forward + info_.reward_survive + info_.reward_ctrl;
  return {reward, !healthy && terminate_when_unhealthy_, false};
}

std::vector<double> PlanarWalker::get_state() const { return sim_.state(); }

void PlanarWalker::set_state(std::span<const double> state, std::span<float> obs) {
  sim_.set_state(state);
  write_obs(obs);
}

}  // namespace trustrl::envs
