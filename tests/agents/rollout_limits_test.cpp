// The values a learner accepts in a rollout: honest rollouts always pass, absurd ones are named.

#include "agents/rollout_limits.h"

#include <gtest/gtest.h>

#include <cmath>

#include "agents/env_actor.h"
#include "agents/trainer.h"
#include "core/error.h"
#include "envs/vector_env.h"

namespace trustrl::agents {
namespace {

struct PolicyOn {
  explicit PolicyOn(const std::string& env_id, const std::string& extra = "")
      : config(parse_train_config("env: {id: " + env_id + ", num_envs: 4}\nppo: {num_steps: 64}\n" +
                                  extra)),
        env(probe_env(config, local_env_factory())),
        policy(make_learner(config, env)->snapshot()) {}

  Rollout rollout(std::uint64_t seed) const {
    EnvActor actor(envs::LocalVectorEnv::make(env.id, {}, 4, 1), seed);
    actor.set_policy(policy);
    Rollout r;
    actor.collect(64, r);
    return r;
  }

  TrainConfig config;
  RunEnv env;
  PolicySnapshot policy;
};

std::string refusal(const Rollout& r, const RolloutLimits& limits) {
  try {
    check_rollout_limits(r, limits);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(RolloutLimits, CategoricalLogProbsLieBetweenTheUnderflowBoundAndZero) {
  const PolicyOn run("CartPole-v1");
  const auto ranges = log_prob_ranges(run.policy, 1);
  ASSERT_EQ(ranges.size(), 1U);
  EXPECT_NEAR(ranges[0].low, -745.2 - std::log(2.0), 0.2);
  EXPECT_GE(ranges[0].high, 0.0);
  EXPECT_LT(ranges[0].high, 0.01);
}

TEST(RolloutLimits, GaussianLogProbsFollowTheLogStdThatActed) {
  PolicyOn run("Pendulum-v1", "network: {log_std_init: -1.0}\n");
  const auto ranges = log_prob_ranges(run.policy, 1);
  // One component: -z^2/2 - log_std - log(2 pi)/2 with |z| <= 12.01.
  EXPECT_NEAR(ranges[0].high, 1.0 - 0.9189, 0.01);
  EXPECT_NEAR(ranges[0].low, 1.0 - 0.9189 - 0.5 * 12.01 * 12.01, 0.1);
  for (float& s : run.policy.groups[0].weights.log_std) s = 2.0F;
  EXPECT_NEAR(log_prob_ranges(run.policy, 1)[0].high, -2.0 - 0.9189, 0.01);
}

TEST(RolloutLimits, HonestRolloutsPass) {
  for (const char* id : {"CartPole-v1", "Pendulum-v1", "MountainCarContinuous-v0", "Acrobot-v1"}) {
    const PolicyOn run(id);
    const RolloutLimits limits = rollout_limits(run.policy, 1, 1e6, run.config.ppo.gamma);
    for (std::uint64_t seed = 1; seed <= 5; ++seed)
      EXPECT_EQ(refusal(run.rollout(seed), limits), "") << id << " seed " << seed;
  }
}

TEST(RolloutLimits, AbsurdValuesAreRefusedByName) {
  const PolicyOn run("CartPole-v1");
  const RolloutLimits limits = rollout_limits(run.policy, 1, 1e6, 0.99);
  EXPECT_NEAR(limits.value_bound, 1e8, 1e-3);

  Rollout r = run.rollout(1);
  r.log_probs[7] = -1e30F;
  EXPECT_NE(refusal(r, limits).find("rollout.log_probs[7] is -1e+30, outside ["), std::string::npos)
      << refusal(r, limits);
  r = run.rollout(1);
  r.log_probs[0] = 0.5F;  // a probability above 1
  EXPECT_NE(refusal(r, limits).find("rollout.log_probs[0] is 0.5"), std::string::npos);
  r = run.rollout(1);
  r.rewards[3] = 3e38F;
  EXPECT_NE(refusal(r, limits).find("rollout.rewards[3] is 3e+38, beyond +-1e+06 "
                                    "(distributed.reward_bound)"),
            std::string::npos)
      << refusal(r, limits);
  r = run.rollout(1);
  r.values[2] = -2e8F;
  EXPECT_NE(refusal(r, limits).find("rollout.values[2] is -2e+08"), std::string::npos);
  r = run.rollout(1);
  r.bootstrap_values[1] = 1e30F;
  EXPECT_NE(refusal(r, limits).find("rollout.bootstrap_values[1]"), std::string::npos);
}

TEST(RolloutLimits, NonFiniteParametersAreFound) {
  PolicyOn run("Pendulum-v1");
  EXPECT_EQ(non_finite_parameter(run.policy), std::nullopt);
  PolicySnapshot broken = run.policy;
  broken.groups[0].weights.critic[1].w[0] = NAN;
  EXPECT_EQ(non_finite_parameter(broken), "group 0: critic layer 1");
  broken = run.policy;
  broken.groups[0].weights.log_std[0] = INFINITY;
  EXPECT_EQ(non_finite_parameter(broken), "group 0: log_std");
}

}  // namespace
}  // namespace trustrl::agents
