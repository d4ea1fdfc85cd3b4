#pragma once
// BipedalWalker-v3 and BipedalWalkerHardcore-v3: Gymnasium 1.x box2d/bipedal_walker.py (the task
// on top of BipedalWalkerWorld's physics). Box2D 2.4 instead of Gymnasium's 2.3, so trajectories
// are close to Gymnasium's, not equal (docs/BOX2D.md).
//
// Observation (24 float32): hull angle, 2 * angular velocity / FPS, 0.3 * vx * 20 / FPS,
// 0.3 * vy * 13.3 / FPS; per leg: hip angle, hip speed / 4, knee angle + 1, knee speed / 6,
// ground contact; then ten lidar fractions (1 when a ray hits nothing).
// Action: Box(-1, 1, (4,)) motor commands for hip 0, knee 0, hip 1, knee 1, clipped to [-1, 1].
// Reward: the change of shaping = 130 * hull x / 30 - 5 |hull angle|, minus 0.028 * |a_j| per
// joint; -100 (replacing the step's reward) when the hull touches the ground or x < 0.
// Termination: those two, or reaching the end of the track (x > 88.67 m).
//
// The world cannot be snapshotted (can_snapshot() is false, save()/load() throw).
// get_state() returns a documented subset: [x, y, angle, vx, vy, angular_velocity] of the hull in
// world units (m, rad, m/s, rad/s). set_state() takes those six values and moves the whole walker
// rigidly there (joint angles kept, see WalkerBody::place): a way to set up situations, not an
// exact restore.

#include "envs/box2d/bipedal_walker_world.h"
#include "envs/env.h"
#include "envs/options.h"

namespace trustrl::envs {

class BipedalWalker final : public Env {
 public:
  /// Options: hardcore (default `hardcore_default`: true for the BipedalWalkerHardcore-v3 id).
  /// The time limit goes with the id, not the option: 2000 steps for BipedalWalkerHardcore-v3,
  /// 1600 for BipedalWalker-v3 even with hardcore: true (as Gymnasium registers them).
  /// joint_limits: "box2d_2.4" (default) or "box2d_2.3" (Box2D 2.3's limit rule, which Gymnasium
  /// runs; joint_limit_rule.h, docs/BOX2D.md). `physics` gives the solver's iteration counts
  /// (Gymnasium's by default; other values are for studies); its limit rule is the option's.
  explicit BipedalWalker(EnvOptions& options, bool hardcore_default = false,
                         WalkerPhysics physics = {});

  static constexpr int kObsDim = WalkerBody::kStateDim;
  static constexpr int kActionDim = 4;
  static constexpr int kMaxEpisodeSteps = 1600;
  static constexpr int kMaxEpisodeStepsHardcore = 2000;
  static constexpr double kRewardThreshold = 300.0;
  /// Torque cost per unit of |action| per joint: 0.00035 * MOTORS_TORQUE.
  static constexpr double kTorqueCost = 0.00035 * WalkerBody::kMotorsTorque;

  bool hardcore() const { return world_.hardcore(); }
  const BipedalWalkerWorld& world() const { return world_; }

  std::vector<double> get_state() const override;
  void set_state(std::span<const double> state, std::span<float> obs) override;
  bool can_snapshot() const override { return false; }
  void save(ByteWriter& out) const override;
  void load(ByteReader& in, std::span<float> obs) override;

  /// Gymnasium's picture, 600 x 400: sky, clouds drifting at half speed, grass, obstacles, the
  /// walker with its lidar (all ten rays; Gymnasium sweeps one per frame) and the start flag, in
  /// a view that follows the hull (its left edge 4 m behind it, never left of x = 0). Throws
  /// Error before the first reset().
  Frame render() const override;

  /// Gymnasium's shaping: 130 * hull x / SCALE - 5 |hull angle|.
  static double shaping(double hull_x, double hull_angle);

 protected:
  void reset_impl(std::span<float> obs) override;
  StepResult step_impl(Action action, std::span<float> obs) override;

 private:
  /// One Gymnasium step(): physics, observation, reward, termination.
  StepResult advance(std::span<const float> action, std::span<float> obs);
  void write_obs(std::span<float> obs) const;

  BipedalWalkerWorld world_;
  double prev_shaping_ = 0.0;
};

}  // namespace trustrl::envs
