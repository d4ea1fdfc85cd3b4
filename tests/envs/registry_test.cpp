#include "envs/registry.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace trustrl::envs {
namespace {

TEST(Registry, HasTheClassicControlIds) {
  const auto ids = EnvRegistry::global().ids();
  for (const char* id :
       {"CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"})
    EXPECT_NE(std::find(ids.begin(), ids.end(), id), ids.end()) << id;
}

TEST(Registry, UnknownIdSuggestsTheClosest) {
  try {
    make("CartPole-v0");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'CartPole-v1'"), std::string::npos)
        << e.what();
  }
}

TEST(Registry, UnknownOptionIsNamed) {
  try {
    make("Pendulum-v1", {{"gravity", "9.8"}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown option 'gravity'"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("known options: g"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make("Pendulum-v1", {{"g", "heavy"}}), Error);
}

TEST(Registry, TimeLimitOverride) {
  auto env = make("CartPole-v1", {{"max_episode_steps", "7"}});
  EXPECT_EQ(env->spec().max_episode_steps, 7);
  EXPECT_THROW(make("CartPole-v1", {{"max_episode_steps", "0"}}), Error);
}

TEST(Registry, SpecsMatchGymnasium) {
  struct Want {
    const char* id;
    int max_steps;
    std::optional<double> threshold;
    const char* obs;
    const char* act;
  };
  const Want wants[] = {
      {"CartPole-v1", 500, 475.0,
       "Box([-4.8, -inf, -0.41887903, -inf], [4.8, inf, 0.41887903, inf], (4,))", "Discrete(2)"},
      {"Acrobot-v1", 500, -100.0,
       "Box([-1, -1, -1, -1, -12.566371, -28.274334], [1, 1, 1, 1, 12.566371, 28.274334], (6,))",
       "Discrete(3)"},
      {"MountainCar-v0", 200, -110.0, "Box([-1.2, -0.07], [0.6, 0.07], (2,))", "Discrete(3)"},
      {"MountainCarContinuous-v0", 999, 90.0, "Box([-1.2, -0.07], [0.6, 0.07], (2,))",
       "Box(-1, 1, (1,))"},
      {"Pendulum-v1", 200, std::nullopt, "Box([-1, -1, -8], [1, 1, 8], (3,))", "Box(-2, 2, (1,))"},
  };
  for (const auto& w : wants) {
    auto env = make(w.id);
    EXPECT_EQ(env->spec().max_episode_steps, w.max_steps) << w.id;
    EXPECT_EQ(env->spec().reward_threshold, w.threshold) << w.id;
    EXPECT_EQ(env->spec().observation_space.describe(), w.obs) << w.id;
    EXPECT_EQ(env->spec().action_space.describe(), w.act) << w.id;
  }
}

}  // namespace
}  // namespace trustrl::envs
