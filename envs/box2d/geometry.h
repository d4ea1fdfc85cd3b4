#pragma once
// Plain geometry the Box2D worlds hand to renderers and tests, so that callers need not include
// Box2D: points in world units (metres; Gymnasium's pixels divided by SCALE = 30).

#include <vector>

namespace trustrl::envs {

struct Vec2 {
  double x = 0;
  double y = 0;
};

/// A closed polygon, vertices in order (the last joins the first).
using Polygon = std::vector<Vec2>;

/// Position, orientation and velocities of one rigid body, world units (m, rad, m/s, rad/s).
struct BodyKinematics {
  double x = 0, y = 0, angle = 0;
  double vx = 0, vy = 0, angular_velocity = 0;
};

}  // namespace trustrl::envs
