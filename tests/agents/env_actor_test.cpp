// The one actor: a plain env's rollout is PPO's (one agent, the critic on the observation, no
// mask), a team's carries critic inputs and the active mask, gSDE's noise is drawn once per
// rollout from the sampling stream, and a policy must fit the env it acts in.

#include "agents/env_actor.h"

#include <gtest/gtest.h>

#include <string>

#include "agents/trainer.h"
#include "core/error.h"

namespace trustrl::agents {
namespace {

struct TrainedFor {
  RunEnv env;
  std::unique_ptr<Learner> learner;
};

TrainedFor trained_for(const std::string& yaml) {
  const TrainConfig config = parse_train_config(yaml);
  TrainedFor s;
  s.env = probe_env(config, local_env_factory());
  s.learner = make_learner(config, s.env);
  return s;
}

TEST(EnvActor, APlainEnvsRolloutIsOneAgentWithTheCriticOnTheObservation) {
  const TrainedFor s = trained_for("env: {id: Pendulum-v1, num_envs: 3}");
  EnvActor actor(envs::LocalVectorEnv::make("Pendulum-v1", {}, 3, 1), 7);
  actor.set_policy(s.learner->snapshot());
  Rollout r;
  actor.collect(5, r);
  EXPECT_EQ(r.num_agents, 1);
  EXPECT_EQ(r.critic_dim, 0);
  EXPECT_TRUE(r.critic_inputs.empty());
  EXPECT_TRUE(r.active.empty());
  EXPECT_TRUE(r.discrete_actions.empty());
  EXPECT_EQ(r.continuous_actions.size(), 5u * 3u);
  EXPECT_EQ(actor.env_steps(), 15);
  EXPECT_NO_THROW(r.validate());
}

TEST(EnvActor, ATeamsRolloutCarriesCriticInputsAndTheMask) {
  const TrainedFor s = trained_for("algo: mappo\nenv: {id: simple_spread_v3, num_envs: 2}");
  EnvActor actor(envs::LocalVectorEnv::make("simple_spread_v3", {}, 2, 1), 7);
  actor.set_policy(s.learner->snapshot());
  Rollout r;
  actor.collect(4, r);
  EXPECT_EQ(r.num_agents, 3);
  ASSERT_GT(r.critic_dim, 0);
  EXPECT_EQ(r.critic_inputs.size(), 4u * 2u * 3u * static_cast<std::size_t>(r.critic_dim));
  EXPECT_EQ(r.active.size(), 4u * 2u * 3u);
  EXPECT_NO_THROW(r.validate());
}

TEST(EnvActor, GsdeNoiseIsDrawnOncePerRolloutFromTheSamplingStream) {
  // With gsde_sample_freq -1 every step of a rollout acts with one noise matrix per copy, drawn
  // first from Rng::derive(seed, kCollectStream): replaying that draw gives every action.
  const TrainedFor s = trained_for(
      "env: {id: MountainCarContinuous-v0, num_envs: 2}\n"
      "network: {gsde: true, gsde_sample_freq: -1}");
  const PolicySnapshot policy = s.learner->snapshot();
  const std::uint64_t seed = 21;
  EnvActor actor(envs::LocalVectorEnv::make("MountainCarContinuous-v0", {}, 2, 1), seed);
  actor.set_policy(policy);
  Rollout r;
  actor.collect(6, r);

  const GroupPolicy& group = policy.groups.front();
  PolicyInference inference(group.weights);
  Rng rng(Rng::derive(seed, EnvActor::kCollectStream));
  std::vector<float> exploration;
  inference.draw_exploration(2, rng, exploration);
  ActResult act;
  std::vector<float> obs(2 * 2);
  for (int t = 0; t < 6; ++t) {
    group.obs_normalizer.normalize(&r.observations[static_cast<std::size_t>(t) * 4], 2, obs.data());
    inference.act(obs.data(), 2, false, rng, act, exploration.data());
    for (std::size_t k = 0; k < 2; ++k)
      EXPECT_EQ(act.continuous_actions[k],
                r.continuous_actions[static_cast<std::size_t>(t) * 2 + k])
          << "step " << t << " copy " << k;
  }
}

TEST(EnvActor, APolicyForAnotherEnvIsRefusedNamingIt) {
  const TrainedFor team = trained_for("algo: mappo\nenv: {id: simple_spread_v3, num_envs: 1}");
  EnvActor actor(envs::LocalVectorEnv::make("CartPole-v1", {}, 1, 1), 7);
  try {
    actor.set_policy(team.learner->snapshot());
    FAIL() << "a simple_spread policy was accepted for CartPole";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the policy does not fit CartPole-v1"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace trustrl::agents
