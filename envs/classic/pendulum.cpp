#include "envs/classic/pendulum.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "envs/render/canvas.h"

namespace trustrl::envs {

namespace {

constexpr double kPi = 3.14159265358979323846;

// ((x + pi) mod 2pi) - pi with numpy's floored modulo.
double angle_normalize(double x) {
  double m = std::fmod(x + kPi, 2 * kPi);
  if (m != 0 && m < 0) m += 2 * kPi;
  return m - kPi;
}

}  // namespace

Pendulum::Pendulum(EnvOptions& options)
    : Env(EnvSpec{"Pendulum-v1",
                  Space::box({-1.0f, -1.0f, static_cast<float>(-kMaxSpeed)},
                             {1.0f, 1.0f, static_cast<float>(kMaxSpeed)}),
                  Space::box(static_cast<float>(-kMaxTorque), static_cast<float>(kMaxTorque), {1}),
                  200, std::nullopt, 30}) {
  gravity_ = options.number("g", 10.0);
  last_u_ = NAN;
}

void Pendulum::write_obs(std::span<float> obs) const {
  obs[0] = static_cast<float>(std::cos(theta_));
  obs[1] = static_cast<float>(std::sin(theta_));
  obs[2] = static_cast<float>(theta_dot_);
}

void Pendulum::reset_impl(std::span<float> obs) {
  theta_ = rng().uniform(-kPi, kPi);
  theta_dot_ = rng().uniform(-1.0, 1.0);
  last_u_ = NAN;
  write_obs(obs);
}

StepResult Pendulum::step_impl(Action action, std::span<float> obs) {
  // Gymnasium clips the float32 action and squares it in float32.
  const float u = std::clamp(action.continuous[0], static_cast<float>(-kMaxTorque),
                             static_cast<float>(kMaxTorque));
  last_u_ = u;
  const float u_squared = u * u;
  const double th = angle_normalize(theta_);
  const double costs =
      th * th + 0.1 * theta_dot_ * theta_dot_ + 0.001 * static_cast<double>(u_squared);
  double new_theta_dot = theta_dot_ + (3 * gravity_ / (2 * kLength) * std::sin(theta_) +
                                       3.0 / (kMass * kLength * kLength) * u) *
                                          kDt;
  new_theta_dot = std::clamp(new_theta_dot, -kMaxSpeed, kMaxSpeed);
  theta_ = theta_ + new_theta_dot * kDt;
  theta_dot_ = new_theta_dot;
  write_obs(obs);
  return {-costs, false, false};
}

std::vector<double> Pendulum::get_state() const { return {theta_, theta_dot_, last_u_}; }

void Pendulum::set_state(std::span<const double> state, std::span<float> obs) {
  if (state.size() != 2 && state.size() != 3)
    throw Error("Pendulum-v1: state needs [theta, theta_dot] or [theta, theta_dot, last_u]");
  theta_ = state[0];
  theta_dot_ = state[1];
  last_u_ = state.size() == 3 ? state[2] : NAN;
  write_obs(obs);
}

// The picture follows Gymnasium's Pendulum render(): 500x500 pixels, a world of +-2.2 m, the pivot
// in the middle, theta = 0 pointing up. Gymnasium shows the last torque with a picture of a
// circular arrow (assets/clockwise.png) sized by |u|; here the arrow is drawn: a 270-degree arc
// from the top, clockwise for u < 0 and counter-clockwise for u > 0, with its head at the end.
Frame Pendulum::render() const {
  constexpr int kSize = 500;
  constexpr double kBound = 2.2;
  constexpr double kScale = kSize / (2 * kBound);
  constexpr double kRodWidth = 0.2;
  constexpr Color kRodColor{204, 77, 77}, kBlack{0, 0, 0};

  Canvas canvas(kSize, kSize);
  canvas.set_transform({kScale, kSize / 2.0, kSize / 2.0});

  const double angle = theta_ + kPi / 2;
  Point rod[4] = {
      {0, -kRodWidth / 2}, {0, kRodWidth / 2}, {kLength, kRodWidth / 2}, {kLength, -kRodWidth / 2}};
  for (Point& p : rod) p = rotate(p, angle);
  canvas.fill_polygon(rod, kRodColor);
  canvas.fill_circle({0, 0}, kRodWidth / 2, kRodColor);
  canvas.fill_circle(rotate({kLength, 0}, angle), kRodWidth / 2, kRodColor);

  if (std::isfinite(last_u_) && last_u_ != 0) {
    // Proportions measured on Gymnasium's asset, whose side is |u| / 2 world units.
    const double side = std::abs(last_u_) / 2;
    const double radius = 0.46 * side;
    const double direction = last_u_ > 0 ? 1.0 : -1.0;  // counter-clockwise for positive torque
    const double start = kPi / 2, end = start + direction * 1.5 * kPi;
    canvas.arc({0, 0}, radius, start, end, kBlack, std::max(1.0, 0.025 * side * kScale));
    const Point tip_base = rotate({radius, 0}, end);
    const Point heading = rotate({0, direction}, end);  // the direction of travel at the end
    const Point outward = rotate({1, 0}, end);
    const double head_length = 0.17 * side, head_half_width = 0.07 * side;
    const Point head[3] = {
        {tip_base.x + heading.x * head_length, tip_base.y + heading.y * head_length},
        {tip_base.x + outward.x * head_half_width, tip_base.y + outward.y * head_half_width},
        {tip_base.x - outward.x * head_half_width, tip_base.y - outward.y * head_half_width}};
    canvas.fill_polygon(head, kBlack);
  }

  canvas.fill_circle({0, 0}, 0.05, kBlack);  // the axle
  return canvas.to_frame();
}

}  // namespace trustrl::envs
