#pragma once
// Pendulum-v1: Gymnasium 1.x classic_control/pendulum.py.
// State: [theta, theta_dot, last_u] (last_u is NaN before the first step; it is only drawn);
// observation: [cos theta, sin theta, theta_dot].

#include "envs/env.h"
#include "envs/options.h"

namespace trustrl::envs {

class Pendulum final : public Env {
 public:
  /// Options: g (gravity, default 10).
  explicit Pendulum(EnvOptions& options);

  std::vector<double> get_state() const override;
  void set_state(std::span<const double> state, std::span<float> obs) override;
  /// 500x500, drawn as Gymnasium draws it.
  Frame render() const override;

  static constexpr double kMaxSpeed = 8.0;
  static constexpr double kMaxTorque = 2.0;
  static constexpr double kDt = 0.05;
  static constexpr double kMass = 1.0;
  static constexpr double kLength = 1.0;

 protected:
  void reset_impl(std::span<float> obs) override;
  StepResult step_impl(Action action, std::span<float> obs) override;

 private:
  void write_obs(std::span<float> obs) const;
  double theta_ = 0, theta_dot_ = 0, last_u_ = 0, gravity_ = 10.0;
};

}  // namespace trustrl::envs
