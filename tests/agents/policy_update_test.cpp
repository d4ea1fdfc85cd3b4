#include "agents/policy_update.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <thread>

#include "agents/flat_adam.h"
#include "agents/kl.h"
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

// The natural-gradient update taken apart (the policy's step, then the critic's epochs, as
// mappo.update sequential takes them) lands exactly where the whole update does; each part moves
// its own parameters only and reports its own measures.
TEST(PolicyUpdate, NaturalGradientPolicyAndCriticApartMatchTheWholeUpdate) {
  Fixture whole, apart;
  apart.optimizer.set_parameters(whole.optimizer.parameters().clone());
  PpoConfig ppo;
  ppo.ent_coef = 0;
  TrustRegion tr_whole(natural_gradient_config()), tr_apart(natural_gradient_config());
  Rng rng_whole(1), rng_apart(1);
  const UpdateStats all =
      run_policy_update(*whole.net, whole.optimizer, tr_whole, ppo, rng_whole, whole.batch, 1.0);

  // The whole update took the policy's step beside the critic's epochs (two threads); taken
  // apart, one after the other: the same numbers.
  ASSERT_TRUE(all.natural_gradient.has_value());
  if (std::thread::hardware_concurrency() > 1) EXPECT_TRUE(all.natural_gradient->beside_critic);

  const torch::Tensor policy = apart.net->policy_parameter_mask().to(torch::kBool);
  const torch::Tensor critic = policy.logical_not();
  const torch::Tensor start = apart.optimizer.parameters().clone();
  const UpdateStats p = run_policy_update(*apart.net, apart.optimizer, tr_apart, ppo, rng_apart,
                                          whole.batch, 1.0, nullptr, UpdateParts::kPolicy);
  const torch::Tensor stepped = apart.optimizer.parameters().clone();
  EXPECT_GT((stepped - start).masked_select(policy).abs().max().item<double>(), 1e-4);
  EXPECT_TRUE(torch::equal(stepped.masked_select(critic), start.masked_select(critic)));
  ASSERT_TRUE(p.natural_gradient.has_value());
  EXPECT_FALSE(p.natural_gradient->beside_critic);
  EXPECT_EQ(p.natural_gradient->kl, all.natural_gradient->kl);
  EXPECT_EQ(p.kl_analytic, all.kl_analytic);
  EXPECT_EQ(p.minibatches, 0);
  EXPECT_EQ(p.value_loss, 0.0);

  const UpdateStats c = run_policy_update(*apart.net, apart.optimizer, tr_apart, ppo, rng_apart,
                                          whole.batch, 1.0, nullptr, UpdateParts::kCritic);
  const torch::Tensor trained = apart.optimizer.parameters();
  EXPECT_TRUE(torch::equal(trained.masked_select(policy), stepped.masked_select(policy)));
  EXPECT_GT((trained - stepped).masked_select(critic).abs().max().item<double>(), 1e-4);
  EXPECT_FALSE(c.natural_gradient.has_value());
  EXPECT_EQ(c.minibatches, ppo.update_epochs * ppo.num_minibatches);
  EXPECT_EQ(c.value_loss, all.value_loss);
  EXPECT_TRUE(torch::equal(trained, whole.optimizer.parameters()));
}

// Only the natural-gradient mode trains the policy and the critic apart.
TEST(PolicyUpdate, TheClippedUpdateIsNotTakenApart) {
  Fixture f;
  PpoConfig ppo;
  TrustRegion tr{TrustRegionConfig{}};
  Rng rng(1);
  for (const UpdateParts parts : {UpdateParts::kPolicy, UpdateParts::kCritic}) {
    try {
      run_policy_update(*f.net, f.optimizer, tr, ppo, rng, f.batch, 1.0, nullptr, parts);
      FAIL() << "the clipped update was taken apart";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("natural_gradient"), std::string::npos) << e.what();
    }
  }
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

// trust_region.reference with the policy before the update as the reference.
TrustRegionConfig with_reference(TrustRegionConfig c, double beta) {
  c.reference.policy = "in-memory";
  c.reference.beta = beta;
  return c;
}

