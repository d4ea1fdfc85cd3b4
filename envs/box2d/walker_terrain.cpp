#include "envs/box2d/walker_terrain.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "envs/box2d/box2d_helpers.h"

namespace trustrl::envs {

namespace {

using T = WalkerTerrain;

enum class Ground { kGrass = 0, kStump = 1, kStairs = 2, kPit = 3, kCount = 4 };

b2Vec2 vec(double x, double y) { return b2Vec2(static_cast<float>(x), static_cast<float>(y)); }

// np_random.integers(low, high): high excluded.
std::int64_t integers(Rng& rng, std::int64_t low, std::int64_t high) {
  return low + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(high - low)));
}

double sign(double v) { return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0); }

// A static body with one polygon fixture (Gymnasium's fd_polygon: friction 2.5, category 1).
void add_polygon(b2World& world, const Polygon& poly, WalkerTerrain& terrain) {
  b2BodyDef def;
  b2Body* body = world.CreateBody(&def);
  b2Vec2 points[4];
  for (std::size_t i = 0; i < 4; ++i) points[i] = vec(poly[i].x, poly[i].y);
  b2PolygonShape shape;
  shape.Set(points, 4);
  b2FixtureDef fixture;
  fixture.shape = &shape;
  fixture.friction = static_cast<float>(T::kFriction);
  body->CreateFixture(&fixture);
  terrain.obstacles.push_back(poly);
}

}  // namespace

WalkerTerrain build_walker_terrain(b2World& world, Rng& rng, const WalkerTerrainConfig& config) {
  WalkerTerrain terrain;
  Ground state = Ground::kGrass;
  double velocity = 0.0;
  double y = T::kHeight;
  std::int64_t counter = config.startpad;
  bool oneshot = false;
  std::int64_t stair_steps = 0, stair_width = 0, stair_height = 0;
  double original_y = 0.0;

  for (int i = 0; i < config.length; ++i) {
    const double x = i * T::kStep;
    terrain.x.push_back(x);

    if (state == Ground::kGrass && !oneshot) {
      velocity = 0.8 * velocity + 0.01 * sign(T::kHeight - y);
      if (i > config.startpad) velocity += rng.uniform(-1.0, 1.0) / T::kScale;
      y += velocity;
    } else if (state == Ground::kPit && oneshot) {
      counter = integers(rng, 3, 5);
      const Polygon poly{
          {x, y}, {x + T::kStep, y}, {x + T::kStep, y - 4 * T::kStep}, {x, y - 4 * T::kStep}};
      add_polygon(world, poly, terrain);
      Polygon far = poly;
      for (Vec2& p : far) p.x += T::kStep * static_cast<double>(counter);
      add_polygon(world, far, terrain);
      counter += 2;
      original_y = y;
    } else if (state == Ground::kPit && !oneshot) {
      y = original_y;
      if (counter > 1) y -= 4 * T::kStep;
    } else if (state == Ground::kStump && oneshot) {
      counter = integers(rng, 1, 3);
      const auto c = static_cast<double>(counter);
      add_polygon(world,
                  {{x, y},
                   {x + c * T::kStep, y},
                   {x + c * T::kStep, y + c * T::kStep},
                   {x, y + c * T::kStep}},
                  terrain);
    } else if (state == Ground::kStairs && oneshot) {
      stair_height = rng.uniform() > 0.5 ? +1 : -1;
      stair_width = integers(rng, 4, 5);
      stair_steps = integers(rng, 3, 5);
      original_y = y;
      for (std::int64_t s = 0; s < stair_steps; ++s) {
        const auto x0 = static_cast<double>(s * stair_width),
                   x1 = static_cast<double>((1 + s) * stair_width);
        const auto top = static_cast<double>(s * stair_height),
                   bottom = static_cast<double>(-1 + s * stair_height);
        add_polygon(world,
                    {{x + x0 * T::kStep, y + top * T::kStep},
                     {x + x1 * T::kStep, y + top * T::kStep},
                     {x + x1 * T::kStep, y + bottom * T::kStep},
                     {x + x0 * T::kStep, y + bottom * T::kStep}},
                    terrain);
      }
      counter = stair_steps * stair_width;
    } else if (state == Ground::kStairs && !oneshot) {
      const auto s = static_cast<double>(stair_steps * stair_width - counter - stair_height);
      const double n = s / static_cast<double>(stair_width);
      y = original_y + (n * static_cast<double>(stair_height)) * T::kStep;
    }

    oneshot = false;
    terrain.y.push_back(y);
    counter -= 1;
    if (counter == 0) {
      counter = integers(rng, T::kGrass / 2, T::kGrass);
      if (state == Ground::kGrass && config.hardcore) {
        state = static_cast<Ground>(integers(rng, 1, static_cast<std::int64_t>(Ground::kCount)));
      } else {
        state = Ground::kGrass;
      }
      oneshot = true;
    }
  }

  // The ground line as two-sided edges (fd_edge: friction 2.5, category 1), after the obstacles
  // as in Gymnasium (creation order decides Box2D's contact order).
  for (std::size_t i = 0; i + 1 < terrain.x.size(); ++i) {
    b2BodyDef def;
    b2Body* body = world.CreateBody(&def);
    b2EdgeShape edge;
    edge.SetTwoSided(vec(terrain.x[i], terrain.y[i]), vec(terrain.x[i + 1], terrain.y[i + 1]));
    b2FixtureDef fixture;
    fixture.shape = &edge;
    fixture.friction = static_cast<float>(T::kFriction);
    body->CreateFixture(&fixture);
  }
  return terrain;
}

std::vector<Cloud> make_walker_clouds(Rng& rng, int terrain_length) {
  std::vector<Cloud> clouds;
  const double y = 400.0 / T::kScale * 3 / 4;
  for (int k = 0; k < terrain_length / 20; ++k) {
    const double x = rng.uniform(0.0, static_cast<double>(terrain_length)) * T::kStep;
    Cloud cloud;
    for (int a = 0; a < 5; ++a) {
      // Python evaluates the x jitter, then the y jitter, vertex by vertex.
      const double px =
          x + 15 * T::kStep * std::sin(3.14 * 2 * a / 5) + rng.uniform(0.0, 5 * T::kStep);
      const double py =
          y + 5 * T::kStep * std::cos(3.14 * 2 * a / 5) + rng.uniform(0.0, 5 * T::kStep);
      cloud.polygon.push_back({px, py});
    }
    const auto [lo, hi] =
        std::minmax_element(cloud.polygon.begin(), cloud.polygon.end(),
                            [](const Vec2& p, const Vec2& q) { return p.x < q.x; });
    cloud.x1 = lo->x;
    cloud.x2 = hi->x;
    clouds.push_back(std::move(cloud));
  }
  return clouds;
}

}  // namespace trustrl::envs
