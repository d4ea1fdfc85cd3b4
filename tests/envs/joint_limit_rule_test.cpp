// JointLimitRule: Box2D 2.4's limits (held within a step) and the emulation of Box2D 2.3's
// (engaged only for a step that starts at or past the limit), on one motor-driven joint, and the
// joint_limits option of the Box2D envs that carries it.

#include "envs/box2d/joint_limit_rule.h"

#include <box2d/box2d.h>
#include <gtest/gtest.h>

#include "envs/box2d/bipedal_walker.h"
#include "envs/box2d/lunar_lander.h"
#include "envs/box2d/multiwalker.h"
#include "envs/registry.h"

namespace trustrl::envs {
namespace {

// A bar hinged to a static anchor at its end, limits [-0.1, 0.1], its motor turning it at 20
// rad/s: 0.4 rad in one step of 1/50 s, well past the upper limit if nothing holds it. No gravity.
struct Hinge {
  b2World world{b2Vec2(0.0f, 0.0f)};
  b2RevoluteJoint* joint = nullptr;

  Hinge() {
    b2BodyDef anchor_def;
    b2Body* anchor = world.CreateBody(&anchor_def);
    b2BodyDef bar_def;
    bar_def.type = b2_dynamicBody;
    bar_def.position.Set(0.5f, 0.0f);
    b2Body* bar = world.CreateBody(&bar_def);
    b2PolygonShape box;
    box.SetAsBox(0.5f, 0.05f);
    bar->CreateFixture(&box, 1.0f);
    b2RevoluteJointDef def;
    def.Initialize(anchor, bar, b2Vec2(0.0f, 0.0f));
    def.enableLimit = true;
    def.lowerAngle = -0.1f;
    def.upperAngle = 0.1f;
    def.enableMotor = true;
    def.motorSpeed = 20.0f;
    def.maxMotorTorque = 1000.0f;
    joint = static_cast<b2RevoluteJoint*>(world.CreateJoint(&def));
  }

  float step(JointLimitRule rule) {
    apply_joint_limit_rule(*joint, rule);
    world.Step(1.0f / 50.0f, 180, 60);
    return joint->GetJointAngle();
  }
};

TEST(JointLimitRule, Box2D24HoldsTheLimitWithinTheStep) {
  Hinge h;
  EXPECT_LE(h.step(JointLimitRule::kBox2D24), 0.1f + b2_angularSlop);
  EXPECT_TRUE(h.joint->IsLimitEnabled());
}

TEST(JointLimitRule, Box2D23LetsAJointInsideItsLimitsPassThemForOneStep) {
  Hinge h;
  const float after_one = h.step(JointLimitRule::kBox2D23);
  EXPECT_FALSE(h.joint->IsLimitEnabled());  // decided from the angle at the step's start: 0
  EXPECT_GT(after_one, 0.3f);               // the motor's 0.4 rad, unchecked
  // The next step starts past the limit, so the limit is on and pulls the joint back.
  const float after_two = h.step(JointLimitRule::kBox2D23);
  EXPECT_TRUE(h.joint->IsLimitEnabled());
  EXPECT_LT(after_two, after_one);
}

TEST(JointLimitRule, TheOptionReachesTheWorlds) {
  EXPECT_EQ(dynamic_cast<BipedalWalker&>(*make("BipedalWalker-v3")).world().physics().joint_limits,
            JointLimitRule::kBox2D24);
  auto walker = make("BipedalWalkerHardcore-v3", {{"joint_limits", "box2d_2.3"}});
  EXPECT_EQ(dynamic_cast<BipedalWalker&>(*walker).world().physics().joint_limits,
            JointLimitRule::kBox2D23);
  auto lander = make("LunarLander-v3", {{"joint_limits", "box2d_2.3"}});
  EXPECT_EQ(dynamic_cast<LunarLander&>(*lander).world().physics().joint_limits,
            JointLimitRule::kBox2D23);
  auto team = make_multi_agent("multiwalker_v9", {{"joint_limits", "box2d_2.3"}});
  EXPECT_EQ(dynamic_cast<MultiWalker&>(*team).world().joint_limits(), JointLimitRule::kBox2D23);
}

}  // namespace
}  // namespace trustrl::envs
