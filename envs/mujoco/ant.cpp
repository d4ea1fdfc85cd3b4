#include "envs/mujoco/ant.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <tuple>

#include "core/error.h"

namespace trustrl::envs {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The observed contact forces: -v5 leaves out the world's (always zero), -v4 keeps every body's
// but only with use_contact_forces.
int observed_forces(EnvOptions& options, int version, const MujocoSim& sim) {
  if (version >= 5)
    return options.flag("include_cfrc_ext_in_observation", true) ? 6 * (sim.nbody() - 1) : 0;
  return options.flag("use_contact_forces", false) ? 6 * sim.nbody() : 0;
}

EnvSpec ant_spec(EnvOptions& options, int version, const MujocoSim& sim) {
  const bool exclude_xy = options.flag("exclude_current_positions_from_observation", true);
  const auto obs_dim = static_cast<std::int64_t>(sim.nq() + sim.nv() - (exclude_xy ? 2 : 0) +
                                                 observed_forces(options, version, sim));
  const int frame_skip = read_frame_skip(options, version, 5);
  return EnvSpec{locomotion_id("Ant", version),
                 Space::box(-static_cast<float>(kInf), static_cast<float>(kInf), {obs_dim}),
                 locomotion_action_space(sim),
                 Ant::kMaxEpisodeSteps,
                 Ant::kRewardThreshold,
                 static_cast<int>(std::lround(1.0 / (sim.timestep() * frame_skip)))};
}

// Gymnasium's main_body is a body id or a body name (data.body(main_body)).
int find_body(const MujocoSim& sim, const std::string& id, const std::string& body) {
  int index = -1;
  const char* end = body.data() + body.size();
  const auto [ptr, ec] = std::from_chars(body.data(), end, index);
  if (ec != std::errc() || ptr != end) index = sim.body_id(body);
  if (index < 0 || index >= sim.nbody())
    throw Error(id + ": main_body '" + body +
                "' is neither a body name of the model nor an id in [0, " +
                std::to_string(sim.nbody()) + ")");
  return index;
}

}  // namespace

// Gymnasium's -v4 Ant, unlike the other -v4 ids, keeps the xml_file argument.
Ant::Ant(EnvOptions& options, int version)
    : Ant(options, version, load_locomotion_model(options, "ant.xml", 5)) {}

Ant::Ant(EnvOptions& options, int version, MujocoSim sim)
    : Env(ant_spec(options, version, sim)), sim_(std::move(sim)), version_(version) {
  if (sim_.nq() < 3 || sim_.nbody() < 2)
    throw Error(spec().id + ": the model needs a body with qpos [x, y, z, ...], it has " +
                std::to_string(sim_.nq()) + " position coordinates and " +
                std::to_string(sim_.nbody() - 1) + " bodies");
  // ant_spec() read these already; reading again returns the same values.
  exclude_xy_ = options.flag("exclude_current_positions_from_observation", true);
  frame_skip_ = read_frame_skip(options, version, 5);
  observe_forces_ = observed_forces(options, version, sim_) > 0;
  contact_cost_ = version >= 5 || observe_forces_;
  if (version >= 5) {
    forward_reward_weight_ = options.number("forward_reward_weight", 1.0);
    main_body_ = find_body(sim_, spec().id, options.text("main_body", "1"));
  }
  ctrl_cost_weight_ = options.number("ctrl_cost_weight", 0.5, Bounds::non_negative());
  contact_cost_weight_ = options.number("contact_cost_weight", 5e-4, Bounds::non_negative());
  healthy_reward_ = options.number("healthy_reward", 1.0);
  terminate_when_unhealthy_ = options.flag("terminate_when_unhealthy", true);
  z_min_ = options.number("healthy_z_min", 0.2);
  z_max_ = options.number("healthy_z_max", 1.0);
  force_min_ = options.number("contact_force_min", -1.0);
  force_max_ = options.number("contact_force_max", 1.0);
  reset_noise_scale_ = options.number("reset_noise_scale", 0.1, Bounds::non_negative());
  for (const auto& [lo, hi, name] : {std::tuple{z_min_, z_max_, "healthy_z"},
                                     std::tuple{force_min_, force_max_, "contact_force"}})
    if (!(lo < hi)) throw Error(spec().id + ": " + name + "_min must be below " + name + "_max");
  cfrc_ext_.assign(sim_.cfrc_ext().size(), 0.0);
}

bool Ant::is_healthy() const {
  const auto finite = [](double v) { return std::isfinite(v); };
  const auto qpos = sim_.qpos(), qvel = sim_.qvel();
  return std::all_of(qpos.begin(), qpos.end(), finite) &&
         std::all_of(qvel.begin(), qvel.end(), finite) && z_min_ <= qpos[2] && qpos[2] <= z_max_;
}

