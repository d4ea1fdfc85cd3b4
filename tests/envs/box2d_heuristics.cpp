#include "box2d_heuristics.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace trustrl::envs::testing {

namespace {

struct LanderTodo {
  double angle = 0;
  double hover = 0;
};

// The shared part of Gymnasium's lunar_lander.heuristic.
LanderTodo lander_todo(std::span<const float> s) {
  // The angle should point towards the centre; more than 0.4 rad (22 degrees) is bad.
  const double angle_targ = std::clamp(s[0] * 0.5 + s[2] * 1.0, -0.4, 0.4);
  // The target height is proportional to the horizontal offset.
  const double hover_targ = 0.55 * std::fabs(s[0]);
  LanderTodo t{(angle_targ - s[4]) * 0.5 - s[5] * 1.0, (hover_targ - s[1]) * 0.5 - s[3] * 0.5};
  if (s[6] != 0 || s[7] != 0) {
    // Legs touch: only slow the fall.
    t.angle = 0;
    t.hover = -s[3] * 0.5;
  }
  return t;
}

}  // namespace

std::int64_t lunar_lander_heuristic_discrete(std::span<const float> s) {
  const LanderTodo t = lander_todo(s);
  if (t.hover > std::fabs(t.angle) && t.hover > 0.05) return 2;
  if (t.angle < -0.05) return 3;
  if (t.angle > +0.05) return 1;
  return 0;
}

std::array<float, 2> lunar_lander_heuristic_continuous(std::span<const float> s) {
  const LanderTodo t = lander_todo(s);
  return {static_cast<float>(std::clamp(t.hover * 20 - 1, -1.0, 1.0)),
          static_cast<float>(std::clamp(-t.angle * 20, -1.0, 1.0))};
}

std::array<float, 4> BipedalWalkerHeuristic::act(std::span<const float> s) {
  const int moving_base = 4 + 5 * moving_leg_;
  const int supporting_base = 4 + 5 * supporting_leg_;
  const auto at = [&](int i) { return static_cast<double>(s[static_cast<std::size_t>(i)]); };
  // Targets: hips -0.8..1.1, knees -0.6..0.9. Gymnasium tests them with `if targ:`, so a target
  // of exactly 0 counts as none; kept.
  std::array<std::optional<double>, 2> hip_targ, knee_targ;
  std::array<double, 2> hip_todo{}, knee_todo{};
  const auto moving = static_cast<std::size_t>(moving_leg_);
  const auto supporting = static_cast<std::size_t>(supporting_leg_);

  if (phase_ == kStayOnOneLeg) {
    hip_targ[moving] = 1.1;
    knee_targ[moving] = -0.6;
    supporting_knee_angle_ += 0.03;
    if (at(2) > kSpeed) supporting_knee_angle_ += 0.03;
    supporting_knee_angle_ = std::min(supporting_knee_angle_, kSupportKneeAngle);
    knee_targ[supporting] = supporting_knee_angle_;
    if (at(supporting_base + 0) < 0.10) phase_ = kPutOtherDown;  // supporting leg is behind
  }
  if (phase_ == kPutOtherDown) {
    hip_targ[moving] = +0.1;
    knee_targ[moving] = kSupportKneeAngle;
    knee_targ[supporting] = supporting_knee_angle_;
    if (at(moving_base + 4) != 0) {
      phase_ = kPushOff;
      supporting_knee_angle_ = std::min(at(moving_base + 2), kSupportKneeAngle);
    }
  }
  if (phase_ == kPushOff) {
    knee_targ[moving] = supporting_knee_angle_;
    knee_targ[supporting] = +1.0;
    if (at(supporting_base + 2) > 0.88 || at(2) > 1.2 * kSpeed) {
      phase_ = kStayOnOneLeg;
      moving_leg_ = 1 - moving_leg_;
      supporting_leg_ = 1 - moving_leg_;
    }
  }

  const auto set = [](const std::optional<double>& t) { return t.has_value() && *t != 0.0; };
  if (set(hip_targ[0])) hip_todo[0] = 0.9 * (*hip_targ[0] - at(4)) - 0.25 * at(5);
  if (set(hip_targ[1])) hip_todo[1] = 0.9 * (*hip_targ[1] - at(9)) - 0.25 * at(10);
  if (set(knee_targ[0])) knee_todo[0] = 4.0 * (*knee_targ[0] - at(6)) - 0.25 * at(7);
  if (set(knee_targ[1])) knee_todo[1] = 4.0 * (*knee_targ[1] - at(11)) - 0.25 * at(12);

  // PID to keep the head straight, and damping of vertical oscillations.
  for (std::size_t leg = 0; leg < 2; ++leg) {
    hip_todo[leg] -= 0.9 * (0 - at(0)) - 1.5 * at(1);
    knee_todo[leg] -= 15.0 * at(3);
  }
  const std::array<double, 4> a{hip_todo[0], knee_todo[0], hip_todo[1], knee_todo[1]};
  std::array<float, 4> out{};
  for (std::size_t i = 0; i < 4; ++i)
    out[i] = static_cast<float>(std::clamp(0.5 * a[i], -1.0, 1.0));
  return out;
}

}  // namespace trustrl::envs::testing
