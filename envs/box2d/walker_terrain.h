#pragma once
// The walkers' ground: Gymnasium 1.x box2d/bipedal_walker.py's _generate_terrain (grass, and in
// hardcore mode stumps, stairs and pits) and _generate_clouds, drawn from the env's RNG. Shared
// by BipedalWalker and multi-walker worlds (which use a longer track).

#include <vector>

#include "core/rng.h"
#include "envs/box2d/geometry.h"

class b2World;

namespace trustrl::envs {

struct WalkerTerrainConfig {
  /// Track length in terrain steps (BipedalWalker: 200).
  int length = 200;
  /// Flat steps at the start before the grass gets bumpy (BipedalWalker: 20).
  int startpad = 20;
  /// Add stumps, stairs and pits.
  bool hardcore = false;
};

struct WalkerTerrain {
  // Constants of bipedal_walker.py.
  static constexpr double kScale = 30.0;
  static constexpr double kStep = 14.0 / kScale;
  static constexpr double kHeight = 400.0 / kScale / 4;
  static constexpr int kGrass = 10;
  static constexpr double kFriction = 2.5;

  /// The ground line: one point per terrain step (x[i] = i * kStep).
  std::vector<double> x, y;
  /// Stumps, stair steps and pit walls, in creation order.
  std::vector<Polygon> obstacles;
};

/// Creates the terrain's static bodies in `world` (ground category 1, friction 2.5) and returns
/// its outline. Draws from `rng` exactly in Gymnasium's order.
WalkerTerrain build_walker_terrain(b2World& world, Rng& rng, const WalkerTerrainConfig& config);

/// Background clouds (decoration only, no bodies): polygon and x extent.
struct Cloud {
  Polygon polygon;
  double x1 = 0, x2 = 0;
};

/// Gymnasium's length / 20 clouds, drawn from `rng` after the terrain.
std::vector<Cloud> make_walker_clouds(Rng& rng, int terrain_length);

}  // namespace trustrl::envs
