#include "agents/policy_update.h"

#include <gtest/gtest.h>

#include "agents/flat_adam.h"
#include "agents/network.h"
#include "agents/trust_region.h"
#include "core/rng.h"

namespace trustrl::agents {
namespace {

// A CartPole-shaped actor-critic and a random batch with large advantages, so one update moves
// the policy well past a tiny KL bound.
struct Fixture {
  ActorCritic net{NetworkShape{4, 4, envs::Space::discrete(2)}, NetworkConfig{}};
  FlatAdam optimizer{*net, 3e-3};
  UpdateBatch batch;
  Fixture() {
    torch::manual_seed(7);
    const std::int64_t n = 64;
    batch.obs = torch::randn({n, 4});
    batch.critic_inputs = batch.obs;
    batch.actions = torch::randint(0, 2, {n, 1}, torch::kInt64);
    {
      torch::NoGradGuard no_grad;
      batch.old_log_probs = net->distribution(batch.obs).log_prob(batch.actions);
      batch.old_values = net->value(batch.obs);
    }
    batch.advantages = 10 * torch::randn({n});
    batch.returns = 5 + torch::randn({n});
  }
};

TEST(PolicyUpdate, PolicyMaskCoversTheActorAndNotTheCritic) {
  Fixture f;
  const torch::Tensor mask = f.net->policy_parameter_mask();
  std::int64_t actor = 0, critic = 0;
  for (const auto& l : f.net->actor_layers()) actor += l->weight.numel() + l->bias.numel();
  for (const auto& l : f.net->critic_layers()) critic += l->weight.numel() + l->bias.numel();
  EXPECT_EQ(mask.numel(), actor + critic);
  EXPECT_EQ(mask.sum().item<std::int64_t>(), actor);
}

TEST(PolicyUpdate, KlBoundBacktracksThePolicyButKeepsTheCriticStep) {
  Fixture f;
  PpoConfig ppo;
  ppo.update_epochs = 4;
  ppo.num_minibatches = 2;
  TrustRegionConfig c;
  c.clip.reset();
  c.kl_bound.delta = 1e-12;  // no step of the policy fits: it falls back to the old policy
  c.kl_bound.max_backtracks = 2;
  TrustRegion tr(c);
  Rng rng(1);
  const torch::Tensor before = f.optimizer.parameters().clone();
  const UpdateStats stats = run_policy_update(*f.net, f.optimizer, tr, ppo, rng, f.batch, 1.0);
  EXPECT_EQ(stats.backtracks, 3);
  EXPECT_EQ(stats.kl_analytic, 0.0);
  const torch::Tensor policy = f.net->policy_parameter_mask().to(torch::kBool);
  const torch::Tensor after = f.optimizer.parameters();
  EXPECT_TRUE(torch::equal(after.masked_select(policy), before.masked_select(policy)));
  EXPECT_GT((after - before).masked_select(policy.logical_not()).abs().max().item<double>(), 1e-4);
}

}  // namespace
}  // namespace trustrl::agents
