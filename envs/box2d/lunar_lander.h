#pragma once
// LunarLander-v3 and LunarLanderContinuous-v3: Gymnasium 1.x box2d/lunar_lander.py (the task on
// top of LunarLanderWorld's physics). Box2D 2.4 instead of Gymnasium's 2.3, so trajectories are
// close to Gymnasium's, not equal (docs/BOX2D.md).
//
// Observation (8 float32): [x, y, vx, vy, angle, angular velocity, leg 0 contact, leg 1 contact],
// x and y relative to the helipad centre and scaled by half the viewport, velocities scaled as in
// Gymnasium (x, vx by 10/50; y, vy by 6.67/50; angular velocity by 20/50).
// Actions: Discrete(4) (0 nothing, 1 left engine, 2 main engine, 3 right engine), or with
// continuous: Box(-1, 1, (2,)) = [main throttle, lateral throttle], clipped to [-1, 1].
// Reward: the change of shaping = -100 |(x, y)| - 100 |(vx, vy)| - 100 |angle| + 10 per leg in
// contact, minus 0.3 per unit of main-engine throttle and 0.03 per unit of side-engine throttle;
// an episode that ends is worth -100 on a crash or leaving the view, +100 when the lander sleeps.
//
// The world cannot be snapshotted (can_snapshot() is false, save()/load() throw).
// get_state() returns a documented subset: [x, y, angle, vx, vy, angular_velocity] of the lander
// body in world units (m, rad, m/s, rad/s; x from the left edge, y from the bottom). set_state()
// takes those six values and moves the lander and its legs rigidly there (see
// LunarLanderWorld::place_lander): a way to set up situations, not an exact restore.

#include "envs/box2d/lunar_lander_world.h"
#include "envs/env.h"
#include "envs/options.h"

namespace trustrl::envs {

class LunarLander final : public Env {
 public:
  /// Options (as Gymnasium's make() arguments): continuous (default false), gravity (-10, in
  /// (-12, 0)), enable_wind (false), wind_power (15), turbulence_power (1.5); and trustrl's
  /// joint_limits: "box2d_2.4" (default) or "box2d_2.3" (Box2D 2.3's limit rule for the legs,
  /// which Gymnasium runs; joint_limit_rule.h, docs/BOX2D.md).
  /// `continuous_default` is the default of the continuous option (true for the
  /// LunarLanderContinuous-v3 id).
  explicit LunarLander(EnvOptions& options, bool continuous_default = false);

  static constexpr int kObsDim = 8;
  static constexpr int kMaxEpisodeSteps = 1000;
  static constexpr double kRewardThreshold = 200.0;

  bool continuous() const { return continuous_; }
  const LunarLanderWorld& world() const { return world_; }

  std::vector<double> get_state() const override;
  void set_state(std::span<const double> state, std::span<float> obs) override;
  bool can_snapshot() const override { return false; }
  void save(ByteWriter& out) const override;
  void load(ByteReader& in, std::span<float> obs) override;

  /// Gymnasium's picture, 600 x 400 at 30 px/m: black sky over the white moon, the lander and
  /// its legs, the helipad's flags, and flames for the engines fired on the last step (instead of
  /// Gymnasium's exhaust particles). Throws Error before the first reset().
  Frame render() const override;

  /// Gymnasium's observation and shaping from the world's current state, in double (the reward
  /// is computed from these, the observation is their float32 rounding).
  std::array<double, kObsDim> observe() const;
  static double shaping(const std::array<double, kObsDim>& s);

 protected:
  void reset_impl(std::span<float> obs) override;
  StepResult step_impl(Action action, std::span<float> obs) override;

 private:
  LanderEngines engines_for(const Action& action) const;
  /// One Gymnasium step(): physics, observation, reward, termination.
  StepResult advance(const LanderEngines& engines, std::span<float> obs);

  LunarLanderWorld world_;
  bool continuous_ = false;
  /// The throttles of the last step, for the picture's flames.
  LanderEngines last_engines_;
  double prev_shaping_ = 0.0;
};

}  // namespace trustrl::envs
