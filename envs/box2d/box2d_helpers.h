#pragma once
// Small Box2D conveniences shared by the Box2D worlds (internal to envs/: includes Box2D).

#include <span>

#include <box2d/box2d.h>

#include "envs/box2d/geometry.h"

namespace trustrl::envs {

/// Kinematics of a body, converted to double.
BodyKinematics kinematics_of(const b2Body& body);

/// The body's first polygon fixture in world coordinates (empty if it has none).
Polygon world_polygon(const b2Body& body);

/// Moves `bodies` rigidly so that bodies[0] ends up at `target`'s pose, keeping every body's pose
/// relative to bodies[0], and gives each the velocity of that rigid motion (target.vx, vy is the
/// velocity of bodies[0]'s centre of mass, as b2Body::GetLinearVelocity reports it). Wakes them.
void place_rigidly(std::span<b2Body* const> bodies, const BodyKinematics& target);

}  // namespace trustrl::envs
