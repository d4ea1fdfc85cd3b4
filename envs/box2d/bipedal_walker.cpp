#include "envs/box2d/bipedal_walker.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/error.h"
#include "envs/box2d/walker_drawing.h"
#include "envs/render/canvas.h"

namespace trustrl::envs {

namespace {

constexpr double kPi = 3.14159265358979323846;

// The time limit goes with the id, as Gymnasium registers it: make("BipedalWalker-v3",
// hardcore=True) keeps 1600 steps; only BipedalWalkerHardcore-v3 has 2000.
EnvSpec walker_spec(bool hardcore_id) {
  // Bounds of Gymnasium v3 (joints "at most 5x the rated speed due to impulses").
  const auto pi = static_cast<float>(kPi);
  std::vector<float> low{-pi, -5, -5, -5, -pi, -5, -pi, -5, -0.0f, -pi, -5, -pi, -5, -0.0f};
  std::vector<float> high{pi, 5, 5, 5, pi, 5, pi, 5, 5, pi, 5, pi, 5, 5};
  low.resize(BipedalWalker::kObsDim, -1.0f);
  high.resize(BipedalWalker::kObsDim, 1.0f);
  return EnvSpec{
      hardcore_id ? "BipedalWalkerHardcore-v3" : "BipedalWalker-v3",
      Space::box(std::move(low), std::move(high)),
      Space::box(-1.0f, 1.0f, {BipedalWalker::kActionDim}),
      hardcore_id ? BipedalWalker::kMaxEpisodeStepsHardcore : BipedalWalker::kMaxEpisodeSteps,
      BipedalWalker::kRewardThreshold,
      static_cast<int>(BipedalWalkerWorld::kFps)};
}

WalkerPhysics with_limit_rule(WalkerPhysics physics, JointLimitRule rule) {
  physics.joint_limits = rule;
  return physics;
}

}  // namespace

BipedalWalker::BipedalWalker(EnvOptions& options, bool hardcore_default, WalkerPhysics physics)
    : Env(walker_spec(hardcore_default)),
      world_(options.flag("hardcore", hardcore_default),
             with_limit_rule(physics, read_joint_limit_rule(options, spec().id))) {}

double BipedalWalker::shaping(double hull_x, double hull_angle) {
  // Moving forward earns about 300 over the course; keeping the head straight is the only other
  // shaping (falling aside, any behaviour goes unpunished).
  return 130 * hull_x / WalkerBody::kScale - 5.0 * std::fabs(hull_angle);
}

void BipedalWalker::write_obs(std::span<float> obs) const {
  std::array<double, kObsDim> s{};
  world_.walker().state(s);
  for (std::size_t i = 0; i < s.size(); ++i) obs[i] = static_cast<float>(s[i]);
}

StepResult BipedalWalker::advance(std::span<const float> action, std::span<float> obs) {
  world_.step(action);
  write_obs(obs);
  const BodyKinematics hull = world_.walker().hull_kinematics();

  const double shape = shaping(hull.x, hull.angle);
  double reward = shape - prev_shaping_;
  prev_shaping_ = shape;
  // About -50 over an episode of the heuristic; a better agent spends less.
  for (std::size_t j = 0; j < kActionDim; ++j)
    reward -= kTorqueCost * std::clamp(std::fabs(action[j]), 0.0f, 1.0f);

  bool terminated = false;
  if (world_.hull_touched() || hull.x < 0) {
    reward = -100;
    terminated = true;
  }
  if (hull.x > BipedalWalkerWorld::kFinishX) terminated = true;
  return {reward, terminated, false};
}

void BipedalWalker::reset_impl(std::span<float> obs) {
  world_.reset(rng());
  // Gymnasium's reset() returns the observation of one step with all motors off; that step's
  // reward is dropped, its shaping becomes the baseline.
  const std::array<float, kActionDim> idle{};
  advance(idle, obs);
}

StepResult BipedalWalker::step_impl(Action action, std::span<float> obs) {
  return advance(action.continuous, obs);
}

std::vector<double> BipedalWalker::get_state() const {
  if (!world_.built()) throw Error(spec().id + ": get_state() needs reset() first");
  const BodyKinematics k = world_.walker().hull_kinematics();
  return {k.x, k.y, k.angle, k.vx, k.vy, k.angular_velocity};
}

void BipedalWalker::set_state(std::span<const double> state, std::span<float> obs) {
  if (!world_.built()) throw Error(spec().id + ": set_state() needs reset() first");
  if (state.size() != 6)
    throw Error(spec().id +
                ": state needs 6 values [x, y, angle, vx, vy, angular_velocity] of the hull, got " +
                std::to_string(state.size()));
  for (double v : state)
    if (!std::isfinite(v)) throw Error(spec().id + ": state values must be finite");
  world_.place_walker({state[0], state[1], state[2], state[3], state[4], state[5]});
  write_obs(obs);
  const BodyKinematics hull = world_.walker().hull_kinematics();
  prev_shaping_ = shaping(hull.x, hull.angle);
}

Frame BipedalWalker::render() const {
  if (!world_.built()) throw Error(spec().id + ": render() needs reset() first");
  // Gymnasium's scroll puts the hull a fifth of the way into the view; its rgb_array frame is the
  // rightmost 600 columns of a canvas that starts at x = 0, so the view never starts left of 0.
  const double scroll =
      world_.walker().hull_kinematics().x - WalkerBody::kViewportW / WalkerBody::kScale / 5;
  const WalkerCamera camera{std::max(0.0, scroll), WalkerBody::kScale, scroll / 2};
  Canvas canvas(static_cast<int>(WalkerBody::kViewportW), static_cast<int>(WalkerBody::kViewportH));
  draw_walker_backdrop(canvas, camera, world_.terrain(), world_.clouds());
  draw_walker_lidar(canvas, world_.walker());
  draw_walker_terrain(canvas, camera, world_.terrain());
  draw_walker(canvas, world_.walker());
  draw_walker_start_flag(canvas);
  return canvas.to_frame();
}

void BipedalWalker::save(ByteWriter&) const {
  throw Error(spec().id +
              ": a Box2D world cannot be saved exactly, so this env has no save()/load()");
}

void BipedalWalker::load(ByteReader&, std::span<float>) {
  throw Error(spec().id +
              ": a Box2D world cannot be restored exactly, so this env has no save()/load()");
}

}  // namespace trustrl::envs
