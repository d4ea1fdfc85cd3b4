#include "envs/box2d/box2d_helpers.h"

#include <cmath>

namespace trustrl::envs {

void prepare_box2d() {
  // A function-local static is initialized exactly once, even with concurrent callers.
  static const bool ready = [] {
    b2World world(b2Vec2(0.0f, -10.0f));
    b2BodyDef def;
    def.type = b2_dynamicBody;
    b2CircleShape circle;
    circle.m_radius = 1.0f;
    world.CreateBody(&def)->CreateFixture(&circle, 1.0f);
    world.CreateBody(&def)->CreateFixture(&circle, 1.0f);
    world.Step(0.01f, 1, 1);  // the overlapping circles make Box2D's first contact
    return true;
  }();
  (void)ready;
}

b2RevoluteJoint* create_revolute_joint(b2World& world, b2RevoluteJointDef& def) {
  def.referenceAngle = def.bodyB->GetAngle() - def.bodyA->GetAngle();
  return static_cast<b2RevoluteJoint*>(world.CreateJoint(&def));
}

BodyKinematics kinematics_of(const b2Body& body) {
  const b2Vec2 p = body.GetPosition();
  const b2Vec2 v = body.GetLinearVelocity();
  return {p.x, p.y, body.GetAngle(), v.x, v.y, body.GetAngularVelocity()};
}

Polygon world_polygon(const b2Body& body) {
  Polygon out;
  for (const b2Fixture* f = body.GetFixtureList(); f != nullptr; f = f->GetNext()) {
    if (f->GetType() != b2Shape::e_polygon) continue;
    const auto* shape = static_cast<const b2PolygonShape*>(f->GetShape());
    out.reserve(static_cast<std::size_t>(shape->m_count));
    for (int i = 0; i < shape->m_count; ++i) {
      const b2Vec2 p = b2Mul(body.GetTransform(), shape->m_vertices[i]);
      out.push_back({p.x, p.y});
    }
    break;
  }
  return out;
}

void place_rigidly(std::span<b2Body* const> bodies, const BodyKinematics& target) {
  if (bodies.empty()) return;
  const b2Transform old_root = bodies[0]->GetTransform();
  const float old_root_angle = bodies[0]->GetAngle();
  const b2Transform new_root(b2Vec2(static_cast<float>(target.x), static_cast<float>(target.y)),
                             b2Rot(static_cast<float>(target.angle)));
  for (b2Body* body : bodies) {
    // The body's pose relative to the root, re-applied at the root's new pose. Angles are set
    // unwrapped (a rotation's GetAngle() would fold them into [-pi, pi]).
    const b2Transform placed = b2Mul(new_root, b2MulT(old_root, body->GetTransform()));
    body->SetTransform(placed.p,
                       static_cast<float>(target.angle) + (body->GetAngle() - old_root_angle));
  }
  // Velocities of a rigid motion: v + w x r, with v the root's centre-of-mass velocity (what
  // GetLinearVelocity() reports) and r from the root's centre of mass.
  const b2Vec2 v(static_cast<float>(target.vx), static_cast<float>(target.vy));
  const auto w = static_cast<float>(target.angular_velocity);
  const b2Vec2 root_center = bodies[0]->GetWorldCenter();
  for (b2Body* body : bodies) {
    body->SetLinearVelocity(v + b2Cross(w, body->GetWorldCenter() - root_center));
    body->SetAngularVelocity(w);
    body->SetAwake(true);
  }
}

}  // namespace trustrl::envs
