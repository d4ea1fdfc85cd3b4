#include "envs/classic/acrobot.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/error.h"
#include "envs/render/canvas.h"

namespace trustrl::envs {

namespace {

using State5 = std::array<double, 5>;  // theta1, theta2, dtheta1, dtheta2, torque

EnvSpec acrobot_spec() {
  const auto v1 = static_cast<float>(Acrobot::kMaxVel1), v2 = static_cast<float>(Acrobot::kMaxVel2);
  return EnvSpec{"Acrobot-v1",
                 Space::box({-1, -1, -1, -1, -v1, -v2}, {1, 1, 1, 1, v1, v2}),
                 Space::discrete(3),
                 500,
                 -100.0,
                 15};
}

State5 dsdt(const State5& s) {
  using A = Acrobot;
  const double m1 = A::kLinkMass1, m2 = A::kLinkMass2, l1 = A::kLinkLength1;
  const double lc1 = A::kLinkComPos1, lc2 = A::kLinkComPos2, i1 = A::kLinkMoi, i2 = A::kLinkMoi;
  const double g = A::kGravity, a = s[4];
  const double theta1 = s[0], theta2 = s[1], dtheta1 = s[2], dtheta2 = s[3];
  const double d1 =
      m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * std::cos(theta2)) + i1 + i2;
  const double d2 = m2 * (lc2 * lc2 + l1 * lc2 * std::cos(theta2)) + i2;
  const double phi2 = m2 * lc2 * g * std::cos(theta1 + theta2 - A::kPi / 2.0);
  const double phi1 = -m2 * l1 * lc2 * dtheta2 * dtheta2 * std::sin(theta2) -
                      2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * std::sin(theta2) +
                      (m1 * lc1 + m2 * l1) * g * std::cos(theta1 - A::kPi / 2) + phi2;
  // The "book" variant (Sutton & Barto), Gymnasium's default.
  const double ddtheta2 =
      (a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1 * dtheta1 * std::sin(theta2) - phi2) /
      (m2 * lc2 * lc2 + i2 - d2 * d2 / d1);
  const double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
  return {dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0};
}

State5 axpy(const State5& y, double h, const State5& k) {
  State5 out;
  for (std::size_t i = 0; i < 5; ++i) out[i] = y[i] + h * k[i];
  return out;
}

double wrap(double x, double lo, double hi) {
  const double diff = hi - lo;
  while (x > hi) x -= diff;
  while (x < lo) x += diff;
  return x;
}

}  // namespace

Acrobot::Acrobot(EnvOptions&) : Env(acrobot_spec()) {}

void Acrobot::write_obs(std::span<float> obs) const {
  obs[0] = static_cast<float>(std::cos(s_[0]));
  obs[1] = static_cast<float>(std::sin(s_[0]));
  obs[2] = static_cast<float>(std::cos(s_[1]));
  obs[3] = static_cast<float>(std::sin(s_[1]));
  obs[4] = static_cast<float>(s_[2]);
  obs[5] = static_cast<float>(s_[3]);
}

void Acrobot::reset_impl(std::span<float> obs) {
  // Gymnasium draws the initial state and stores it as float32.
  for (double& v : s_) v = static_cast<float>(rng().uniform(-0.1, 0.1));
  write_obs(obs);
}

StepResult Acrobot::step_impl(Action action, std::span<float> obs) {
  static constexpr double kTorques[3] = {-1.0, 0.0, 1.0};
  const State5 y0 = {s_[0], s_[1], s_[2], s_[3], kTorques[action.discrete[0]]};
  // One classical RK4 step over [0, dt], as Gymnasium's rk4().
  const double dt = kDt, dt2 = kDt / 2.0;
  const State5 k1 = dsdt(y0);
  const State5 k2 = dsdt(axpy(y0, dt2, k1));
  const State5 k3 = dsdt(axpy(y0, dt2, k2));
  const State5 k4 = dsdt(axpy(y0, dt, k3));
  for (std::size_t i = 0; i < 4; ++i)
    s_[i] = y0[i] + dt / 6.0 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
  s_[0] = wrap(s_[0], -kPi, kPi);
  s_[1] = wrap(s_[1], -kPi, kPi);
  s_[2] = std::clamp(s_[2], -kMaxVel1, kMaxVel1);
  s_[3] = std::clamp(s_[3], -kMaxVel2, kMaxVel2);
  write_obs(obs);
  const bool terminated = -std::cos(s_[0]) - std::cos(s_[1] + s_[0]) > 1.0;
  return {terminated ? 0.0 : -1.0, terminated, false};
}

std::vector<double> Acrobot::get_state() const { return {s_[0], s_[1], s_[2], s_[3]}; }

void Acrobot::set_state(std::span<const double> state, std::span<float> obs) {
  if (state.size() != 4)
    throw Error("Acrobot-v1: state needs 4 values [theta1, theta2, dtheta1, dtheta2]");
  std::copy(state.begin(), state.end(), s_);
  write_obs(obs);
}

// The picture follows Gymnasium's Acrobot render(): 500x500 pixels, the pivot in the middle, a
// world of +-2.2 link lengths, and a line at height 1 that the tip must rise above.
Frame Acrobot::render() const {
  constexpr int kSize = 500;
  constexpr double kBound = kLinkLength1 + kLinkLength2 + 0.2;
  constexpr Color kLinkColor{0, 204, 204}, kJointColor{204, 204, 0};
  constexpr double kHalfWidth = 0.1;

  Canvas canvas(kSize, kSize);
  canvas.set_transform({kSize / (2 * kBound), kSize / 2.0, kSize / 2.0});
  canvas.line({-kBound, 1.0}, {kBound, 1.0}, {0, 0, 0});

  // theta1 = 0 hangs the first link straight down; angles turn counter-clockwise.
  const Point joints[2] = {{0, 0},
                           {kLinkLength1 * std::sin(s_[0]), -kLinkLength1 * std::cos(s_[0])}};
  const double angles[2] = {s_[0] - kPi / 2, s_[0] + s_[1] - kPi / 2};
  const double lengths[2] = {kLinkLength1, kLinkLength2};
  for (int i = 0; i < 2; ++i) {
    Point link[4] = {
        {0, -kHalfWidth}, {0, kHalfWidth}, {lengths[i], kHalfWidth}, {lengths[i], -kHalfWidth}};
    for (Point& p : link) p = joints[i] + rotate(p, angles[i]);
    canvas.fill_polygon(link, kLinkColor);
    canvas.fill_circle(joints[i], kHalfWidth, kJointColor);
  }
  return canvas.to_frame();
}

}  // namespace trustrl::envs
