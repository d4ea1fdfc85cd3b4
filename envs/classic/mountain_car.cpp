#include "envs/classic/mountain_car.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "envs/render/canvas.h"

namespace trustrl::envs {

namespace {

Space car_observation_space() {
  return Space::box(
      {static_cast<float>(MountainCar::kMinPosition), static_cast<float>(-MountainCar::kMaxSpeed)},
      {static_cast<float>(MountainCar::kMaxPosition), static_cast<float>(MountainCar::kMaxSpeed)});
}

void check_state(std::span<const double> state, const char* id) {
  if (state.size() != 2)
    throw Error(std::string(id) + ": state needs 2 values [position, velocity]");
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
  velocity_ +=
      static_cast<double>(action.discrete[0] - 1) * kForce + std::cos(3 * position_) * (-kGravity);
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
                  Space::box(static_cast<float>(kMinAction), static_cast<float>(kMaxAction), {1}),
                  999, 90.0, 30}) {
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

// ---------------------------------------------------------------- pictures

namespace {

double hill_height(double x) { return std::sin(3 * x) * 0.45 + 0.55; }

// Both cars are drawn as Gymnasium's mountain_car.py render() draws them: 600x400 pixels in pixel
// units with y up, the valley from -1.2 to 0.6 spanning the width, the car tilted with the slope.
Frame draw_mountain_car(double position, double goal_position) {
  constexpr int kWidth = 600, kHeight = 400;
  constexpr double kMin = MountainCar::kMinPosition, kMax = MountainCar::kMaxPosition;
  constexpr double kScale = kWidth / (kMax - kMin);
  constexpr double kCarWidth = 40, kCarHeight = 20, kClearance = 10;
  constexpr Color kBlack{0, 0, 0};

  Canvas canvas(kWidth, kHeight);
  constexpr int kCurvePoints = 100;
  Point curve[kCurvePoints];
  for (int i = 0; i < kCurvePoints; ++i) {
    const double x = kMin + (kMax - kMin) * i / (kCurvePoints - 1);
    curve[i] = {(x - kMin) * kScale, hill_height(x) * kScale};
  }
  canvas.polyline(curve, kBlack);

  const Point base{(position - kMin) * kScale, kClearance + hill_height(position) * kScale};
  const double tilt = std::cos(3 * position);
  Point car[4] = {{-kCarWidth / 2, 0},
                  {-kCarWidth / 2, kCarHeight},
                  {kCarWidth / 2, kCarHeight},
                  {kCarWidth / 2, 0}};
  for (Point& p : car) p = base + rotate(p, tilt);
  canvas.fill_polygon(car, kBlack);
  for (const double wheel_x : {kCarWidth / 4, -kCarWidth / 4})
    canvas.fill_circle(base + rotate({wheel_x, 0}, tilt), std::floor(kCarHeight / 2.5),
                       {128, 128, 128});

  // Gymnasium snaps the flag to whole pixels; the pole is one pixel column, so draw its centre.
  const double flag_x = std::floor((goal_position - kMin) * kScale);
  const double flag_bottom = std::floor(hill_height(goal_position) * kScale);
  const double flag_top = flag_bottom + 50;
  canvas.line({flag_x + 0.5, flag_bottom}, {flag_x + 0.5, flag_top}, kBlack);
  const Point flag[3] = {{flag_x, flag_top}, {flag_x, flag_top - 10}, {flag_x + 25, flag_top - 5}};
  canvas.fill_polygon(flag, {204, 204, 0});
  return canvas.to_frame();
}

}  // namespace

Frame MountainCar::render() const { return draw_mountain_car(position_, kGoalPosition); }

Frame MountainCarContinuous::render() const { return draw_mountain_car(position_, kGoalPosition); }

}  // namespace trustrl::envs
