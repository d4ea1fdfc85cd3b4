#include "agents/ppo.h"

#include <gtest/gtest.h>

#include "agents/trainer.h"
#include "core/error.h"
#include "envs/registry.h"

namespace trustrl::agents {
namespace {

std::vector<std::uint8_t> saved(const Learner& learner) {
  ByteWriter w;
  learner.save(w);
  return w.take();
}

// PPO is MAPPO with one agent group and the critic on the observation: a rollout of a plain env,
// given to the learner `algo: ppo` builds and, with active masks and the observation as critic
// input, to the one `algo: mappo` builds for the env seen as one agent, trains the same bits on
// either minibatch step.
TEST(PpoLearner, IsMappoWithOneGroupAndTheCriticOnTheObservation) {
  for (const char* fused : {"true", "false"}) {
    SCOPED_TRACE(std::string("ppo.fused_update=") + fused);
    const TrainConfig config = parse_train_config(R"(
seed: 4
env: {id: CartPole-v1, num_envs: 4}
ppo: {num_steps: 32, num_minibatches: 2, update_epochs: 2, value_norm: true}
normalize: {observations: true, rewards: true}
)",
                                                  {std::string("ppo.fused_update=") + fused});
    Roles roles = make_roles(config, local_env_factory());
    auto& ppo = dynamic_cast<PpoLearner&>(*roles.learner);
    MappoConfig mappo;
    mappo.critic_input = CriticInput::kObservation;
    PpoLearner one_group(envs::make_multi_agent("CartPole-v1")->spec(), mappo, config.ppo,
                         config.trust_region, config.network, config.normalize, config.seed);

    for (int u = 0; u < 2; ++u) {
      Rollout plain;
      roles.actor->collect(32, plain);
      ASSERT_TRUE(plain.active.empty());
      ASSERT_EQ(plain.critic_dim, 0);
      Rollout multi = plain;
      multi.active.assign(static_cast<std::size_t>(multi.rows()), 1);
      multi.critic_dim = multi.obs_dim;
      multi.critic_inputs = multi.observations;
      const UpdateStats a = ppo.update(plain, 1.0 - 0.25 * u);
      const UpdateStats b = one_group.update(multi, 1.0 - 0.25 * u);
      EXPECT_EQ(a.policy_loss, b.policy_loss);
      EXPECT_EQ(a.value_loss, b.value_loss);
      EXPECT_EQ(a.kl_analytic, b.kl_analytic);
      EXPECT_EQ(a.explained_variance, b.explained_variance);
      EXPECT_EQ(a.samples, b.samples);
      roles.actor->set_policy(ppo.snapshot());
    }
    EXPECT_TRUE(torch::equal(ppo.groups()[0]->optimizer->parameters(),
                             one_group.groups()[0]->optimizer->parameters()));
    // The checkpoints differ only by MAPPO's group count in front.
    const std::vector<std::uint8_t> single = saved(ppo), grouped = saved(one_group);
    ASSERT_EQ(grouped.size(), single.size() + sizeof(std::uint32_t));
    EXPECT_TRUE(std::equal(single.begin(), single.end(), grouped.begin() + sizeof(std::uint32_t)));
  }
}

// A rollout whose critic inputs do not fit the critic is refused, naming both widths.
TEST(PpoLearner, RefusesCriticInputsOfAnotherWidth) {
  const TrainConfig config =
      parse_train_config("env: {id: CartPole-v1, num_envs: 2}\nppo: {num_steps: 8}\n");
  Roles roles = make_roles(config, local_env_factory());
  Rollout r;
  roles.actor->collect(8, r);
  r.critic_dim = 3;
  r.critic_inputs.assign(static_cast<std::size_t>(r.rows()) * 3, 0.0f);
  try {
    roles.learner->update(r, 1.0);
    FAIL() << "a critic input of 3 values reached a critic of 4";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gives the critic 3 inputs"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("takes 4"), std::string::npos) << e.what();
  }
  // A multi-agent rollout given to PPO names the algo to use.
  r.critic_dim = 0;
  r.critic_inputs.clear();
  r.num_agents = 2;
  EXPECT_THROW(roles.learner->update(r, 1.0), Error);
}

}  // namespace
}  // namespace trustrl::agents
