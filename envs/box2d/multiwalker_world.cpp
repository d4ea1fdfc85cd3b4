#include "envs/box2d/multiwalker_world.h"

#include <array>
#include <cmath>

#include "core/error.h"
#include "envs/box2d/box2d_helpers.h"

namespace trustrl::envs {

namespace {
b2Vec2 vec(double x, double y) { return b2Vec2(static_cast<float>(x), static_cast<float>(y)); }
}  // namespace

// PettingZoo's ContactDetector (multiwalker_base.py), forwarding leg contacts to the walkers.
class MultiWalkerWorld::ContactListener final : public b2ContactListener {
 public:
  explicit ContactListener(MultiWalkerWorld& world) : world_(world) {}

  void BeginContact(b2Contact* contact) override {
    const b2Body* a = contact->GetFixtureA()->GetBody();
    const b2Body* b = contact->GetFixtureB()->GetBody();
    const b2Body* package = world_.package_;
    for (std::size_t i = 0; i < world_.walkers_.size(); ++i) {
      const WalkerBody& w = world_.walkers_[i];
      // A hull that touches anything but the package has fallen.
      if ((w.is_hull(a) && b != package) || (w.is_hull(b) && a != package)) world_.fallen_[i] = 1;
    }
    // The package touching anything but a hull (the ground, a leg) is dropped.
    if ((a == package && !world_.is_any_hull(b)) || (b == package && !world_.is_any_hull(a)))
      world_.package_dropped_ = true;
    for (WalkerBody& w : world_.walkers_) w.on_contact(a, b, true);
  }

  void EndContact(b2Contact* contact) override {
    const b2Body* a = contact->GetFixtureA()->GetBody();
    const b2Body* b = contact->GetFixtureB()->GetBody();
    for (WalkerBody& w : world_.walkers_) w.on_contact(a, b, false);
  }

 private:
  MultiWalkerWorld& world_;
};

MultiWalkerWorld::MultiWalkerWorld(int n_walkers, int terrain_length, JointLimitRule joint_limits)
    : terrain_length_(terrain_length),
      joint_limits_(joint_limits),
      listener_(std::make_unique<ContactListener>(*this)) {
  if (n_walkers < 1)
    throw Error("multiwalker: n_walkers must be at least 1, got " + std::to_string(n_walkers));
  if (terrain_length < min_terrain_length(n_walkers))
    throw Error("multiwalker: terrain_length " + std::to_string(terrain_length) +
                " is too short for " + std::to_string(n_walkers) + " walkers; it needs at least " +
                std::to_string(min_terrain_length(n_walkers)) + " steps");
  walkers_.resize(static_cast<std::size_t>(n_walkers));
  fallen_.assign(static_cast<std::size_t>(n_walkers), 0);
}

MultiWalkerWorld::~MultiWalkerWorld() = default;

double MultiWalkerWorld::start_x(int i) const {
  return kInitX + kWalkerSeparation * i * WalkerTerrain::kStep;
}

bool MultiWalkerWorld::is_any_hull(const b2Body* body) const {
  for (const WalkerBody& w : walkers_)
    if (w.is_hull(body)) return true;
  return false;
}

void MultiWalkerWorld::build_package() {
  // PACKAGE_POLY (+-120, +-5) px, stretched along x by package_scale, centred over the walkers.
  double mean_x = 0.0;
  for (int i = 0; i < n_walkers(); ++i) mean_x += start_x(i);
  mean_x /= n_walkers();
  b2BodyDef def;
  def.type = b2_dynamicBody;
  def.position = vec(mean_x, kPackageInitY);
  package_ = world_->CreateBody(&def);
  const double hx = kPackageLengthPx / 2 * package_scale() / WalkerBody::kScale;
  const std::array<b2Vec2, 4> vertices{vec(-hx, kPackageHalfHeight), vec(hx, kPackageHalfHeight),
                                       vec(hx, -kPackageHalfHeight), vec(-hx, -kPackageHalfHeight)};
  b2PolygonShape shape;
  shape.Set(vertices.data(), static_cast<int32>(vertices.size()));
  b2FixtureDef fixture;
  fixture.shape = &shape;
  fixture.density = 1.0f;
  fixture.friction = 0.5f;
  fixture.restitution = 0.0f;
  fixture.filter.categoryBits = 0x0004;  // the mask stays Box2D's default: it hits everything
  package_->CreateFixture(&fixture);
}

void MultiWalkerWorld::reset(Rng& rng) {
  // The old world goes first: nothing of it may reach the new episode.
  for (WalkerBody& w : walkers_) w = WalkerBody{};
  package_ = nullptr;
  world_.reset();
  std::fill(fallen_.begin(), fallen_.end(), 0);
  package_dropped_ = false;
  prepare_box2d();
  world_ = std::make_unique<b2World>(b2Vec2(0.0f, static_cast<float>(kGravity)));
  world_->SetContactListener(listener_.get());

  build_package();
  terrain_ = build_walker_terrain(*world_, rng, {terrain_length_, kTerrainStartpad, false});
  clouds_ = make_walker_clouds(rng, terrain_length_);
  for (int i = 0; i < n_walkers(); ++i) {
    WalkerBodyConfig config;
    // Box2D's defaults for everyone (category 1, mask all), one negative group per walker.
    config.hull_category = config.leg_category = 0x0001;
    config.hull_mask = config.leg_mask = 0xFFFF;
    config.group_index = static_cast<std::int16_t>(-static_cast<int>(start_x(i)));
    config.lidar_mask = 0x0001;
    config.joint_limits = joint_limits_;
    const double push = rng.uniform(-WalkerBody::kInitialRandom, WalkerBody::kInitialRandom);
    walkers_[static_cast<std::size_t>(i)].build(*world_, start_x(i), kInitY, push, config);
  }
  // PettingZoo casts every walker's lidar when it builds the first observations.
  scan_lidar();
}

void MultiWalkerWorld::apply_action(int walker, std::span<const float> action) {
  walkers_.at(static_cast<std::size_t>(walker)).apply_action(action);
}

void MultiWalkerWorld::step() {
  world_->Step(static_cast<float>(1.0 / kFps), kVelocityIterations, kPositionIterations);
  scan_lidar();
}

void MultiWalkerWorld::scan_lidar() {
  for (WalkerBody& w : walkers_)
    if (w.built()) w.scan_lidar(*world_);
}

void MultiWalkerWorld::remove_walker(int walker) {
  walkers_.at(static_cast<std::size_t>(walker)).destroy(*world_);
}

BodyKinematics MultiWalkerWorld::package_kinematics() const { return kinematics_of(*package_); }

Polygon MultiWalkerWorld::package_polygon() const { return world_polygon(*package_); }

void MultiWalkerWorld::place_walker(int i, const BodyKinematics& hull) {
  WalkerBody& w = walkers_.at(static_cast<std::size_t>(i));
  if (!w.built()) throw Error("multiwalker: walker " + std::to_string(i) + " was removed");
  w.place(hull);
}

void MultiWalkerWorld::place_package(const BodyKinematics& k) {
  const std::array<b2Body*, 1> bodies{package_};
  place_rigidly(bodies, k);
}

}  // namespace trustrl::envs
