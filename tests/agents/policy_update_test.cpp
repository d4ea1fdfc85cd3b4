#include "agents/policy_update.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "agents/flat_adam.h"
#include "agents/natural_gradient_step.h"
#include "agents/network.h"
#include "agents/trust_region.h"
#include "core/error.h"
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

TrustRegionConfig natural_gradient_config() {
  TrustRegionConfig c;
  c.mode = TrustRegionMode::kNaturalGradient;
  c.clip.reset();
  c.kl_bound.delta = 0.01;
  c.kl_bound.backtrack_coef = 0.8;
  return c;
}

TEST(PolicyUpdate, NaturalGradientStepsThePolicyWithinTheBoundAndTrainsTheCritic) {
  Fixture f;
  PpoConfig ppo;
  ppo.ent_coef = 0;
  TrustRegion tr(natural_gradient_config());
  Rng rng(1);
  const torch::Tensor before = f.optimizer.parameters().clone();
  const UpdateStats stats = run_policy_update(*f.net, f.optimizer, tr, ppo, rng, f.batch, 1.0);
  ASSERT_TRUE(stats.natural_gradient.has_value());
  const auto& ng = *stats.natural_gradient;
  EXPECT_EQ(ng.stepped, 1);
  EXPECT_EQ(ng.not_stepped, 0);
  EXPECT_GT(stats.kl_analytic, 0.0);
  EXPECT_LE(stats.kl_analytic, 0.01);
  // The KL the step took is the update's: the critic's epochs after it do not move the policy.
  EXPECT_NEAR(ng.kl, stats.kl_analytic, 1e-6);
  EXPECT_GT(ng.cg_iterations, 0);
  EXPECT_GT(ng.actual_improvement, 0.0);
  EXPECT_EQ(stats.policy_loss, -ng.surrogate);
  EXPECT_EQ(stats.minibatches, ppo.update_epochs * ppo.num_minibatches);
  EXPECT_GT(stats.value_loss, 0.0);
  const torch::Tensor policy = f.net->policy_parameter_mask().to(torch::kBool);
  const torch::Tensor after = f.optimizer.parameters();
  EXPECT_GT((after - before).masked_select(policy).abs().max().item<double>(), 1e-4);
  EXPECT_GT((after - before).masked_select(policy.logical_not()).abs().max().item<double>(), 1e-4);
}

TEST(PolicyUpdate, ARefusedNaturalGradientStepKeepsThePolicyAndStillTrainsTheCritic) {
  Fixture f;
  PpoConfig ppo;
  ppo.ent_coef = 0;
  TrustRegionConfig c = natural_gradient_config();
  c.natural_gradient.cg_damping = -100;  // F - 100 I: not positive definite
  TrustRegion tr(c);
  Rng rng(1);
  const torch::Tensor before = f.optimizer.parameters().clone();
  const UpdateStats stats = run_policy_update(*f.net, f.optimizer, tr, ppo, rng, f.batch, 1.0);
  ASSERT_TRUE(stats.natural_gradient.has_value());
  EXPECT_EQ(stats.natural_gradient->stepped, 0);
  EXPECT_EQ(stats.natural_gradient->not_stepped, 1);
  EXPECT_EQ(stats.natural_gradient->last_refusal,
            static_cast<int>(NaturalGradientOutcome::kNotPositiveDefinite));
  EXPECT_EQ(stats.kl_analytic, 0.0);
  const torch::Tensor policy = f.net->policy_parameter_mask().to(torch::kBool);
  const torch::Tensor after = f.optimizer.parameters();
  EXPECT_TRUE(torch::equal(after.masked_select(policy), before.masked_select(policy)));
  EXPECT_GT((after - before).masked_select(policy.logical_not()).abs().max().item<double>(), 1e-4);
}

TEST(PolicyUpdate, ANanInTheNaturalGradientStepStopsTheUpdateNamingTheQuantity) {
  Fixture f;
  f.batch.advantages[3] = std::numeric_limits<float>::quiet_NaN();
  PpoConfig ppo;
  ppo.norm_adv = false;
  TrustRegion tr(natural_gradient_config());
  Rng rng(1);
  try {
    run_policy_update(*f.net, f.optimizer, tr, ppo, rng, f.batch, 1.0);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("surrogate"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace trustrl::agents
