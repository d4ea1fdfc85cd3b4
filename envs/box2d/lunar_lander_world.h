#pragma once
// The physics of LunarLander: Gymnasium 1.x box2d/lunar_lander.py (Oleg Klimov), on Box2D 2.4.
// Terrain, lander, legs, engines and wind live here; the task built on them (observation, reward,
// termination) lives in lunar_lander.h.
//
// Every reset() builds a fresh b2World. Gymnasium v3 does the same to fix the non-determinism of
// reusing one (Gymnasium issue #728): a reused world keeps broad-phase and allocator history, so
// an episode would depend on the episodes before it.

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/rng.h"
#include "envs/box2d/geometry.h"
#include "envs/box2d/joint_limit_rule.h"

class b2Body;
class b2World;

namespace trustrl::envs {

/// Gymnasium's make() arguments that shape the physics.
struct LunarLanderPhysics {
  /// Gravity along y in m/s^2; Gymnasium requires -12 < gravity < 0.
  double gravity = -10.0;
  /// Apply a horizontal wind force and a turbulence torque while no leg touches the ground.
  bool enable_wind = false;
  /// Largest wind force (N); Gymnasium recommends 0 to 20.
  double wind_power = 15.0;
  /// Largest turbulence torque (N m); Gymnasium recommends 0 to 2.
  double turbulence_power = 1.5;
  /// How the legs' joint limits act within a step (joint_limit_rule.h; not a make() argument:
  /// Gymnasium's Box2D 2.3 has kBox2D23).
  JointLimitRule joint_limits = JointLimitRule::kBox2D24;
};

/// Engine throttles for one step, as Gymnasium derives them from the action.
struct LanderEngines {
  /// 0 (off) or 0.5..1.
  double main = 0.0;
  /// 0 (off) or 0.5..1.
  double side = 0.0;
  /// -1: Gymnasium's "left orientation engine" (discrete action 1), which pushes the upright
  /// lander towards -x and turns it counter-clockwise; +1: the right one, the mirror image.
  double side_direction = 0.0;
};

class LunarLanderWorld {
 public:
  // Constants of lunar_lander.py. Lengths in Gymnasium's pixels are divided by kScale.
  static constexpr double kFps = 50.0;
  static constexpr double kScale = 30.0;
  static constexpr double kMainEnginePower = 13.0;
  static constexpr double kSideEnginePower = 0.6;
  static constexpr double kInitialRandom = 1000.0;
  static constexpr double kLegAway = 20.0;
  static constexpr double kLegDown = 18.0;
  static constexpr double kLegW = 2.0, kLegH = 8.0;
  static constexpr double kLegSpringTorque = 40.0;
  static constexpr double kSideEngineHeight = 14.0;
  static constexpr double kSideEngineAway = 12.0;
  static constexpr double kMainEngineYLocation = 4.0;
  static constexpr double kViewportW = 600.0, kViewportH = 400.0;
  /// The world is kViewportW / kScale wide and kViewportH / kScale high.
  static constexpr double kWidth = kViewportW / kScale;
  static constexpr double kHeight = kViewportH / kScale;
  static constexpr int kChunks = 11;
  static constexpr int kVelocityIterations = 6 * 30;
  static constexpr int kPositionIterations = 2 * 30;

  explicit LunarLanderWorld(const LunarLanderPhysics& physics);
  ~LunarLanderWorld();
  LunarLanderWorld(const LunarLanderWorld&) = delete;
  LunarLanderWorld& operator=(const LunarLanderWorld&) = delete;

  /// Builds a fresh world: terrain, the lander with its random initial push, its legs, and (with
  /// wind) the wind and turbulence phases, all drawn from `rng` in Gymnasium's order.
  void reset(Rng& rng);

  /// One physics step of 1/kFps s: wind (while no leg touches), then the engines' impulses with
  /// their random dispersion (two draws from `rng` every step, fired or not, as in Gymnasium).
  void step(const LanderEngines& engines, Rng& rng);

  /// Lander body state in world units.
  BodyKinematics lander() const;
  /// Moves the lander to `k` and carries the legs with it rigidly (joint angles kept); every
  /// body gets the velocity of that rigid motion and is woken. Contacts are re-evaluated at the
  /// next step; the contact flags keep their values until then.
  void place_lander(const BodyKinematics& k);

  /// Whether leg i (0: the leg built with i = -1 in Gymnasium, on the lander's +x side at the
  /// start; 1: the other) is touching the ground, as Gymnasium's contact listener tracks it.
  bool leg_contact(int i) const { return leg_contact_.at(static_cast<std::size_t>(i)); }
  /// Whether the lander body has touched the ground since reset (Gymnasium's game_over).
  bool lander_touched() const { return lander_touched_; }
  /// Whether Box2D still simulates the lander (false once it has come to rest and slept).
  bool lander_awake() const;

  const LunarLanderPhysics& physics() const { return physics_; }
  double helipad_x1() const { return helipad_x1_; }
  double helipad_x2() const { return helipad_x2_; }
  double helipad_y() const { return helipad_y_; }

  // For renderers. Owned by this world; valid until the next reset().
  /// The moon's surface: one quad per chunk (two ground points and the sky above them), as
  /// Gymnasium's sky_polys.
  const std::vector<Polygon>& terrain_polygons() const { return terrain_polygons_; }
  /// The lander's hull and legs as world-space polygons.
  Polygon lander_polygon() const;
  Polygon leg_polygon(int i) const;
  const b2World* world() const { return world_.get(); }
  const b2Body* lander_body() const { return lander_; }
  const b2Body* leg_body(int i) const { return legs_.at(static_cast<std::size_t>(i)); }
  const b2Body* moon_body() const { return moon_; }

 private:
  class ContactListener;

  void build_terrain(Rng& rng);
  void build_lander(Rng& rng);

  LunarLanderPhysics physics_;
  std::unique_ptr<ContactListener> listener_;
  std::unique_ptr<b2World> world_;
  b2Body* moon_ = nullptr;
  b2Body* lander_ = nullptr;
  std::array<b2Body*, 2> legs_{};
  std::array<b2RevoluteJoint*, 2> leg_joints_{};
  std::array<bool, 2> leg_contact_{};
  bool lander_touched_ = false;
  std::int64_t wind_index_ = 0;
  std::int64_t torque_index_ = 0;
  double helipad_x1_ = 0, helipad_x2_ = 0, helipad_y_ = 0;
  std::vector<Polygon> terrain_polygons_;
};

}  // namespace trustrl::envs
