#include "envs/classic/cartpole.h"

#include <cmath>

#include "core/error.h"
#include "envs/render/canvas.h"

namespace trustrl::envs {

namespace {
EnvSpec cartpole_spec() {
  const auto h = static_cast<float>(CartPole::kXThreshold * 2);
  const auto a = static_cast<float>(CartPole::kThetaThreshold * 2);
  const float inf = INFINITY;
  return EnvSpec{"CartPole-v1",
                 Space::box({-h, -inf, -a, -inf}, {h, inf, a, inf}),
                 Space::discrete(2),
                 500,
                 475.0,
                 50};
}
}  // namespace

CartPole::CartPole(EnvOptions& options) : Env(cartpole_spec()) {
  sutton_barto_reward_ = options.flag("sutton_barto_reward", false);
}

void CartPole::write_obs(std::span<float> obs) const {
  obs[0] = static_cast<float>(x_);
  obs[1] = static_cast<float>(x_dot_);
  obs[2] = static_cast<float>(theta_);
  obs[3] = static_cast<float>(theta_dot_);
}

void CartPole::reset_impl(std::span<float> obs) {
  x_ = rng().uniform(-0.05, 0.05);
  x_dot_ = rng().uniform(-0.05, 0.05);
  theta_ = rng().uniform(-0.05, 0.05);
  theta_dot_ = rng().uniform(-0.05, 0.05);
  write_obs(obs);
}

StepResult CartPole::step_impl(Action action, std::span<float> obs) {
  const double force = action.discrete[0] == 1 ? kForceMag : -kForceMag;
  const double cos_theta = std::cos(theta_), sin_theta = std::sin(theta_);
  const double temp = (force + kPoleMassLength * theta_dot_ * theta_dot_ * sin_theta) / kTotalMass;
  const double theta_acc =
      (kGravity * sin_theta - cos_theta * temp) /
      (kHalfLength * (4.0 / 3.0 - kMassPole * cos_theta * cos_theta / kTotalMass));
  const double x_acc = temp - kPoleMassLength * theta_acc * cos_theta / kTotalMass;
  // Explicit Euler, Gymnasium's default integrator.
  x_ += kTau * x_dot_;
  x_dot_ += kTau * x_acc;
  theta_ += kTau * theta_dot_;
  theta_dot_ += kTau * theta_acc;
  write_obs(obs);
  const bool terminated = x_ < -kXThreshold || x_ > kXThreshold || theta_ < -kThetaThreshold ||
                          theta_ > kThetaThreshold;
  double reward = 1.0;
  if (sutton_barto_reward_) reward = terminated ? -1.0 : 0.0;
  return {reward, terminated, false};
}

std::vector<double> CartPole::get_state() const { return {x_, x_dot_, theta_, theta_dot_}; }

void CartPole::set_state(std::span<const double> state, std::span<float> obs) {
  if (state.size() != 4)
    throw Error("CartPole-v1: state needs 4 values [x, x_dot, theta, theta_dot]");
  x_ = state[0];
  x_dot_ = state[1];
  theta_ = state[2];
  theta_dot_ = state[3];
  write_obs(obs);
}

// The picture follows Gymnasium's CartPole render(): 600x400 pixels, drawn in pixel units with y
// up, the world's +-2.4 m spanning the width.
Frame CartPole::render() const {
  constexpr int kWidth = 600, kHeight = 400;
  constexpr double kScale = kWidth / (2 * kXThreshold);
  constexpr double kPoleWidth = 10.0, kCartWidth = 50.0, kCartHeight = 30.0;
  constexpr double kCartY = 100.0;  // the cart's centre line, on the track
  constexpr double kAxleOffset = kCartHeight / 4;
  const double pole_length = kScale * (2 * kHalfLength);
  const double cart_x = x_ * kScale + kWidth / 2.0;

  Canvas canvas(kWidth, kHeight);
  const double l = -kCartWidth / 2, r = kCartWidth / 2, t = kCartHeight / 2, b = -kCartHeight / 2;
  const Point cart[4] = {{cart_x + l, kCartY + b},
                         {cart_x + l, kCartY + t},
                         {cart_x + r, kCartY + t},
                         {cart_x + r, kCartY + b}};
  canvas.fill_polygon(cart, {0, 0, 0});

  // theta > 0 leans the pole to the right, i.e. clockwise.
  const Point axle{cart_x, kCartY + kAxleOffset};
  const double pl = -kPoleWidth / 2, pr = kPoleWidth / 2, pt = pole_length - kPoleWidth / 2,
               pb = -kPoleWidth / 2;
  Point pole[4] = {{pl, pb}, {pl, pt}, {pr, pt}, {pr, pb}};
  for (Point& p : pole) p = axle + rotate(p, -theta_);
  canvas.fill_polygon(pole, {202, 152, 101});
  canvas.fill_circle(axle, kPoleWidth / 2, {129, 132, 203});

  // The track: one pixel row, centred on it so that it stays crisp.
  canvas.line({0, kCartY + 0.5}, {kWidth, kCartY + 0.5}, {0, 0, 0});
  return canvas.to_frame();
}

}  // namespace trustrl::envs
