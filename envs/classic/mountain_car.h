#pragma once
// MountainCar-v0 and MountainCarContinuous-v0: Gymnasium 1.x classic_control/mountain_car.py and
// continuous_mountain_car.py (Moore 1990). State: [position, velocity]; observation: the same.

#include "envs/env.h"
#include "envs/options.h"

namespace trustrl::envs {

class MountainCar final : public Env {
 public:
  /// Options: goal_velocity (default 0).
  explicit MountainCar(EnvOptions& options);

  std::vector<double> get_state() const override;
  void set_state(std::span<const double> state, std::span<float> obs) override;
  /// 600x400, drawn as Gymnasium draws it.
  Frame render() const override;

  static constexpr double kMinPosition = -1.2;
  static constexpr double kMaxPosition = 0.6;
  static constexpr double kMaxSpeed = 0.07;
  static constexpr double kGoalPosition = 0.5;
  static constexpr double kForce = 0.001;
  static constexpr double kGravity = 0.0025;

 protected:
  void reset_impl(std::span<float> obs) override;
  StepResult step_impl(Action action, std::span<float> obs) override;

 private:
  void write_obs(std::span<float> obs) const;
  double position_ = 0, velocity_ = 0, goal_velocity_ = 0;
};

class MountainCarContinuous final : public Env {
 public:
  /// Options: goal_velocity (default 0).
  explicit MountainCarContinuous(EnvOptions& options);

  std::vector<double> get_state() const override;
  void set_state(std::span<const double> state, std::span<float> obs) override;
  /// 600x400, drawn as Gymnasium draws it.
  Frame render() const override;

  static constexpr double kMinAction = -1.0;
  static constexpr double kMaxAction = 1.0;
  static constexpr double kMinPosition = -1.2;
  static constexpr double kMaxPosition = 0.6;
  static constexpr double kMaxSpeed = 0.07;
  static constexpr double kGoalPosition = 0.45;  // 0.45 as in Gymnasium (0.5 in MountainCar-v0)
  static constexpr double kPower = 0.0015;

 protected:
  void reset_impl(std::span<float> obs) override;
  StepResult step_impl(Action action, std::span<float> obs) override;

 private:
  void write_obs(std::span<float> obs) const;
  double position_ = 0, velocity_ = 0, goal_velocity_ = 0;
};

}  // namespace trustrl::envs
