#include "envs/box2d/lunar_lander_world.h"

#include <cmath>

#include "envs/box2d/box2d_helpers.h"

namespace trustrl::envs {

namespace {

constexpr double kPi = 3.14159265358979323846;

// LANDER_POLY of lunar_lander.py, in pixels.
constexpr std::array<std::array<double, 2>, 6> kLanderPoly{
    {{-14, +17}, {-17, 0}, {-17, -10}, {+17, -10}, {+17, 0}, {+14, +17}}};

// Collision categories of lunar_lander.py: the ground is category 1 (Box2D's default); lander and
// legs collide only with it.
constexpr std::uint16_t kGroundCategory = 0x0001;
constexpr std::uint16_t kLanderCategory = 0x0010;
constexpr std::uint16_t kLegCategory = 0x0020;

b2Vec2 vec(double x, double y) { return b2Vec2(static_cast<float>(x), static_cast<float>(y)); }

// tanh(sin(2 k t) + sin(pi k t)) with k = 0.01: Gymnasium's never-periodic wind profile.
double wind_profile(std::int64_t t) {
  const auto x = static_cast<double>(t);
  return std::tanh(std::sin(0.02 * x) + std::sin(kPi * 0.01 * x));
}

}  // namespace

// Gymnasium's ContactDetector: the lander touching anything ends the game; a leg's flag is set
// when one of its contacts begins and cleared when one ends (so a leg that leaves one of two
// touching edges reads as airborne, exactly as in Gymnasium).
class LunarLanderWorld::ContactListener final : public b2ContactListener {
 public:
  explicit ContactListener(LunarLanderWorld& world) : world_(world) {}

  void BeginContact(b2Contact* contact) override {
    const b2Body* a = contact->GetFixtureA()->GetBody();
    const b2Body* b = contact->GetFixtureB()->GetBody();
    if (a == world_.lander_ || b == world_.lander_) world_.lander_touched_ = true;
    for (std::size_t i = 0; i < 2; ++i)
      if (a == world_.legs_[i] || b == world_.legs_[i]) world_.leg_contact_[i] = true;
  }

  void EndContact(b2Contact* contact) override {
    const b2Body* a = contact->GetFixtureA()->GetBody();
    const b2Body* b = contact->GetFixtureB()->GetBody();
    for (std::size_t i = 0; i < 2; ++i)
      if (a == world_.legs_[i] || b == world_.legs_[i]) world_.leg_contact_[i] = false;
  }

