#pragma once
// The physics of PettingZoo's MultiWalker (sisl/multiwalker/multiwalker_base.py, v9): N
// bipedal walkers (WalkerBody) side by side on a walker track (walker_terrain.h), a long package
// lying across their hulls. The task (observations, rewards, which walkers are done) lives in
// multiwalker.h.
//
// Everything a reset builds, in PettingZoo's order: the package, the terrain (grass only;
// MultiWalker has no hardcore mode), the clouds, then the walkers left to right, each pushed
// along x by a random force. Collision filtering is PettingZoo's: every walker body and the
// ground are in Box2D's default category 1 with the default mask, so walkers collide with each
// other and with the package; each walker's own parts share the negative group -int(start x) and
// never collide with each other; the package is category 4, which the lidar ignores (a ray
// stops at category 1: the ground, other walkers, and the walker's own legs).
//
// Contacts, as PettingZoo's ContactDetector sees them: a hull touching anything but the package
// marks its walker fallen; the package touching anything but a hull (the ground, a leg) is a
// package drop; lower legs set and clear their ground flags on any contact.
//
// Every reset() builds a fresh b2World (PettingZoo's reset also makes a new world), so an episode
// depends only on the draws from the RNG.

#include <memory>
#include <span>
#include <vector>

#include "core/rng.h"
#include "envs/box2d/walker_body.h"
#include "envs/box2d/walker_terrain.h"

class b2Body;
class b2World;

namespace trustrl::envs {

class MultiWalkerWorld {
 public:
  static constexpr double kFps = 50.0;
  static constexpr double kGravity = -10.0;
  static constexpr int kVelocityIterations = 6 * 30;
  static constexpr int kPositionIterations = 2 * 30;
  static constexpr int kTerrainStartpad = 20;
  /// Distance between neighbouring walkers at the start, in terrain steps (WALKER_SEPERATION).
  static constexpr int kWalkerSeparation = 10;
  /// The package's length in pixels for 1.75 walkers; it grows with the walker count.
  static constexpr double kPackageLengthPx = 240.0;
  static constexpr double kPackageHalfHeight = 5.0 / WalkerBody::kScale;
  /// The first walker's start: TERRAIN_STEP * TERRAIN_STARTPAD / 2, TERRAIN_HEIGHT + 2 LEG_H.
  static constexpr double kInitX = WalkerTerrain::kStep * kTerrainStartpad / 2;
  static constexpr double kInitY = WalkerTerrain::kHeight + 2 * WalkerBody::kLegH;
  /// The package's start height: TERRAIN_HEIGHT + 3 LEG_H.
  static constexpr double kPackageInitY = WalkerTerrain::kHeight + 3 * WalkerBody::kLegH;

  /// The shortest track (in terrain steps) for `n_walkers`: the last walker starts at step
  /// 10 n, and the track goes on for at least 20 more steps.
  static int min_terrain_length(int n_walkers) { return kWalkerSeparation * n_walkers + 20; }

  /// Throws Error for n_walkers < 1 or a terrain shorter than min_terrain_length().
  /// `joint_limits`: how the walkers' joint limits act within a step (joint_limit_rule.h).
  MultiWalkerWorld(int n_walkers, int terrain_length,
                   JointLimitRule joint_limits = JointLimitRule::kBox2D24);
  ~MultiWalkerWorld();
  MultiWalkerWorld(const MultiWalkerWorld&) = delete;
  MultiWalkerWorld& operator=(const MultiWalkerWorld&) = delete;

  int n_walkers() const { return static_cast<int>(walkers_.size()); }
  int terrain_length() const { return terrain_length_; }
  JointLimitRule joint_limits() const { return joint_limits_; }
  /// package_scale = n / 1.75: the package is 240 px * package_scale long.
  double package_scale() const { return n_walkers() / 1.75; }
  /// The package's length in metres, the unit of the walkers' relative-position observations.
  double package_length() const { return kPackageLengthPx / WalkerBody::kScale * package_scale(); }
  /// Where walker i starts: kInitX + 10 i terrain steps.
  double start_x(int i) const;
  /// Past this package x the course is finished: (terrain_length - TERRAIN_GRASS) * TERRAIN_STEP.
  double finish_x() const {
    return (terrain_length_ - WalkerTerrain::kGrass) * WalkerTerrain::kStep;
  }

  /// Builds a fresh world (see the file comment), drawing the terrain, the clouds and then one
  /// push per walker from `rng`.
  void reset(Rng& rng);
  /// Sets walker i's motors from `action` (4 values, clipped to [-1, 1]). Not for removed walkers.
  void apply_action(int walker, std::span<const float> action);
  /// Steps 1/kFps s, then scans the lidar of every walker still present.
  void step();
  /// Casts the lidar of every walker still present (after placing bodies by hand).
  void scan_lidar();
  /// Destroys walker i's bodies (PettingZoo's remove_on_fall); it stays removed until reset().
  void remove_walker(int walker);

  bool built() const { return world_ != nullptr; }
  const WalkerBody& walker(int i) const { return walkers_.at(static_cast<std::size_t>(i)); }
  /// Whether walker i still has bodies (not removed).
  bool present(int i) const { return walker(i).built(); }
  /// Whether walker i's hull has touched anything but the package since reset (kept once set).
  bool fallen(int i) const { return fallen_.at(static_cast<std::size_t>(i)) != 0; }
  /// Whether the package has touched anything but a hull since reset (PettingZoo's game_over).
  bool package_dropped() const { return package_dropped_; }
  BodyKinematics package_kinematics() const;

  /// Moves walker i rigidly (see WalkerBody::place) or the package, for tests and set_state();
  /// scan_lidar() afterwards to update what the walkers see.
  void place_walker(int i, const BodyKinematics& hull);
  void place_package(const BodyKinematics& k);
  /// Overrides the contact flags (set_state()).
  void set_fallen(int i, bool fallen) { fallen_.at(static_cast<std::size_t>(i)) = fallen ? 1 : 0; }
  void set_package_dropped(bool dropped) { package_dropped_ = dropped; }

  // For renderers. Owned by this world; valid until the next reset().
  const WalkerTerrain& terrain() const { return terrain_; }
  const std::vector<Cloud>& clouds() const { return clouds_; }
  Polygon package_polygon() const;

 private:
  class ContactListener;

  void build_package();
  bool is_any_hull(const b2Body* body) const;

  int terrain_length_;
  JointLimitRule joint_limits_;
  std::unique_ptr<ContactListener> listener_;
  std::unique_ptr<b2World> world_;
  std::vector<WalkerBody> walkers_;
  b2Body* package_ = nullptr;
  WalkerTerrain terrain_;
  std::vector<Cloud> clouds_;
  std::vector<std::uint8_t> fallen_;
  bool package_dropped_ = false;
};

}  // namespace trustrl::envs
