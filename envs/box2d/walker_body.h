#pragma once
// One bipedal walker (hull, two legs of two segments, four motors, ten lidar rays) in a b2World:
// Gymnasium 1.x box2d/bipedal_walker.py. Built apart from any task so that BipedalWalker and a
// multi-walker world (PettingZoo's MultiWalker: several walkers carrying a package) share it.
//
// The walker does not listen to contacts itself (a world has one listener): the world's listener
// forwards contacts to on_contact(), and decides on its own what a hull contact means.

#include <array>
#include <cstdint>
#include <span>

#include "envs/box2d/geometry.h"
#include "envs/box2d/joint_limit_rule.h"

class b2Body;
class b2RevoluteJoint;
class b2World;

namespace trustrl::envs {

/// Collision filters (Box2D's b2Filter fields), lidar targets and the joint-limit rule; the
/// defaults are BipedalWalker's: the hull and legs collide only with the ground (category 1), and
/// the lidar sees only the ground. (PettingZoo's MultiWalker instead leaves category and mask at
/// Box2D's defaults and gives each walker its own group_index.)
struct WalkerBodyConfig {
  std::uint16_t hull_category = 0x0020;
  std::uint16_t hull_mask = 0x0001;
  std::uint16_t leg_category = 0x0020;
  std::uint16_t leg_mask = 0x0001;
  /// Box2D's group index for every fixture of the walker (0: none).
  std::int16_t group_index = 0;
  /// A lidar ray stops at fixtures whose category shares a bit with this.
  std::uint16_t lidar_mask = 0x0001;
  /// How the hip and knee limits act within a step (joint_limit_rule.h).
  JointLimitRule joint_limits = JointLimitRule::kBox2D24;
};

/// One lidar ray of the last scan, for renderers: from p1 towards p2 (its full range); it hit
/// something at `fraction` of the way (1 when nothing).
struct LidarRay {
  Vec2 p1, p2;
  double fraction = 1.0;
};

class WalkerBody {
 public:
  // Constants of bipedal_walker.py; pixel lengths divided by kScale.
  static constexpr double kFps = 50.0;
  static constexpr double kScale = 30.0;
  static constexpr double kMotorsTorque = 80.0;
  static constexpr double kSpeedHip = 4.0;
  static constexpr double kSpeedKnee = 6.0;
  static constexpr double kLidarRange = 160.0 / kScale;
  static constexpr double kInitialRandom = 5.0;
  static constexpr double kLegDown = -8.0 / kScale;
  static constexpr double kLegW = 8.0 / kScale;
  static constexpr double kLegH = 34.0 / kScale;
  static constexpr double kViewportW = 600.0, kViewportH = 400.0;
  static constexpr int kNumJoints = 4;
  static constexpr int kNumLidar = 10;
  /// hull (4) + two legs (5 each) + lidar (10).
  static constexpr int kStateDim = 24;

  /// Creates the hull at (x, y) with the legs hanging below it, in `world` (which owns the
  /// bodies; they live until the world is destroyed), and pushes the hull by `push_x` newtons
  /// along x during the next step. Call once per world.
  void build(b2World& world, double x, double y, double push_x,
             const WalkerBodyConfig& config = {});

  /// Destroys the walker's bodies and joints in `world` (the world it was built in; not during
  /// b2World::Step) and forgets them: afterwards built() is false and on_contact() ignores
  /// everything. Box2D reports the walker's open contacts as ended while it goes. (PettingZoo's
  /// MultiWalker removes fallen walkers this way.)
  void destroy(b2World& world);
  /// Whether the walker has bodies (built and not destroyed).
  bool built() const { return hull_ != nullptr; }

  /// Sets the four motors from an action in [-1, 1] (hip 0, knee 0, hip 1, knee 1; clipped):
  /// speed SPEED * sign(a), torque limit MOTORS_TORQUE * |a|, as Gymnasium does. Wakes every
  /// body of the walker, as Box2D 2.3's SetMotorSpeed did on each call, and applies the
  /// config's joint-limit rule: call it before each world step.
  void apply_action(std::span<const float> action);

  /// Casts the ten lidar rays from the hull (Gymnasium v3: each reports the closest hit).
  void scan_lidar(const b2World& world);

  /// Gymnasium's 24 state values in double: hull angle, angular velocity, vx, vy (scaled), then
  /// per leg: hip angle, hip speed, knee angle + 1, knee speed, ground contact; then lidar
  /// fractions of the last scan.
  void state(std::span<double, kStateDim> out) const;

  /// Forwards one contact from the world's listener: updates the lower legs' ground flags
  /// (set when a contact begins, cleared when one ends, exactly as Gymnasium does).
  void on_contact(const b2Body* a, const b2Body* b, bool begin);
  /// Whether `body` is this walker's hull.
  bool is_hull(const b2Body* body) const { return body != nullptr && body == hull_; }

  /// Moves the walker rigidly so that the hull has `k` (joint angles kept, see place_rigidly).
  void place(const BodyKinematics& k);

  BodyKinematics hull_kinematics() const;
  bool ground_contact(int leg) const { return ground_contact_.at(static_cast<std::size_t>(leg)); }
  const std::array<LidarRay, kNumLidar>& lidar() const { return lidar_; }

  // For renderers. Owned by the world the walker was built in.
  const b2Body* hull() const { return hull_; }
  /// Segments in Gymnasium's order: 0 upper leg 0, 1 lower leg 0, 2 upper leg 1, 3 lower leg 1.
  const b2Body* segment(int i) const { return segments_.at(static_cast<std::size_t>(i)); }
  const b2RevoluteJoint* joint(int i) const { return joints_.at(static_cast<std::size_t>(i)); }
  Polygon hull_polygon() const;
  Polygon segment_polygon(int i) const;

 private:
  WalkerBodyConfig config_;
  b2Body* hull_ = nullptr;
  std::array<b2Body*, 4> segments_{};
  std::array<b2RevoluteJoint*, kNumJoints> joints_{};
  /// Lower legs 0 and 1 (segments 1 and 3).
  std::array<bool, 2> ground_contact_{};
  std::array<LidarRay, kNumLidar> lidar_{};
};

}  // namespace trustrl::envs
