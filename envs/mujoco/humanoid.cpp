#include "envs/mujoco/humanoid.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "core/error.h"

namespace trustrl::envs {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr const char* kParts[4] = {"cinert", "cvel", "qfrc_actuator", "cfrc_ext"};

// Values per body of cinert, cvel and cfrc_ext; qfrc_actuator has one per degree of freedom.
constexpr int kPerBody[4] = {10, 6, 0, 6};

// Which observation parts an id shows: -v5 lets each be left out, -v4 always shows all four.
std::array<bool, 4> observed_parts(EnvOptions& options, int version) {
  std::array<bool, 4> out{true, true, true, true};
  if (version >= 5)
    for (int i = 0; i < 4; ++i)
      out[i] = options.flag(std::string("include_") + kParts[i] + "_in_observation", true);
  return out;
}

// Values a part adds to the observation: -v5 leaves out the world body and the free joint's six
// degrees of freedom (always zero, Gymnasium issue 204), -v4 keeps them.
std::size_t part_size(const MujocoSim& sim, int part, int version) {
  const bool all = version < 5;
  if (part == 2) return static_cast<std::size_t>(sim.nv() - (all ? 0 : 6));
  return static_cast<std::size_t>(kPerBody[part] * (sim.nbody() - (all ? 0 : 1)));
}

EnvSpec humanoid_spec(EnvOptions& options, int version, const MujocoSim& sim) {
  const bool exclude_xy = options.flag("exclude_current_positions_from_observation", true);
  std::size_t obs_dim = static_cast<std::size_t>(sim.nq() + sim.nv() - (exclude_xy ? 2 : 0));
  const auto observed = observed_parts(options, version);
  for (int i = 0; i < 4; ++i)
    if (observed[i]) obs_dim += part_size(sim, i, version);
  const int frame_skip = read_frame_skip(options, version, 5);
  return EnvSpec{locomotion_id("Humanoid", version),
                 Space::box(-static_cast<float>(kInf), static_cast<float>(kInf),
                            {static_cast<std::int64_t>(obs_dim)}),
                 locomotion_action_space(sim),
                 Humanoid::kMaxEpisodeSteps,
                 std::nullopt,  // Gymnasium registers Humanoid without a reward threshold
                 static_cast<int>(std::lround(1.0 / (sim.timestep() * frame_skip)))};
}

// Gymnasium's mass_center: the body masses' weighted mean of the bodies' centres (xipos).
std::array<double, 2> mass_center(const MujocoSim& sim) {
  double total = 0.0, x = 0.0, y = 0.0;
  const auto mass = sim.body_mass();
  const auto xipos = sim.xipos();
  for (std::size_t b = 0; b < mass.size(); ++b) {
    total += mass[b];
    x += mass[b] * xipos[3 * b];
    y += mass[b] * xipos[3 * b + 1];
  }
  return {x / total, y / total};
}

}  // namespace

Humanoid::Humanoid(EnvOptions& options, int version)
    : Humanoid(options, version, load_locomotion_model(options, "humanoid.xml", version)) {}

Humanoid::Humanoid(EnvOptions& options, int version, MujocoSim sim)
    : Env(humanoid_spec(options, version, sim)), sim_(std::move(sim)), version_(version) {
  if (sim_.nq() < 7 || sim_.nv() < 6)
    throw Error(spec().id + ": the model needs a free joint first (qpos [x, y, z, quaternion, " +
                "...]), it has " + std::to_string(sim_.nq()) + " position coordinates");
  // humanoid_spec() read these already; reading again returns the same values.
  exclude_xy_ = options.flag("exclude_current_positions_from_observation", true);
  frame_skip_ = read_frame_skip(options, version, 5);
  observe_ = observed_parts(options, version);
  forward_reward_weight_ = options.number("forward_reward_weight", 1.25);
  ctrl_cost_weight_ = options.number("ctrl_cost_weight", 0.1, Bounds::non_negative());
  if (version >= 5) {
    contact_cost_weight_ = options.number("contact_cost_weight", 5e-7, Bounds::non_negative());
    contact_cost_min_ = options.number("contact_cost_min", -kInf);
    contact_cost_max_ = options.number("contact_cost_max", 10.0);
  } else {
    contact_cost_weight_ = 0.0;  // -v4 dropped the contact cost (Gymnasium issue 504)
  }
  healthy_reward_ = options.number("healthy_reward", 5.0);
  terminate_when_unhealthy_ = options.flag("terminate_when_unhealthy", true);
  z_min_ = options.number("healthy_z_min", 1.0);
  z_max_ = options.number("healthy_z_max", 2.0);
  reset_noise_scale_ = options.number("reset_noise_scale", 1e-2, Bounds::non_negative());
  for (const auto& [lo, hi, name] :
       {std::tuple{z_min_, z_max_, "healthy_z"},
        std::tuple{contact_cost_min_, contact_cost_max_, "contact_cost"}})
    if (!(lo < hi)) throw Error(spec().id + ": " + name + "_min must be below " + name + "_max");
  derived_.assign(2 + sim_.cinert().size() + sim_.cvel().size() + sim_.qfrc_actuator().size() +
                      sim_.cfrc_ext().size(),
                  0.0);
}

