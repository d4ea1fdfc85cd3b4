#pragma once
// Small Box2D conveniences shared by the Box2D worlds (internal to envs/: includes Box2D).

#include <box2d/box2d.h>

#include <span>

#include "envs/box2d/geometry.h"

namespace trustrl::envs {

/// Call before building a b2World that may be stepped on another thread. Box2D 2.4 fills its
/// contact-type table lazily, unguarded, on the first contact it ever creates
/// (b2Contact::s_initialized); two worlds stepping concurrently could race on it. This creates
/// that first contact once, thread-safely. (Box2D's other globals, b2_gjkCalls and friends, are
/// statistics counters the simulation never reads.)
void prepare_box2d();

/// Creates the revolute joint `def` describes with its reference angle set, as pybox2d's
/// revoluteJointDef(bodyA=..., bodyB=...) sets it unasked: bodyB's angle minus bodyA's at
/// creation. Box2D's own default is 0, which shifts the joint angle, its limits and the motor's
/// rest wherever the two bodies start at different angles (LunarLander's legs, the walker hips).
b2RevoluteJoint* create_revolute_joint(b2World& world, b2RevoluteJointDef& def);

/// Kinematics of a body, converted to double.
BodyKinematics kinematics_of(const b2Body& body);

/// The body's first polygon fixture in world coordinates (empty if it has none).
Polygon world_polygon(const b2Body& body);

/// Moves `bodies` rigidly so that bodies[0] ends up at `target`'s pose, keeping every body's pose
/// relative to bodies[0], and gives each the velocity of that rigid motion (target.vx, vy is the
/// velocity of bodies[0]'s centre of mass, as b2Body::GetLinearVelocity reports it). Wakes them.
void place_rigidly(std::span<b2Body* const> bodies, const BodyKinematics& target);

}  // namespace trustrl::envs
