#include "envs/box2d/bipedal_walker_world.h"

#include "envs/box2d/box2d_helpers.h"

namespace trustrl::envs {

// Gymnasium's ContactDetector: the hull touching anything ends the game; lower-leg contacts set
// and clear the legs' ground flags.
class BipedalWalkerWorld::ContactListener final : public b2ContactListener {
 public:
  explicit ContactListener(BipedalWalkerWorld& world) : world_(world) {}

  void BeginContact(b2Contact* contact) override {
    const b2Body* a = contact->GetFixtureA()->GetBody();
    const b2Body* b = contact->GetFixtureB()->GetBody();
    if (world_.walker_.is_hull(a) || world_.walker_.is_hull(b)) world_.hull_touched_ = true;
    world_.walker_.on_contact(a, b, true);
  }

  void EndContact(b2Contact* contact) override {
    world_.walker_.on_contact(contact->GetFixtureA()->GetBody(), contact->GetFixtureB()->GetBody(),
                              false);
  }

 private:
  BipedalWalkerWorld& world_;
};

BipedalWalkerWorld::BipedalWalkerWorld(bool hardcore, WalkerPhysics physics)
    : hardcore_(hardcore), physics_(physics), listener_(std::make_unique<ContactListener>(*this)) {}

BipedalWalkerWorld::~BipedalWalkerWorld() = default;

void BipedalWalkerWorld::reset(Rng& rng) {
  // The old world goes first: nothing of it may reach the new episode.
  world_.reset();
  walker_ = WalkerBody{};
  hull_touched_ = false;
  prepare_box2d();
  world_ = std::make_unique<b2World>(b2Vec2(0.0f, static_cast<float>(kGravity)));
  world_->SetContactListener(listener_.get());
  terrain_ = build_walker_terrain(*world_, rng, {kTerrainLength, kTerrainStartpad, hardcore_});
  clouds_ = make_walker_clouds(rng, kTerrainLength);
  const double push = rng.uniform(-WalkerBody::kInitialRandom, WalkerBody::kInitialRandom);
  WalkerBodyConfig config;
  config.joint_limits = physics_.joint_limits;
  walker_.build(*world_, kInitX, kInitY, push, config);
}

void BipedalWalkerWorld::step(std::span<const float> action) {
  walker_.apply_action(action);
  world_->Step(static_cast<float>(1.0 / kFps), physics_.velocity_iterations,
               physics_.position_iterations);
  walker_.scan_lidar(*world_);
}

}  // namespace trustrl::envs
