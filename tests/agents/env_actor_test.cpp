// The one actor: a plain env's rollout is PPO's (one agent, the critic on the observation, no
// mask), a team's carries critic inputs and the active mask, gSDE's noise is drawn once per
// rollout from the sampling stream, and a policy must fit the env it acts in.

#include "agents/env_actor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

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

// MAPPO's critic on the global state values each copy's state once for all its agents: every
// agent's value is still its group's critic on its own row of the rollout, and the bootstrap value
// after the last step is the critic on the next rollout's first rows (the same state).
TEST(EnvActor, AStateCriticsValuesAreEveryAgentsOwn) {
  const TrainedFor s = trained_for(
      "algo: mappo\nenv: {id: simple_spread_v3, num_envs: 3}\nppo: {value_norm: true}\n"
      "normalize: {observations: true}");
  EnvActor actor(envs::LocalVectorEnv::make("simple_spread_v3", {}, 3, 1), 7);
  actor.set_policy(s.learner->snapshot());
  Rollout warm_up;
  actor.collect(8, warm_up);
  s.learner->update(warm_up, 1.0);  // statistics away from the identity
  const PolicySnapshot policy = s.learner->snapshot();
  actor.set_policy(policy);
  Rollout r, next;
  actor.collect(30, r);  // 25-step episodes: every copy is cut once, with final values
  actor.collect(1, next);

  ASSERT_EQ(policy.groups.size(), 1u);
  const GroupPolicy& g = policy.groups.front();
  ASSERT_EQ(g.critic_input, CriticInput::kState);
  PolicyInference critic(g.weights);
  const auto width = static_cast<std::size_t>(r.critic_dim);
  auto value = [&](const float* raw) {
    std::vector<float> row(width);
    g.critic_normalizer.normalize(raw, 1, row.data());
    float v = 0;
    critic.values(row.data(), 1, &v);
    return g.value_normalizer.denormalize(v);
  };
  auto near = [](float a, float b) {
    return std::abs(a - b) <= 1e-5F * std::max(1.0F, std::abs(b));
  };
  int checked = 0;
  for (std::size_t row = 0; row < r.values.size(); ++row) {
    if (!r.active[row]) continue;
    EXPECT_PRED2(near, r.values[row], value(&r.critic_inputs[row * width])) << "row " << row;
    ++checked;
  }
  EXPECT_EQ(checked, 30 * 3 * 3);
  for (std::size_t slot = 0; slot < r.bootstrap_values.size(); ++slot)
    EXPECT_PRED2(near, r.bootstrap_values[slot], value(&next.critic_inputs[slot * width]))
        << "slot " << slot;
  // A cut episode's agents bootstrap from the one final state they share.
  int cut = 0;
  for (std::size_t k = 0; k < r.truncated.size(); ++k) {
    if (!r.truncated[k]) continue;
    ++cut;
    const float* v = &r.final_values[k * 3];
    EXPECT_NE(v[0], 0.0F);
    EXPECT_EQ(v[0], v[1]);
    EXPECT_EQ(v[0], v[2]);
  }
  EXPECT_EQ(cut, 3);
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
