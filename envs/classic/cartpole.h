#pragma once
// CartPole-v1: Gymnasium 1.x classic_control/cartpole.py (Barto, Sutton & Anderson 1983).
// State: [x, x_dot, theta, theta_dot] in double; observation: the same as float32.

#include "envs/env.h"
#include "envs/options.h"

namespace trustrl::envs {

class CartPole final : public Env {
 public:
  /// Options: sutton_barto_reward (0 per step and -1 on termination, instead of +1 per step).
  explicit CartPole(EnvOptions& options);

  std::vector<double> get_state() const override;
  void set_state(std::span<const double> state, std::span<float> obs) override;
  /// 600x400, drawn as Gymnasium draws it.
  Frame render() const override;

  static constexpr double kGravity = 9.8;
  static constexpr double kMassCart = 1.0;
  static constexpr double kMassPole = 0.1;
  static constexpr double kTotalMass = kMassCart + kMassPole;
  static constexpr double kHalfLength = 0.5;
  static constexpr double kPoleMassLength = kMassPole * kHalfLength;
  static constexpr double kForceMag = 10.0;
  static constexpr double kTau = 0.02;
  static constexpr double kThetaThreshold = 12 * 2 * 3.14159265358979323846 / 360;
  static constexpr double kXThreshold = 2.4;

 protected:
  void reset_impl(std::span<float> obs) override;
  StepResult step_impl(Action action, std::span<float> obs) override;

 private:
  void write_obs(std::span<float> obs) const;
  double x_ = 0, x_dot_ = 0, theta_ = 0, theta_dot_ = 0;
  bool sutton_barto_reward_ = false;
};

}  // namespace trustrl::envs
