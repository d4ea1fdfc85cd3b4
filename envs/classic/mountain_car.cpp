#include "envs/classic/mountain_car.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace trustrl::envs {

namespace {

Space car_observation_space() {
  return Space::box({static_cast<float>(MountainCar::kMinPosition), static_cast<float>(-MountainCar::kMaxSpeed)},
                    {static_cast<float>(MountainCar::kMaxPosition), static_cast<float>(MountainCar::kMaxSpeed)});
}

void check_state(std::span<const double> state, const char* id) {
  if (state.size() != 2) throw Error(std::string(id) + ": state needs 2 values [position, velocity]");
}

}  // namespace

// ---------------------------------------------------------------- MountainCar-v0

MountainCar::MountainCar(EnvOptions& options)
    : Env(EnvSpec{"MountainCar-v0", car_observation_space(), Space::discrete(3), 200, -110.0, 30}) {
  goal_velocity_ = options.number("goal_velocity", 0.0);
}

void MountainCar::write_obs(std::span<float> obs) const {
  obs[0] = static_cast<float>(position_);
  obs[1] = static_cast<float>(velocity_);
}

void MountainCar::reset_impl(std::span<float> obs) {
  position_ = rng().uniform(-0.6, -0.4);
  velocity_ = 0.0;
  write_obs(obs);
}

StepResult MountainCar::step_impl(Action action, std::span<float> obs) {
  velocity_ += static_cast<double>(action.discrete[0] - 1) * kForce + std::cos(3 * position_) * (-kGravity);
  velocity_ = std::clamp(velocity_, -kMaxSpeed, kMaxSpeed);
  position_ += velocity_;
  position_ = std::clamp(position_, kMinPosition, kMaxPosition);
  if (position_ == kMinPosition && velocity_ < 0) velocity_ = 0;
  write_obs(obs);
  const bool terminated = position_ >= kGoalPosition && velocity_ >= goal_velocity_;
  return {-1.0, terminated, false};
}

std::vector<double> MountainCar::get_state() const { return {position_, velocity_}; }

void MountainCar::set_state(std::span<const double> state, std::span<float> obs) {
  check_state(state, "MountainCar-v0");
  position_ = state[0];
  velocity_ = state[1];
  write_obs(obs);
}

// ---------------------------------------------------------------- MountainCarContinuous-v0

MountainCarContinuous::MountainCarContinuous(EnvOptions& options)
    : Env(EnvSpec{"MountainCarContinuous-v0", car_observation_space(),
                  Space::box(static_cast<float>(kMinAction), static_cast<float>(kMaxAction), {1}), 999,
                  90.0, 30}) {
  goal_velocity_ = options.number("goal_velocity", 0.0);
}

void MountainCarContinuous::write_obs(std::span<float> obs) const {
  obs[0] = static_cast<float>(position_);
  obs[1] = static_cast<float>(velocity_);
}

void MountainCarContinuous::reset_impl(std::span<float> obs) {
  position_ = rng().uniform(-0.6, -0.4);
  velocity_ = 0.0;
  write_obs(obs);
}

StepResult MountainCarContinuous::step_impl(Action action, std::span<float> obs) {
  const double a = action.continuous[0];
  const double force = std::min(std::max(a, kMinAction), kMaxAction);
  double velocity = velocity_ + force * kPower - 0.0025 * std::cos(3 * position_);
  velocity = std::clamp(velocity, -kMaxSpeed, kMaxSpeed);
  double position = std::clamp(position_ + velocity, kMinPosition, kMaxPosition);
  if (position == kMinPosition && velocity < 0) velocity = 0;
  const bool terminated = position >= kGoalPosition && velocity >= goal_velocity_;
  // Gymnasium keeps this env's state in float32 after every step.
  position_ = static_cast<float>(position);
  velocity_ = static_cast<float>(velocity);
  write_obs(obs);
  double reward = terminated ? 100.0 : 0.0;
  reward -= a * a * 0.1;  // the unclipped action, as in Gymnasium
  return {reward, terminated, false};
}

std::vector<double> MountainCarContinuous::get_state() const { return {position_, velocity_}; }

void MountainCarContinuous::set_state(std::span<const double> state, std::span<float> obs) {
  check_state(state, "MountainCarContinuous-v0");
  position_ = state[0];
  velocity_ = state[1];
  write_obs(obs);
}

}  // namespace trustrl::envs