 private:
  LunarLanderWorld& world_;
};

LunarLanderWorld::LunarLanderWorld(const LunarLanderPhysics& physics)
    : physics_(physics), listener_(std::make_unique<ContactListener>(*this)) {}

LunarLanderWorld::~LunarLanderWorld() = default;

void LunarLanderWorld::reset(Rng& rng) {
  // The old world goes first: nothing of it may reach the new episode.
  world_.reset();
  moon_ = lander_ = nullptr;
  legs_ = {};
  leg_joints_ = {};
  leg_contact_ = {};
  lander_touched_ = false;
  prepare_box2d();
  world_ = std::make_unique<b2World>(vec(0.0, physics_.gravity));
  world_->SetContactListener(listener_.get());
  build_terrain(rng);
  build_lander(rng);
}

void LunarLanderWorld::build_terrain(Rng& rng) {
  // Eleven chunks of random height, flattened around the helipad and smoothed (lunar_lander.py).
  std::array<double, kChunks + 1> height{};
  for (double& h : height) h = rng.uniform(0.0, kHeight / 2);
  std::array<double, kChunks> chunk_x{};
  for (int i = 0; i < kChunks; ++i)
    chunk_x[static_cast<std::size_t>(i)] = kWidth / (kChunks - 1) * i;
  helipad_x1_ = chunk_x[kChunks / 2 - 1];
  helipad_x2_ = chunk_x[kChunks / 2 + 1];
  helipad_y_ = kHeight / 4;
  for (int i = kChunks / 2 - 2; i <= kChunks / 2 + 2; ++i)
    height[static_cast<std::size_t>(i)] = helipad_y_;
  std::array<double, kChunks> smooth_y{};
  for (int i = 0; i < kChunks; ++i) {
    // Python's height[i - 1] at i = 0 is the last element.
    const double prev = height[static_cast<std::size_t>(i == 0 ? kChunks : i - 1)];
    smooth_y[static_cast<std::size_t>(i)] = 0.33 * (prev + height[static_cast<std::size_t>(i)] +
                                                    height[static_cast<std::size_t>(i + 1)]);
  }

  b2BodyDef body_def;  // static
  moon_ = world_->CreateBody(&body_def);
  b2EdgeShape base;
  base.SetTwoSided(vec(0, 0), vec(kWidth, 0));
  b2FixtureDef base_def;  // Box2D's default friction (0.2), as pybox2d's shapes= argument gives
  base_def.shape = &base;
  moon_->CreateFixture(&base_def);

  terrain_polygons_.clear();
  for (int i = 0; i < kChunks - 1; ++i) {
    const auto k = static_cast<std::size_t>(i);
    const Vec2 p1{chunk_x[k], smooth_y[k]};
    const Vec2 p2{chunk_x[k + 1], smooth_y[k + 1]};
    b2EdgeShape edge;
    edge.SetTwoSided(vec(p1.x, p1.y), vec(p2.x, p2.y));
    b2FixtureDef def;
    def.shape = &edge;
    def.density = 0.0f;
    def.friction = 0.1f;
    moon_->CreateFixture(&def);
    terrain_polygons_.push_back({p1, p2, {p2.x, kHeight}, {p1.x, kHeight}});
  }
}

void LunarLanderWorld::build_lander(Rng& rng) {
  const double initial_x = kViewportW / kScale / 2;
  const double initial_y = kViewportH / kScale;

  b2BodyDef lander_def;
  lander_def.type = b2_dynamicBody;
  lander_def.position = vec(initial_x, initial_y);
  lander_def.angle = 0.0f;
  lander_ = world_->CreateBody(&lander_def);
  std::array<b2Vec2, kLanderPoly.size()> vertices;
  for (std::size_t i = 0; i < kLanderPoly.size(); ++i)
    vertices[i] = vec(kLanderPoly[i][0] / kScale, kLanderPoly[i][1] / kScale);
  b2PolygonShape hull;
  hull.Set(vertices.data(), static_cast<int32>(vertices.size()));
  b2FixtureDef hull_def;
  hull_def.shape = &hull;
  hull_def.density = 5.0f;
  hull_def.friction = 0.1f;
  hull_def.filter.categoryBits = kLanderCategory;
  hull_def.filter.maskBits = kGroundCategory;
  hull_def.restitution = 0.0f;
  lander_->CreateFixture(&hull_def);

  // The random initial push, applied during the first step.
  const double fx = rng.uniform(-kInitialRandom, kInitialRandom);
  const double fy = rng.uniform(-kInitialRandom, kInitialRandom);
  lander_->ApplyForceToCenter(vec(fx, fy), true);

  if (physics_.enable_wind) {
    // np_random.integers(-9999, 9999): the upper bound is excluded.
    wind_index_ = -9999 + static_cast<std::int64_t>(rng.below(19998));
    torque_index_ = -9999 + static_cast<std::int64_t>(rng.below(19998));
  }

  for (int side : {-1, +1}) {
    b2BodyDef leg_def;
    leg_def.type = b2_dynamicBody;
    leg_def.position = vec(initial_x - side * kLegAway / kScale, initial_y);
    leg_def.angle = static_cast<float>(side * 0.05);
    b2Body* leg = world_->CreateBody(&leg_def);
    b2PolygonShape box;
    box.SetAsBox(static_cast<float>(kLegW / kScale), static_cast<float>(kLegH / kScale));
    b2FixtureDef fixture;
    fixture.shape = &box;
    fixture.density = 1.0f;
    fixture.restitution = 0.0f;
    fixture.filter.categoryBits = kLegCategory;
    fixture.filter.maskBits = kGroundCategory;
    leg->CreateFixture(&fixture);

    b2RevoluteJointDef joint;
    joint.bodyA = lander_;
    joint.bodyB = leg;
    joint.localAnchorA = vec(0, 0);
    joint.localAnchorB = vec(side * kLegAway / kScale, kLegDown / kScale);
    joint.enableMotor = true;
    joint.enableLimit = true;
    joint.maxMotorTorque = static_cast<float>(kLegSpringTorque);
    joint.motorSpeed = static_cast<float>(0.3 * side);  // low enough not to jump back into the sky
    if (side == -1) {
      joint.lowerAngle = static_cast<float>(0.9 - 0.5);
      joint.upperAngle = 0.9f;
    } else {
      joint.lowerAngle = -0.9f;
      joint.upperAngle = static_cast<float>(-0.9 + 0.5);
    }
    leg_joints_[side == -1 ? 0 : 1] = create_revolute_joint(*world_, joint);
    legs_[side == -1 ? 0 : 1] = leg;
  }
}

void LunarLanderWorld::step(const LanderEngines& engines, Rng& rng) {
  if (physics_.enable_wind && !(leg_contact_[0] || leg_contact_[1])) {
    const double wind = wind_profile(wind_index_) * physics_.wind_power;
    ++wind_index_;
    lander_->ApplyForceToCenter(vec(wind, 0.0), true);
    const double torque = wind_profile(torque_index_) * physics_.turbulence_power;
    ++torque_index_;
    lander_->ApplyTorque(static_cast<float>(torque), true);
  }

  // tip: the lander's up axis; side: perpendicular to it.
  const double angle = lander_->GetAngle();
  const double tip[2] = {std::sin(angle), std::cos(angle)};
  const double side[2] = {-tip[1], tip[0]};
  // Drawn every step, whether an engine fires or not.
  const double dispersion[2] = {rng.uniform(-1.0, 1.0) / kScale, rng.uniform(-1.0, 1.0) / kScale};
  const b2Vec2 position = lander_->GetPosition();

  if (engines.main > 0.0) {
    // Fired kMainEngineYLocation px below the centre, jittered by the dispersion.
    const double ox =
        tip[0] * (kMainEngineYLocation / kScale + 2 * dispersion[0]) + side[0] * dispersion[1];
    const double oy =
        -tip[1] * (kMainEngineYLocation / kScale + 2 * dispersion[0]) - side[1] * dispersion[1];
    const double px = position.x + ox, py = position.y + oy;
    lander_->ApplyLinearImpulse(
        vec(-ox * kMainEnginePower * engines.main, -oy * kMainEnginePower * engines.main),
        vec(px, py), true);
  }

  if (engines.side > 0.0) {
    const double away = 3 * dispersion[1] + engines.side_direction * kSideEngineAway / kScale;
    const double ox = tip[0] * dispersion[0] + side[0] * away;
    const double oy = -tip[1] * dispersion[0] - side[1] * away;
    // Gymnasium uses 17 px for the x offset and SIDE_ENGINE_HEIGHT (14 px) for y, which makes the
    // thrust point (and so the torque) depend on the lander's orientation; kept as is.
    const double px = position.x + ox - tip[0] * 17 / kScale;
    const double py = position.y + oy + tip[1] * kSideEngineHeight / kScale;
    lander_->ApplyLinearImpulse(
        vec(-ox * kSideEnginePower * engines.side, -oy * kSideEnginePower * engines.side),
        vec(px, py), true);
  }

  for (b2RevoluteJoint* joint : leg_joints_) apply_joint_limit_rule(*joint, physics_.joint_limits);
  world_->Step(static_cast<float>(1.0 / kFps), kVelocityIterations, kPositionIterations);
}

BodyKinematics LunarLanderWorld::lander() const { return kinematics_of(*lander_); }

void LunarLanderWorld::place_lander(const BodyKinematics& k) {
  const std::array<b2Body*, 3> bodies{lander_, legs_[0], legs_[1]};
  place_rigidly(bodies, k);
}

bool LunarLanderWorld::lander_awake() const { return lander_->IsAwake(); }

Polygon LunarLanderWorld::lander_polygon() const { return world_polygon(*lander_); }

Polygon LunarLanderWorld::leg_polygon(int i) const {
  return world_polygon(*legs_.at(static_cast<std::size_t>(i)));
}

}  // namespace trustrl::envs
