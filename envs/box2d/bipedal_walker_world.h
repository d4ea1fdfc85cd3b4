#pragma once
// The physics of BipedalWalker: Gymnasium 1.x box2d/bipedal_walker.py (Oleg Klimov), on Box2D
// 2.4: terrain, one walker, its contacts and lidar. The task (reward, termination) lives in
// bipedal_walker.h.
//
// Every reset() builds a fresh b2World. Gymnasium's BipedalWalker destroys the bodies and keeps
// the world, which carries broad-phase and allocator history from one episode into the next
// (the non-determinism LunarLander v3 fixed with a fresh world, Gymnasium issue #728); a fresh
// world makes each episode depend only on its seed.

#include <memory>
#include <span>
#include <vector>

#include "core/rng.h"
#include "envs/box2d/walker_body.h"
#include "envs/box2d/walker_terrain.h"

class b2World;

namespace trustrl::envs {

/// Box2D settings of the walker's world. The defaults are Gymnasium's iteration counts and the
/// limit rule of the Box2D trustrl links; other values serve studies of what the physics changes.
struct WalkerPhysics {
  int velocity_iterations = 6 * 30;
  int position_iterations = 2 * 30;
  JointLimitRule joint_limits = JointLimitRule::kBox2D24;
};

class BipedalWalkerWorld {
 public:
  static constexpr double kFps = 50.0;
  static constexpr double kGravity = -10.0;
  static constexpr int kTerrainLength = 200;
  static constexpr int kTerrainStartpad = 20;
  /// Where the walker starts (TERRAIN_STEP * TERRAIN_STARTPAD / 2, TERRAIN_HEIGHT + 2 LEG_H).
  static constexpr double kInitX = WalkerTerrain::kStep * kTerrainStartpad / 2;
  static constexpr double kInitY = WalkerTerrain::kHeight + 2 * WalkerBody::kLegH;
  /// Past this x the course is finished: (TERRAIN_LENGTH - TERRAIN_GRASS) * TERRAIN_STEP.
  static constexpr double kFinishX =
      (kTerrainLength - WalkerTerrain::kGrass) * WalkerTerrain::kStep;

  explicit BipedalWalkerWorld(bool hardcore, WalkerPhysics physics = {});
  ~BipedalWalkerWorld();
  BipedalWalkerWorld(const BipedalWalkerWorld&) = delete;
  BipedalWalkerWorld& operator=(const BipedalWalkerWorld&) = delete;

  /// Builds a fresh world: terrain, clouds, then the walker with its random push, drawing from
  /// `rng` in Gymnasium's order.
  void reset(Rng& rng);
  /// Sets the motors from `action` (4 values, clipped to [-1, 1]), steps 1/kFps s, scans lidar.
  void step(std::span<const float> action);

  bool hardcore() const { return hardcore_; }
  const WalkerPhysics& physics() const { return physics_; }
  const WalkerBody& walker() const { return walker_; }
  /// Whether the hull has touched the ground since reset (Gymnasium's game_over).
  bool hull_touched() const { return hull_touched_; }
  /// Moves the walker rigidly (see WalkerBody::place) and casts its lidar again from there, so
  /// that the next observation sees the ground under its new place.
  void place_walker(const BodyKinematics& hull) {
    walker_.place(hull);
    walker_.scan_lidar(*world_);
  }

  // For renderers. Owned by this world; valid until the next reset().
  const WalkerTerrain& terrain() const { return terrain_; }
  const std::vector<Cloud>& clouds() const { return clouds_; }
  const b2World* world() const { return world_.get(); }
  bool built() const { return world_ != nullptr; }

 private:
  class ContactListener;

  bool hardcore_;
  WalkerPhysics physics_;
  std::unique_ptr<ContactListener> listener_;
  std::unique_ptr<b2World> world_;
  WalkerBody walker_;
  WalkerTerrain terrain_;
  std::vector<Cloud> clouds_;
  bool hull_touched_ = false;
};

}  // namespace trustrl::envs
