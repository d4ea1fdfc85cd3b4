#pragma once
// Pictures of the walkers' world, shared by BipedalWalker and MultiWalker: the layout and colours
// of Gymnasium 1.x box2d/bipedal_walker.py render() (which PettingZoo's sisl/multiwalker
// multiwalker_base.py render() repeats at another scale). Everything is drawn in world
// coordinates (metres); the caller's camera decides what part of the track a frame shows.

#include <vector>

#include "envs/box2d/walker_body.h"
#include "envs/box2d/walker_terrain.h"
#include "envs/render/canvas.h"

namespace trustrl::envs {

/// What a frame shows: x from `left` (m) rightwards and y from 0 upwards, at `scale` pixels per
/// metre. The clouds are drawn `cloud_shift` metres to the right of where they were made
/// (Gymnasium: half the scroll, so that they drift by at half the walker's speed).
struct WalkerCamera {
  double left = 0.0;
  double scale = WalkerBody::kScale;
  double cloud_shift = 0.0;
};

/// Points the canvas at the camera's view.
void set_walker_camera(Canvas& canvas, const WalkerCamera& camera);

/// The backdrop, in Gymnasium's order: sky, clouds, the ground below the grass line. Clears the
/// whole canvas.
void draw_walker_backdrop(Canvas& canvas, const WalkerCamera& camera, const WalkerTerrain& terrain,
                          const std::vector<Cloud>& clouds);

/// The grass line (alternating greens) and the obstacles (white, grey outline), which Gymnasium
/// draws after the lidar and before the bodies.
void draw_walker_terrain(Canvas& canvas, const WalkerCamera& camera, const WalkerTerrain& terrain);

/// The walker's ten lidar rays of the last scan, red, each up to where it hit (or its full
/// range). Gymnasium draws one ray per frame, sweeping; a picture of a state shows all of them.
void draw_walker_lidar(Canvas& canvas, const WalkerBody& walker);

/// Legs (the first-built leg lighter and behind) and hull, filled with an outline.
void draw_walker(Canvas& canvas, const WalkerBody& walker);

/// The start flag at 3 terrain steps: a black pole 50/30 m high with a red pennant.
void draw_walker_start_flag(Canvas& canvas);

/// Fills a world polygon with `fill` and outlines it with `outline` (1 px): how Gymnasium's
/// renderers draw every Box2D body.
void draw_body_polygon(Canvas& canvas, const Polygon& polygon, Color fill, Color outline);

}  // namespace trustrl::envs
