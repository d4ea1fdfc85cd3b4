#include "envs/box2d/walker_body.h"

#include <algorithm>
#include <cmath>

#include "envs/box2d/box2d_helpers.h"

namespace trustrl::envs {

namespace {

// HULL_POLY of bipedal_walker.py, in pixels.
constexpr std::array<std::array<double, 2>, 5> kHullPoly{
    {{-30, +9}, {+6, +9}, {+34, +1}, {+34, -8}, {-30, -8}}};

b2Vec2 vec(double x, double y) { return b2Vec2(static_cast<float>(x), static_cast<float>(y)); }

// Gymnasium v3's LidarCallback: skips fixtures outside the lidar's categories (-1: ignore and go
// on) and clips the ray at every hit (returning the fraction), so the last report is the closest.
class ClosestHit final : public b2RayCastCallback {
 public:
  explicit ClosestHit(std::uint16_t mask) : mask_(mask) {}
  float ReportFixture(b2Fixture* fixture, const b2Vec2&, const b2Vec2&, float fraction) override {
    if ((fixture->GetFilterData().categoryBits & mask_) == 0) return -1.0f;
    fraction_ = fraction;
    return fraction;
  }
  float fraction() const { return fraction_; }

 private:
  std::uint16_t mask_;
  float fraction_ = 1.0f;
};

float sign(float a) { return a > 0 ? 1.0f : (a < 0 ? -1.0f : 0.0f); }

}  // namespace

void WalkerBody::build(b2World& world, double x, double y, double push_x,
                       const WalkerBodyConfig& config) {
  config_ = config;
  ground_contact_ = {};
  lidar_ = {};

  b2BodyDef hull_def;
  hull_def.type = b2_dynamicBody;
  hull_def.position = vec(x, y);
  hull_ = world.CreateBody(&hull_def);
  std::array<b2Vec2, kHullPoly.size()> vertices;
  for (std::size_t i = 0; i < kHullPoly.size(); ++i)
    vertices[i] = vec(kHullPoly[i][0] / kScale, kHullPoly[i][1] / kScale);
  b2PolygonShape hull_shape;
  hull_shape.Set(vertices.data(), static_cast<int32>(vertices.size()));
  b2FixtureDef hull_fixture;  // HULL_FD
  hull_fixture.shape = &hull_shape;
  hull_fixture.density = 5.0f;
  hull_fixture.friction = 0.1f;
  hull_fixture.filter.categoryBits = config.hull_category;
  hull_fixture.filter.maskBits = config.hull_mask;
  hull_fixture.filter.groupIndex = config.group_index;
  hull_fixture.restitution = 0.0f;
  hull_->CreateFixture(&hull_fixture);
  hull_->ApplyForceToCenter(vec(push_x, 0.0), true);

  b2PolygonShape upper_shape;  // LEG_FD
  upper_shape.SetAsBox(static_cast<float>(kLegW / 2), static_cast<float>(kLegH / 2));
  b2PolygonShape lower_shape;  // LOWER_FD
  lower_shape.SetAsBox(static_cast<float>(0.8 * kLegW / 2), static_cast<float>(kLegH / 2));

  for (int side : {-1, +1}) {
    const std::size_t leg = side == -1 ? 0 : 1;

    b2BodyDef upper_def;
    upper_def.type = b2_dynamicBody;
    upper_def.position = vec(x, y - kLegH / 2 - kLegDown);
    upper_def.angle = static_cast<float>(side * 0.05);
    b2Body* upper = world.CreateBody(&upper_def);
    b2FixtureDef upper_fixture;
    upper_fixture.shape = &upper_shape;
    upper_fixture.density = 1.0f;
    upper_fixture.restitution = 0.0f;
    upper_fixture.filter.categoryBits = config.leg_category;
    upper_fixture.filter.maskBits = config.leg_mask;
    upper_fixture.filter.groupIndex = config.group_index;
    upper->CreateFixture(&upper_fixture);

    b2RevoluteJointDef hip;
    hip.bodyA = hull_;
    hip.bodyB = upper;
    hip.localAnchorA = vec(0, kLegDown);
    hip.localAnchorB = vec(0, kLegH / 2);
    hip.enableMotor = true;
    hip.enableLimit = true;
    hip.maxMotorTorque = static_cast<float>(kMotorsTorque);
    hip.motorSpeed = static_cast<float>(side);
    hip.lowerAngle = -0.8f;
    hip.upperAngle = 1.1f;
    segments_[2 * leg] = upper;
    joints_[2 * leg] = create_revolute_joint(world, hip);

    b2BodyDef lower_def;
    lower_def.type = b2_dynamicBody;
    lower_def.position = vec(x, y - kLegH * 3 / 2 - kLegDown);
    lower_def.angle = static_cast<float>(side * 0.05);
    b2Body* lower = world.CreateBody(&lower_def);
    b2FixtureDef lower_fixture;
    lower_fixture.shape = &lower_shape;
    lower_fixture.density = 1.0f;
    lower_fixture.restitution = 0.0f;
    lower_fixture.filter.categoryBits = config.leg_category;
    lower_fixture.filter.maskBits = config.leg_mask;
    lower_fixture.filter.groupIndex = config.group_index;
    lower->CreateFixture(&lower_fixture);

    b2RevoluteJointDef knee;
    knee.bodyA = upper;
    knee.bodyB = lower;
    knee.localAnchorA = vec(0, -kLegH / 2);
    knee.localAnchorB = vec(0, kLegH / 2);
    knee.enableMotor = true;
    knee.enableLimit = true;
    knee.maxMotorTorque = static_cast<float>(kMotorsTorque);
    knee.motorSpeed = 1.0f;
    knee.lowerAngle = -1.6f;
    knee.upperAngle = -0.1f;
    segments_[2 * leg + 1] = lower;
    joints_[2 * leg + 1] = create_revolute_joint(world, knee);
  }
}

void WalkerBody::destroy(b2World& world) {
  if (hull_ == nullptr) return;
  // Box2D destroys the joints with the bodies. hull_ is cleared first so that the EndContact
  // calls Box2D makes while the bodies go are ignored by on_contact().
  joints_ = {};
  b2Body* hull = hull_;
  hull_ = nullptr;
  world.DestroyBody(hull);
  for (b2Body*& s : segments_) {
    world.DestroyBody(s);
    s = nullptr;
  }
  ground_contact_ = {};
}

void WalkerBody::apply_action(std::span<const float> action) {
  for (int j = 0; j < kNumJoints; ++j) {
    const float a = std::clamp(action[static_cast<std::size_t>(j)], -1.0f, 1.0f);
    const double speed = (j % 2 == 0) ? kSpeedHip : kSpeedKnee;
    b2RevoluteJoint* joint = joints_[static_cast<std::size_t>(j)];
    joint->SetMotorSpeed(static_cast<float>(speed * sign(a)));
    joint->SetMaxMotorTorque(static_cast<float>(kMotorsTorque * std::fabs(a)));
    apply_joint_limit_rule(*joint, config_.joint_limits);
  }
  // Box2D 2.4 wakes the bodies only when a motor setting changes; 2.3, which Gymnasium uses,
  // woke them on every SetMotorSpeed call, so the walker never sleeps there. Do the same.
  hull_->SetAwake(true);
  for (b2Body* s : segments_) s->SetAwake(true);
}

void WalkerBody::scan_lidar(const b2World& world) {
  const b2Vec2 pos = hull_->GetPosition();
  for (int i = 0; i < kNumLidar; ++i) {
    LidarRay& ray = lidar_[static_cast<std::size_t>(i)];
    // Fanned from straight down (i = 0) forward to 1.35 rad.
    const double a = 1.5 * i / 10.0;
    ray.p1 = {pos.x, pos.y};
    ray.p2 = {pos.x + std::sin(a) * kLidarRange, pos.y - std::cos(a) * kLidarRange};
    ClosestHit hit(config_.lidar_mask);
    world.RayCast(&hit, pos, vec(ray.p2.x, ray.p2.y));
    ray.fraction = hit.fraction();
  }
}

void WalkerBody::state(std::span<double, kStateDim> out) const {
  const b2Vec2 vel = hull_->GetLinearVelocity();
  out[0] = hull_->GetAngle();  // normally up to 0.5, more is possible
  out[1] = 2.0 * hull_->GetAngularVelocity() / kFps;
  out[2] = 0.3 * vel.x * (kViewportW / kScale) / kFps;  // normalized to roughly -1..1
  out[3] = 0.3 * vel.y * (kViewportH / kScale) / kFps;
  for (std::size_t leg = 0; leg < 2; ++leg) {
    const b2RevoluteJoint* hip = joints_[2 * leg];
    const b2RevoluteJoint* knee = joints_[2 * leg + 1];
    const std::size_t base = 4 + 5 * leg;
    out[base + 0] = hip->GetJointAngle();
    out[base + 1] = hip->GetJointSpeed() / kSpeedHip;
    out[base + 2] = static_cast<double>(knee->GetJointAngle()) + 1.0;
    out[base + 3] = knee->GetJointSpeed() / kSpeedKnee;
    out[base + 4] = ground_contact_[leg] ? 1.0 : 0.0;
  }
  for (std::size_t i = 0; i < kNumLidar; ++i) out[14 + i] = lidar_[i].fraction;
}

void WalkerBody::on_contact(const b2Body* a, const b2Body* b, bool begin) {
  if (hull_ == nullptr) return;
  for (std::size_t leg = 0; leg < 2; ++leg) {
    const b2Body* lower = segments_[2 * leg + 1];
    if (a == lower || b == lower) ground_contact_[leg] = begin;
  }
}

void WalkerBody::place(const BodyKinematics& k) {
  const std::array<b2Body*, 5> bodies{hull_, segments_[0], segments_[1], segments_[2],
                                      segments_[3]};
  place_rigidly(bodies, k);
}

BodyKinematics WalkerBody::hull_kinematics() const { return kinematics_of(*hull_); }

Polygon WalkerBody::hull_polygon() const { return world_polygon(*hull_); }

Polygon WalkerBody::segment_polygon(int i) const {
  return world_polygon(*segments_.at(static_cast<std::size_t>(i)));
}

}  // namespace trustrl::envs