double Ant::clipped_force(double f) const { return std::clamp(f, force_min_, force_max_); }

void Ant::keep_derived() {
  const auto xpos = sim_.xpos();
  main_body_xy_ = {xpos[3 * main_body_], xpos[3 * main_body_ + 1]};
  std::copy(sim_.cfrc_ext().begin(), sim_.cfrc_ext().end(), cfrc_ext_.begin());
}

void Ant::write_obs(std::span<float> obs) const {
  std::size_t k = 0;
  const auto qpos = sim_.qpos();
  for (std::size_t i = exclude_xy_ ? 2 : 0; i < qpos.size(); ++i)
    obs[k++] = static_cast<float>(qpos[i]);
  for (double v : sim_.qvel()) obs[k++] = static_cast<float>(v);
  if (!observe_forces_) return;
  for (std::size_t i = version_ >= 5 ? 6 : 0; i < cfrc_ext_.size(); ++i)
    obs[k++] = static_cast<float>(clipped_force(cfrc_ext_[i]));
}

void Ant::reset_impl(std::span<float> obs) {
  reset_with_noise(sim_, rng(), reset_noise_scale_, VelocityNoise::kNormal);
  keep_derived();
  info_ = LocomotionInfo{sim_.qpos()[0]};
  info_.y_position = sim_.qpos()[1];
  write_obs(obs);
}

StepResult Ant::step_impl(Action action, std::span<float> obs) {
  const std::array<double, 2> before = main_body_xy_;
  if (!sim_.step(action.continuous, frame_skip_)) {
    ++unstable_steps_;
    sim_.reset();
    keep_derived();
    info_ = LocomotionInfo{sim_.qpos()[0]};
    info_.y_position = sim_.qpos()[1];
    write_obs(obs);
    return {0.0, true, false};
  }
  keep_derived();
  info_.x_position = sim_.qpos()[0];
  info_.y_position = sim_.qpos()[1];
  info_.x_velocity = (main_body_xy_[0] - before[0]) / dt();
  info_.y_velocity = (main_body_xy_[1] - before[1]) / dt();
  info_.reward_forward = forward_reward_weight_ * info_.x_velocity;
  const bool healthy = is_healthy();
  info_.reward_survive =
      survive_reward(healthy, version_, terminate_when_unhealthy_, healthy_reward_);
  info_.reward_ctrl = -control_cost(action.continuous, ctrl_cost_weight_);
  double contact = 0.0;
  if (contact_cost_)
    for (double f : cfrc_ext_) contact += clipped_force(f) * clipped_force(f);
  info_.reward_contact = -contact_cost_weight_ * contact;
  write_obs(obs);
  const double reward =
      info_.reward_forward + info_.reward_survive + info_.reward_ctrl + info_.reward_contact;
  return {reward, !healthy && terminate_when_unhealthy_, false};
}

std::vector<double> Ant::get_state() const {
  std::vector<double> state = sim_.state();
  state.insert(state.end(), main_body_xy_.begin(), main_body_xy_.end());
  state.insert(state.end(), cfrc_ext_.begin(), cfrc_ext_.end());
  return state;
}

void Ant::set_state(std::span<const double> state, std::span<float> obs) {
  const auto nq = static_cast<std::size_t>(sim_.nq()), nv = static_cast<std::size_t>(sim_.nv());
  const std::size_t full = nq + 2 * nv + 2 + cfrc_ext_.size();
  if (state.size() == nq + nv) {
    sim_.set_state(state);
    keep_derived();
    std::fill(cfrc_ext_.begin(), cfrc_ext_.end(), 0.0);
  } else if (state.size() == full) {
    for (double v : state)
      if (!std::isfinite(v)) throw Error(spec().id + ": state values must be finite");
    sim_.set_state(state.subspan(0, nq + 2 * nv));
    main_body_xy_ = {state[nq + 2 * nv], state[nq + 2 * nv + 1]};
    std::copy(state.begin() + static_cast<std::ptrdiff_t>(nq + 2 * nv + 2), state.end(),
              cfrc_ext_.begin());
  } else {
    throw Error(spec().id + ": a state is get_state()'s " + std::to_string(full) +
                " values [qpos, qvel, warm start, main body x y, cfrc_ext] or [qpos (" +
                std::to_string(nq) + "), qvel (" + std::to_string(nv) + ")], got " +
                std::to_string(state.size()));
  }
  write_obs(obs);
}

}  // namespace trustrl::envs