Distribution current_policy(Fixture& f) {
  torch::NoGradGuard no_grad;
  return f.net->distribution(f.batch.obs).detach();
}

double kl_to(const Distribution& reference, Fixture& f) {
  torch::NoGradGuard no_grad;
  return kl_divergence(f.net->distribution(f.batch.obs), reference).mean().item<double>();
}

TEST(PolicyUpdate, AHugeReferenceBetaKeepsThePolicyAtTheReference) {
  for (const bool natural : {false, true}) {
    SCOPED_TRACE(natural ? "natural_gradient" : "minibatch");
    const TrustRegionConfig base = natural ? natural_gradient_config() : TrustRegionConfig{};
    PpoConfig ppo;
    ppo.fused_update = false;
    ppo.learning_rate = 3e-3;
    torch::manual_seed(99);
    Fixture free_run;
    const Distribution start = current_policy(free_run);
    {
      TrustRegion tr(base);
      Rng rng(1);
      run_policy_update(*free_run.net, free_run.optimizer, tr, ppo, rng, free_run.batch, 1.0);
    }
    const double moved = kl_to(start, free_run);
    ASSERT_GT(moved, 1e-3) << "without a reference the update hardly moves: the case tests nothing";

    torch::manual_seed(99);  // the same net as free_run's
    Fixture held;
    held.batch.reference = current_policy(held);
    TrustRegion tr(with_reference(base, 1e4));
    Rng rng(1);
    const UpdateStats stats =
        run_policy_update(*held.net, held.optimizer, tr, ppo, rng, held.batch, 1.0);
    const double kept = kl_to(*held.batch.reference, held);
    // About 3e-5 against 0.017 without the reference (Adam's steps oscillate about it).
    EXPECT_LT(kept, 2e-4) << "moved " << moved << " without the reference";
    ASSERT_TRUE(stats.reference_kl.has_value());
    EXPECT_NEAR(*stats.reference_kl, kept, 1e-6);
    EXPECT_EQ(stats.reference_beta, 1e4);
  }
}

TEST(PolicyUpdate, AReferenceWithBetaZeroChangesNothing) {
  for (const bool natural : {false, true}) {
    SCOPED_TRACE(natural ? "natural_gradient" : "minibatch");
    const TrustRegionConfig base = natural ? natural_gradient_config() : TrustRegionConfig{};
    PpoConfig ppo;
    ppo.fused_update = false;  // the reference term routes to autograd; compare on that path
    ppo.learning_rate = 3e-3;
    torch::manual_seed(99);
    Fixture plain;
    torch::manual_seed(99);  // the same net
    Fixture zero;
    zero.batch.reference = current_policy(zero);
    TrustRegion tr_plain(base), tr_zero(with_reference(base, 0.0));
    Rng rng_plain(1), rng_zero(1);
    const UpdateStats a =
        run_policy_update(*plain.net, plain.optimizer, tr_plain, ppo, rng_plain, plain.batch, 0.7);
    const UpdateStats b =
        run_policy_update(*zero.net, zero.optimizer, tr_zero, ppo, rng_zero, zero.batch, 0.7);
    EXPECT_TRUE(torch::equal(plain.optimizer.parameters(), zero.optimizer.parameters()));
    EXPECT_EQ(a.policy_loss, b.policy_loss);
    EXPECT_EQ(a.kl_analytic, b.kl_analytic);
    EXPECT_FALSE(a.reference_kl.has_value());
    ASSERT_TRUE(b.reference_kl.has_value());
    EXPECT_GT(*b.reference_kl, 0.0);
  }
}

TEST(PolicyUpdate, AReferenceMustComeWithItsDistribution) {
  Fixture f;
  PpoConfig ppo;
  TrustRegion tr(with_reference(TrustRegionConfig{}, 1.0));
  Rng rng(1);
  try {
    run_policy_update(*f.net, f.optimizer, tr, ppo, rng, f.batch, 1.0);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("reference"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace trustrl::agents