bool Humanoid::is_healthy() const {
  const double z = sim_.qpos()[2];
  return z_min_ < z && z < z_max_;
}

void Humanoid::keep_derived() {
  const auto xy = mass_center(sim_);
  auto out = std::copy(xy.begin(), xy.end(), derived_.begin());
  for (const auto part : {sim_.cinert(), sim_.cvel(), sim_.qfrc_actuator(), sim_.cfrc_ext()})
    out = std::copy(part.begin(), part.end(), out);
}

void Humanoid::write_obs(std::span<float> obs) const {
  std::size_t k = 0;
  const auto qpos = sim_.qpos();
  for (std::size_t i = exclude_xy_ ? 2 : 0; i < qpos.size(); ++i)
    obs[k++] = static_cast<float>(qpos[i]);
  for (double v : sim_.qvel()) obs[k++] = static_cast<float>(v);
  std::size_t start = 2;  // of the part in derived_, which holds every body's values (-v4's)
  for (int part = 0; part < 4; ++part) {
    const std::size_t all = part_size(sim_, part, 4), shown = part_size(sim_, part, version_);
    // -v5 shows the tail: the world body and the free joint come first.
    if (observe_[static_cast<std::size_t>(part)])
      for (std::size_t i = all - shown; i < all; ++i)
        obs[k++] = static_cast<float>(derived_[start + i]);
    start += all;
  }
}

void Humanoid::reset_impl(std::span<float> obs) {
  reset_with_noise(sim_, rng(), reset_noise_scale_, VelocityNoise::kUniform);
  keep_derived();
  info_ = LocomotionInfo{sim_.qpos()[0]};
  info_.y_position = sim_.qpos()[1];
  write_obs(obs);
}

StepResult Humanoid::step_impl(Action action, std::span<float> obs) {
  const double x_before = derived_[0], y_before = derived_[1];
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
  info_.x_velocity = (derived_[0] - x_before) / dt();
  info_.y_velocity = (derived_[1] - y_before) / dt();
  info_.reward_forward = forward_reward_weight_ * info_.x_velocity;
  const bool healthy = is_healthy();
  info_.reward_survive =
      survive_reward(healthy, version_, terminate_when_unhealthy_, healthy_reward_);
  info_.reward_ctrl = -control_cost(action.continuous, ctrl_cost_weight_);
  double contact = 0.0;
  if (version_ >= 5) {
    for (double f : sim_.cfrc_ext()) contact += f * f;
    contact = std::clamp(contact_cost_weight_ * contact, contact_cost_min_, contact_cost_max_);
  }
  info_.reward_contact = -contact;
  write_obs(obs);
  const double reward =
      info_.reward_forward + info_.reward_survive + info_.reward_ctrl + info_.reward_contact;
  return {reward, !healthy && terminate_when_unhealthy_, false};
}

std::vector<double> Humanoid::get_state() const {
  std::vector<double> state = sim_.state();
  state.insert(state.end(), derived_.begin(), derived_.end());
  return state;
}

void Humanoid::set_state(std::span<const double> state, std::span<float> obs) {
  const auto nq = static_cast<std::size_t>(sim_.nq()), nv = static_cast<std::size_t>(sim_.nv());
  const std::size_t full = nq + 2 * nv + derived_.size();
  if (state.size() == nq + nv) {
    sim_.set_state(state);
    keep_derived();
    // As after reset: no control has acted and no contact has pushed yet.
    const std::size_t nbody = static_cast<std::size_t>(sim_.nbody());
    const auto forces = derived_.begin() + static_cast<std::ptrdiff_t>(2 + 16 * nbody);
    std::fill(forces, derived_.end(), 0.0);
  } else if (state.size() == full) {
    for (double v : state)
      if (!std::isfinite(v)) throw Error(spec().id + ": state values must be finite");
    sim_.set_state(state.subspan(0, nq + 2 * nv));
    std::copy(state.begin() + static_cast<std::ptrdiff_t>(nq + 2 * nv), state.end(),
              derived_.begin());
  } else {
    throw Error(spec().id + ": a state is get_state()'s " + std::to_string(full) +
                " values [qpos, qvel, warm start, centre of mass x y, cinert, cvel, "
                "qfrc_actuator, cfrc_ext] or [qpos (" +
                std::to_string(nq) + "), qvel (" + std::to_string(nv) + ")], got " +
                std::to_string(state.size()));
  }
  write_obs(obs);
}

}  // namespace trustrl::envs
