// Behaviour of the classic-control envs beyond the Gymnasium replays: bad input, step contract,
// dynamics the replays do not cover (Acrobot, MountainCar-v0).

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "envs/classic/acrobot.h"
#include "envs/classic/mountain_car.h"
#include "envs/registry.h"

namespace trustrl::envs {
namespace {

TEST(ClassicControl, StepBeforeResetIsAnError) {
  auto env = make("CartPole-v1");
  std::vector<float> obs(4);
  std::vector<std::int64_t> a{0};
  EXPECT_THROW(env->step({a, {}}, obs), Error);
}

TEST(ClassicControl, StepAfterTheEndIsAnError) {
  auto env = make("CartPole-v1");
  std::vector<float> obs(4);
  env->reset(0, obs);
  std::vector<std::int64_t> a{1};
  StepResult r;
  do r = env->step({a, {}}, obs);
  while (!r.terminated);
  EXPECT_TRUE(env->needs_reset());
  EXPECT_THROW(env->step({a, {}}, obs), Error);
}

TEST(ClassicControl, StepCheckedStepsAsStepAndStillNeedsAnEpisode) {
  auto checked = make("Pendulum-v1"), plain = make("Pendulum-v1");
  std::vector<float> a_obs(3), b_obs(3);
  const std::vector<float> action{1.5f};
  EXPECT_THROW(checked->step_checked({{}, action}, a_obs), Error);  // no episode yet
  checked->reset(4, a_obs);
  plain->reset(4, b_obs);
  StepResult a, b;
  do {
    a = checked->step_checked({{}, action}, a_obs);
    b = plain->step({{}, action}, b_obs);
    ASSERT_EQ(a_obs, b_obs);
    ASSERT_EQ(a.reward, b.reward);
    ASSERT_EQ(a.terminated, b.terminated);
    ASSERT_EQ(a.truncated, b.truncated);
  } while (!a.truncated);
  EXPECT_EQ(checked->elapsed_steps(), 200);
  EXPECT_THROW(checked->step_checked({{}, action}, a_obs), Error);  // the episode ended
}

TEST(ClassicControl, OutOfRangeDiscreteActionIsNamed) {
  auto env = make("Acrobot-v1");
  std::vector<float> obs(6);
  env->reset(0, obs);
  std::vector<std::int64_t> a{3};
  try {
    env->step({a, {}}, obs);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "Acrobot-v1: action 3 is outside Discrete(3)");
  }
}

TEST(ClassicControl, NanContinuousActionIsNamed) {
  auto env = make("Pendulum-v1");
  std::vector<float> obs(3);
  env->reset(0, obs);
  std::vector<float> a{NAN};
  try {
    env->step({{}, a}, obs);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("must be finite"), std::string::npos) << e.what();
  }
}

TEST(ClassicControl, OutOfRangeContinuousActionIsClipped) {
  auto a = make("Pendulum-v1"), b = make("Pendulum-v1");
  std::vector<float> oa(3), ob(3);
  a->reset(3, oa);
  b->reset(3, ob);
  std::vector<float> big{50.0f}, max{2.0f};
  const auto ra = a->step({{}, big}, oa);
  const auto rb = b->step({{}, max}, ob);
  EXPECT_EQ(oa, ob);
  EXPECT_EQ(ra.reward, rb.reward);
}

TEST(ClassicControl, TimeLimitTruncates) {
  auto env = make("Pendulum-v1");
  std::vector<float> obs(3);
  env->reset(0, obs);
  std::vector<float> a{0.0f};
  for (int t = 1; t <= 200; ++t) {
    const StepResult r = env->step({{}, a}, obs);
    EXPECT_FALSE(r.terminated);
    EXPECT_EQ(r.truncated, t == 200) << t;
  }
}

TEST(Acrobot, HangingStillStaysStillAndCostsMinusOne) {
  EnvOptions opts("Acrobot-v1", {});
  Acrobot env(opts);
  std::vector<float> obs(6);
  env.reset(0, obs);
  const std::vector<double> rest{0, 0, 0, 0};
  env.set_state(rest, obs);
  std::vector<std::int64_t> no_torque{1};
  const StepResult r = env.step({no_torque, {}}, obs);
  EXPECT_EQ(r.reward, -1.0);
  EXPECT_FALSE(r.terminated);
  for (double s : env.get_state()) EXPECT_NEAR(s, 0.0, 1e-12);
}

TEST(Acrobot, TerminatesAboveTheLine) {
  EnvOptions opts("Acrobot-v1", {});
  Acrobot env(opts);
  std::vector<float> obs(6);
  env.reset(0, obs);
  // Both links pointing up: tip height -cos(pi) - cos(pi) = 2 > 1.
  const std::vector<double> up{Acrobot::kPi - 0.01, 0, 0, 0};
  env.set_state(up, obs);
  std::vector<std::int64_t> a{1};
  const StepResult r = env.step({a, {}}, obs);
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, 0.0);
}

TEST(Acrobot, InitialStateIsFloat32InRange) {
  auto env = make("Acrobot-v1");
  std::vector<float> obs(6);
  env->reset(4, obs);
  for (double s : env->get_state()) {
    EXPECT_LE(std::fabs(s), 0.1);
    EXPECT_EQ(s, static_cast<double>(static_cast<float>(s)));
  }
}

TEST(MountainCar, LeftWallStopsTheCar) {
  EnvOptions opts("MountainCar-v0", {});
  MountainCar env(opts);
  std::vector<float> obs(2);
  env.reset(0, obs);
  const std::vector<double> at_wall{-1.19, -0.05};
  env.set_state(at_wall, obs);
  std::vector<std::int64_t> left{0};
  env.step({left, {}}, obs);
  EXPECT_EQ(obs[0], static_cast<float>(MountainCar::kMinPosition));
  EXPECT_EQ(obs[1], 0.0f);
}

TEST(MountainCar, ReachingTheFlagTerminates) {
  EnvOptions opts("MountainCar-v0", {});
  MountainCar env(opts);
  std::vector<float> obs(2);
  env.reset(0, obs);
  const std::vector<double> near_goal{0.49, 0.05};
  env.set_state(near_goal, obs);
  std::vector<std::int64_t> right{2};
  const StepResult r = env.step({right, {}}, obs);
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, -1.0);
  // One step of the dynamics by hand.
  double v = 0.05 + 0.001 - std::cos(3 * 0.49) * 0.0025;
  EXPECT_FLOAT_EQ(obs[1], static_cast<float>(v));
  EXPECT_FLOAT_EQ(obs[0], static_cast<float>(0.49 + v));
}

TEST(MountainCarContinuous, GoalPaysHundredMinusActionCost) {
  EnvOptions opts("MountainCarContinuous-v0", {});
  MountainCarContinuous env(opts);
  std::vector<float> obs(2);
  env.reset(0, obs);
  const std::vector<double> near_goal{0.44, 0.05};
  env.set_state(near_goal, obs);
  std::vector<float> a{3.0f};  // clipped to 1 for the force, unclipped in the cost
  const StepResult r = env.step({{}, a}, obs);
  EXPECT_TRUE(r.terminated);
  EXPECT_DOUBLE_EQ(r.reward, 100.0 - 0.9);
}

}  // namespace
}  // namespace trustrl::envs
