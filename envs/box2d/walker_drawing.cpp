#include "envs/box2d/walker_drawing.h"

#include <algorithm>

namespace trustrl::envs {

namespace {

// Colours of bipedal_walker.py (and multiwalker_base.py).
constexpr Color kSky{215, 215, 255};
constexpr Color kCloud{255, 255, 255};
constexpr Color kGround{102, 153, 76};
constexpr Color kGrassEven{76, 255, 76};
constexpr Color kGrassOdd{76, 204, 76};
constexpr Color kObstacleFill{255, 255, 255};
constexpr Color kObstacleOutline{153, 153, 153};
constexpr Color kLidar{255, 0, 0};
constexpr Color kHullFill{127, 51, 229};
constexpr Color kHullOutline{76, 76, 127};
constexpr Color kFlagPole{0, 0, 0};
constexpr Color kFlag{230, 51, 0};

// Legs: color1 = (153 - 25 i, 76 - 25 i, 127 - 25 i), color2 = (102 - 25 i, 51 - 25 i,
// 76 - 25 i), with i = -1 for the first-built leg (segments 0, 1) and +1 for the other.
Color leg_fill(int side) {
  return {static_cast<std::uint8_t>(153 - 25 * side), static_cast<std::uint8_t>(76 - 25 * side),
          static_cast<std::uint8_t>(127 - 25 * side)};
}
Color leg_outline(int side) {
  return {static_cast<std::uint8_t>(102 - 25 * side), static_cast<std::uint8_t>(51 - 25 * side),
          static_cast<std::uint8_t>(76 - 25 * side)};
}

Point point(const Vec2& v) { return {v.x, v.y}; }

double view_width(const Canvas& canvas, const WalkerCamera& camera) {
  return canvas.width() / camera.scale;
}

}  // namespace

void set_walker_camera(Canvas& canvas, const WalkerCamera& camera) {
  canvas.set_transform(Transform::view(camera.left, 0.0, camera.scale));
}

void draw_body_polygon(Canvas& canvas, const Polygon& polygon, Color fill, Color outline) {
  if (polygon.size() < 3) return;
  std::vector<Point> corners;
  corners.reserve(polygon.size());
  for (const Vec2& v : polygon) corners.push_back(point(v));
  canvas.fill_polygon(corners, fill);
  canvas.stroke_polygon(corners, outline, 1.0);
}

void draw_walker_backdrop(Canvas& canvas, const WalkerCamera& camera, const WalkerTerrain& terrain,
                          const std::vector<Cloud>& clouds) {
  set_walker_camera(canvas, camera);
  canvas.fill(kSky);
  const double left = camera.left, right = camera.left + view_width(canvas, camera);
  std::vector<Point> corners;
  for (const Cloud& cloud : clouds) {
    if (cloud.x2 + camera.cloud_shift < left || cloud.x1 + camera.cloud_shift > right) continue;
    corners.clear();
    for (const Vec2& v : cloud.polygon) corners.push_back({v.x + camera.cloud_shift, v.y});
    canvas.fill_polygon(corners, kCloud);
  }
  // The ground below the grass line down to y = 0: Gymnasium fills one quad per terrain step;
  // one polygon over the visible steps looks the same without anti-aliased seams between quads.
  std::vector<Point> ground;
  for (std::size_t i = 0; i < terrain.x.size(); ++i) {
    const bool next_visible = i + 1 < terrain.x.size() && terrain.x[i + 1] >= left;
    const bool prev_visible = i > 0 && terrain.x[i - 1] <= right;
    if (terrain.x[i] < left && !next_visible) continue;
    if (terrain.x[i] > right && !prev_visible) continue;
    ground.push_back({terrain.x[i], terrain.y[i]});
  }
  if (ground.size() >= 2) {
    const double x_last = ground.back().x, x_first = ground.front().x;
    ground.push_back({x_last, 0.0});
    ground.push_back({x_first, 0.0});
    canvas.fill_polygon(ground, kGround);
  }
}

void draw_walker_terrain(Canvas& canvas, const WalkerCamera& camera, const WalkerTerrain& terrain) {
  set_walker_camera(canvas, camera);
  const double left = camera.left, right = camera.left + view_width(canvas, camera);
  for (std::size_t i = 0; i + 1 < terrain.x.size(); ++i) {
    if (terrain.x[i + 1] < left || terrain.x[i] > right) continue;
    canvas.line({terrain.x[i], terrain.y[i]}, {terrain.x[i + 1], terrain.y[i + 1]},
                i % 2 == 0 ? kGrassEven : kGrassOdd, 1.0);
  }
  for (const Polygon& obstacle : terrain.obstacles) {
    const auto [lo, hi] = std::minmax_element(
        obstacle.begin(), obstacle.end(), [](const Vec2& p, const Vec2& q) { return p.x < q.x; });
    if (hi->x < left || lo->x > right) continue;
    draw_body_polygon(canvas, obstacle, kObstacleFill, kObstacleOutline);
  }
}

void draw_walker_lidar(Canvas& canvas, const WalkerBody& walker) {
  if (!walker.built()) return;
  for (const LidarRay& ray : walker.lidar()) {
    const Point end{ray.p1.x + ray.fraction * (ray.p2.x - ray.p1.x),
                    ray.p1.y + ray.fraction * (ray.p2.y - ray.p1.y)};
    canvas.line(point(ray.p1), end, kLidar, 1.0);
  }
}

void draw_walker(Canvas& canvas, const WalkerBody& walker) {
  if (!walker.built()) return;
  for (int s = 0; s < 4; ++s) {
    const int side = s < 2 ? -1 : +1;
    draw_body_polygon(canvas, walker.segment_polygon(s), leg_fill(side), leg_outline(side));
  }
  draw_body_polygon(canvas, walker.hull_polygon(), kHullFill, kHullOutline);
}

void draw_walker_start_flag(Canvas& canvas) {
  // bipedal_walker.py: pole from TERRAIN_HEIGHT up 50 px, pennant 25 px long and 10 px high.
  const double px = 1.0 / WalkerBody::kScale;
  const double x = WalkerTerrain::kStep * 3;
  const double y1 = WalkerTerrain::kHeight, y2 = y1 + 50 * px;
  canvas.line({x, y1}, {x, y2}, kFlagPole, 1.0);
  const Point pennant[3] = {{x, y2}, {x, y2 - 10 * px}, {x + 25 * px, y2 - 5 * px}};
  canvas.fill_polygon(pennant, kFlag);
  canvas.stroke_polygon(pennant, kFlagPole, 1.0);
}

}  // namespace trustrl::envs
