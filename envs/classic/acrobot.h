#pragma once
// Acrobot-v1: Gymnasium 1.x classic_control/acrobot.py (Sutton 1996; "book" dynamics, RK4).
// State: [theta1, theta2, dtheta1, dtheta2]; observation: [cos t1, sin t1, cos t2, sin t2, dt1,
// dt2].

#include "envs/env.h"
#include "envs/options.h"

namespace trustrl::envs {

class Acrobot final : public Env {
 public:
  explicit Acrobot(EnvOptions& options);

  std::vector<double> get_state() const override;
  void set_state(std::span<const double> state, std::span<float> obs) override;
  /// 500x500, drawn as Gymnasium draws it.
  Frame render() const override;

  static constexpr double kPi = 3.14159265358979323846;
  static constexpr double kDt = 0.2;
  static constexpr double kLinkLength1 = 1.0;
  static constexpr double kLinkLength2 = 1.0;
  static constexpr double kLinkMass1 = 1.0;
  static constexpr double kLinkMass2 = 1.0;
  static constexpr double kLinkComPos1 = 0.5;
  static constexpr double kLinkComPos2 = 0.5;
  static constexpr double kLinkMoi = 1.0;
  static constexpr double kMaxVel1 = 4 * kPi;
  static constexpr double kMaxVel2 = 9 * kPi;
  static constexpr double kGravity = 9.8;

 protected:
  void reset_impl(std::span<float> obs) override;
  StepResult step_impl(Action action, std::span<float> obs) override;

 private:
  void write_obs(std::span<float> obs) const;
  double s_[4] = {0, 0, 0, 0};
};

}  // namespace trustrl::envs
