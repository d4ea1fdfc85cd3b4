#include "envs/box2d/lunar_lander.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "envs/box2d/walker_drawing.h"
#include "envs/render/canvas.h"

namespace trustrl::envs {

namespace {

using W = LunarLanderWorld;

constexpr double kPi = 3.14159265358979323846;

EnvSpec lander_spec(bool continuous, bool continuous_id) {
  // Bounds of Gymnasium v3 ("useful range is -1 .. +1, but spikes can be higher").
  const auto a = static_cast<float>(2 * kPi);
  Space obs = Space::box({-2.5f, -2.5f, -10.0f, -10.0f, -a, -10.0f, -0.0f, -0.0f},
                         {2.5f, 2.5f, 10.0f, 10.0f, a, 10.0f, 1.0f, 1.0f});
  Space act = continuous ? Space::box(-1.0f, 1.0f, {2}) : Space::discrete(4);
  return EnvSpec{continuous_id ? "LunarLanderContinuous-v3" : "LunarLander-v3",
                 std::move(obs),
                 std::move(act),
                 LunarLander::kMaxEpisodeSteps,
                 LunarLander::kRewardThreshold,
                 static_cast<int>(W::kFps)};
}

LunarLanderPhysics read_physics(EnvOptions& options, const std::string& env_id) {
  LunarLanderPhysics p;
  // Gymnasium asserts -12 < gravity < 0; wind and turbulence outside their recommended ranges
  // only draw a warning there, so any finite value is accepted here.
  p.gravity = options.number("gravity", p.gravity, Bounds{-12.0, 0.0, true, true});
  p.enable_wind = options.flag("enable_wind", p.enable_wind);
  p.wind_power = options.number("wind_power", p.wind_power);
  p.turbulence_power = options.number("turbulence_power", p.turbulence_power);
  p.joint_limits = read_joint_limit_rule(options, env_id);
  return p;
}

}  // namespace

LunarLander::LunarLander(EnvOptions& options, bool continuous_default)
    : Env(lander_spec(options.flag("continuous", continuous_default), continuous_default)),
      world_(read_physics(options, spec().id)),
      continuous_(spec().action_space.kind == SpaceKind::kBox) {}

std::array<double, LunarLander::kObsDim> LunarLander::observe() const {
  // Gymnasium computes the state in Python floats (double) from Box2D's float32 values.
  const BodyKinematics k = world_.lander();
  const double half_w = W::kViewportW / W::kScale / 2;
  const double half_h = W::kViewportH / W::kScale / 2;
  return {(k.x - half_w) / half_w,
          (k.y - (world_.helipad_y() + W::kLegDown / W::kScale)) / half_h,
          k.vx * half_w / W::kFps,
          k.vy * half_h / W::kFps,
          k.angle,
          20.0 * k.angular_velocity / W::kFps,
          world_.leg_contact(0) ? 1.0 : 0.0,
          world_.leg_contact(1) ? 1.0 : 0.0};
}

double LunarLander::shaping(const std::array<double, kObsDim>& s) {
  // Ten points per leg in contact: losing contact after landing costs them again.
  return -100 * std::sqrt(s[0] * s[0] + s[1] * s[1]) - 100 * std::sqrt(s[2] * s[2] + s[3] * s[3]) -
         100 * std::fabs(s[4]) + 10 * s[6] + 10 * s[7];
}

LanderEngines LunarLander::engines_for(const Action& action) const {
  LanderEngines e;
  if (continuous_) {
    // np.clip(action, -1, +1).astype(np.float64)
    const double main = std::clamp(action.continuous[0], -1.0f, 1.0f);
    const double lateral = std::clamp(action.continuous[1], -1.0f, 1.0f);
    // Main engine off below 0, then 50%..100% throttle; side engines off within (-0.5, 0.5).
    if (main > 0.0) e.main = (std::clamp(main, 0.0, 1.0) + 1.0) * 0.5;
    if (std::fabs(lateral) > 0.5) {
      e.side_direction = lateral > 0 ? 1.0 : -1.0;
      e.side = std::clamp(std::fabs(lateral), 0.5, 1.0);
    }
  } else {
    const std::int64_t a = action.discrete[0];
    if (a == 2) e.main = 1.0;
    if (a == 1 || a == 3) {
      e.side_direction = static_cast<double>(a - 2);  // 1 fires the left engine, 3 the right one
      e.side = 1.0;
    }
  }
  return e;
}

StepResult LunarLander::advance(const LanderEngines& engines, std::span<float> obs) {
  world_.step(engines, rng());
  last_engines_ = engines;
  const auto s = observe();
  for (int i = 0; i < kObsDim; ++i)
    obs[static_cast<std::size_t>(i)] = static_cast<float>(s[static_cast<std::size_t>(i)]);

  const double shape = shaping(s);
  double reward = shape - prev_shaping_;
  prev_shaping_ = shape;
  // Fuel: about -30 for the heuristic landing.
  reward -= engines.main * 0.30;
  reward -= engines.side * 0.03;

  bool terminated = false;
  if (world_.lander_touched() || std::fabs(s[0]) >= 1.0) {
    terminated = true;
    reward = -100;
  }
  if (!world_.lander_awake()) {
    terminated = true;
    reward = +100;
  }
  return {reward, terminated, false};
}

void LunarLander::reset_impl(std::span<float> obs) {
  world_.reset(rng());
  // Gymnasium's reset() returns the observation of one step with the engines off; that step's
  // reward is dropped, its shaping becomes the baseline.
  advance(LanderEngines{}, obs);
}

StepResult LunarLander::step_impl(Action action, std::span<float> obs) {
  return advance(engines_for(action), obs);
}

std::vector<double> LunarLander::get_state() const {
  if (world_.lander_body() == nullptr) throw Error(spec().id + ": get_state() needs reset() first");
  const BodyKinematics k = world_.lander();
  return {k.x, k.y, k.angle, k.vx, k.vy, k.angular_velocity};
}

void LunarLander::set_state(std::span<const double> state, std::span<float> obs) {
  if (world_.lander_body() == nullptr) throw Error(spec().id + ": set_state() needs reset() first");
  if (state.size() != 6)
    throw Error(
        spec().id +
        ": state needs 6 values [x, y, angle, vx, vy, angular_velocity] of the lander, got " +
        std::to_string(state.size()));
  for (double v : state)
    if (!std::isfinite(v)) throw Error(spec().id + ": state values must be finite");
  world_.place_lander({state[0], state[1], state[2], state[3], state[4], state[5]});
  const auto s = observe();
  for (int i = 0; i < kObsDim; ++i)
    obs[static_cast<std::size_t>(i)] = static_cast<float>(s[static_cast<std::size_t>(i)]);
  prev_shaping_ = shaping(s);
}

Frame LunarLander::render() const {
  if (world_.lander_body() == nullptr) throw Error(spec().id + ": render() needs reset() first");
  // Colours and sizes of lunar_lander.py render(): the background is white and the sky polygons
  // above the ground line are painted black; lander and legs are (128, 102, 230) outlined in
  // (77, 77, 128); the flags are a white pole 50 px high with a yellow pennant.
  constexpr Color kSky{0, 0, 0};
  constexpr Color kLanderFill{128, 102, 230};
  constexpr Color kLanderOutline{77, 77, 128};
  constexpr Color kPole{255, 255, 255};
  constexpr Color kPennant{204, 204, 0};
  // A fresh exhaust particle's colour in Gymnasium (ttl 1 aged by one frame: 0.85).
  constexpr Color kFlame{255, 108, 108};
  const double px = 1.0 / W::kScale;

  Canvas canvas(static_cast<int>(W::kViewportW), static_cast<int>(W::kViewportH));
  canvas.set_transform({W::kScale, 0.0, 0.0});
  std::vector<Point> corners;
  for (const Polygon& sky : world_.terrain_polygons()) {
    corners.clear();
    for (const Vec2& v : sky) corners.push_back({v.x, v.y});
    canvas.fill_polygon(corners, kSky);
  }

  // Flames in the lander's frame (pixels): the main one out of the bottom edge, sized by the
  // throttle; a side one out of the flank opposite to the push (side_direction -1 pushes
  // towards -x, so its flame points to +x).
  const BodyKinematics k = world_.lander();
  auto to_world = [&](double x_px, double y_px) {
    return Point{k.x, k.y} + rotate({x_px * px, y_px * px}, k.angle);
  };
  if (last_engines_.main > 0) {
    const Point flame[3] = {to_world(-5, -10), to_world(5, -10),
                            to_world(0, -10 - 22 * last_engines_.main)};
    canvas.fill_polygon(flame, kFlame);
  }
  if (last_engines_.side > 0) {
    const double out = -last_engines_.side_direction;  // +1: the flame points to +x
    const Point flame[3] = {to_world(out * 15, 9), to_world(out * 15, 15),
                            to_world(out * (15 + 14 * last_engines_.side), 12)};
    canvas.fill_polygon(flame, kFlame);
  }

  draw_body_polygon(canvas, world_.lander_polygon(), kLanderFill, kLanderOutline);
  for (int i = 0; i < 2; ++i)
    draw_body_polygon(canvas, world_.leg_polygon(i), kLanderFill, kLanderOutline);

  for (const double x : {world_.helipad_x1(), world_.helipad_x2()}) {
    const double y1 = world_.helipad_y(), y2 = y1 + 50 * px;
    canvas.line({x, y1}, {x, y2}, kPole, 1.0);
    const Point pennant[3] = {{x, y2}, {x, y2 - 10 * px}, {x + 25 * px, y2 - 5 * px}};
    canvas.fill_polygon(pennant, kPennant);
  }
  return canvas.to_frame();
}

void LunarLander::save(ByteWriter&) const {
  throw Error(spec().id +
              ": a Box2D world cannot be saved exactly, so this env has no save()/load()");
}

void LunarLander::load(ByteReader&, std::span<float>) {
  throw Error(spec().id +
              ": a Box2D world cannot be restored exactly, so this env has no save()/load()");
}

}  // namespace trustrl::envs
