#include "agents/fused_update.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "agents/critic_rows.h"
#include "agents/flat_adam.h"
#include "agents/kernel_path.h"
#include "agents/network.h"
#include "agents/policy_update.h"
#include "agents/trust_region.h"
#include "core/error.h"
#include "core/rng.h"

namespace trustrl::agents {
namespace {

struct Case {
  std::string name;
  envs::Space space;
  Activation activation = Activation::kTanh;
  std::int64_t critic_input_dim = 5;  // the observation has 5 features
  bool value_clip = true;
  std::optional<double> huber_delta = std::nullopt;  // Huber value loss (MAPPO's configs)
};

NetworkConfig network_config(const Case& c) {
  NetworkConfig n;
  n.activation = c.activation;
  n.log_std_init = -0.5;
  return n;
}

ActorCritic make_net(const Case& c, std::uint64_t seed) {
  torch::manual_seed(
      static_cast<std::int64_t>(seed));  // the same initial weights for the same seed
  return ActorCritic(NetworkShape{5, c.critic_input_dim, c.space}, network_config(c));
}

// A net and a batch whose old log-probs and values are perturbed away from the current ones, so
// that ratios leave the clip range and value clipping both binds and does not.
struct Problem {
  ActorCritic net;
  FlatAdam optimizer;
  UpdateBatch batch;
  Problem(const Case& c, std::uint64_t seed, std::int64_t rows = 96)
      : net(make_net(c, seed)), optimizer(*net, 2.5e-4) {
    torch::manual_seed(static_cast<std::int64_t>(seed) + 100);
    batch.obs = torch::randn({rows, 5});
    batch.critic_inputs =
        c.critic_input_dim == 5 ? batch.obs : torch::randn({rows, c.critic_input_dim});
    if (c.space.is_discrete())
      batch.actions = torch::randint(0, c.space.num_logits(), {rows, 1}, torch::kInt64);
    else
      batch.actions = torch::randn({rows, c.space.flat_dim()});
    torch::NoGradGuard no_grad;
    batch.old_log_probs =
        net->distribution(batch.obs).log_prob(batch.actions) + 0.3 * torch::randn({rows});
    batch.old_values = net->value(batch.critic_inputs) + 0.3 * torch::randn({rows});
    batch.advantages = 1 + 3 * torch::randn({rows});
    batch.returns = torch::randn({rows});
  }
};

PpoConfig ppo_config(const Case& c) {
  PpoConfig ppo;
  if (!c.value_clip) ppo.value_clip.reset();
  ppo.value_huber_delta = c.huber_delta;
  return ppo;
}

// The autograd path's value loss for the batch (with its graph), as policy_update.cpp writes it.
torch::Tensor autograd_value_loss(Problem& s, const PpoConfig& ppo) {
  const UpdateBatch& b = s.batch;
  const torch::Tensor v = s.net->value(b.critic_inputs);
  auto error_loss = [&](const torch::Tensor& err) {
    if (!ppo.value_huber_delta) return 0.5 * err * err;
    const double d = *ppo.value_huber_delta;
    return torch::where(err.abs() <= d, 0.5 * err * err, d * (err.abs() - 0.5 * d));
  };
  torch::Tensor v_loss = error_loss(v - b.returns);
  if (ppo.value_clip) {
    const torch::Tensor clipped =
        b.old_values + torch::clamp(v - b.old_values, -*ppo.value_clip, *ppo.value_clip);
    v_loss = torch::max(v_loss, error_loss(clipped - b.returns));
  }
  return v_loss.mean();
}

// The autograd path's loss for one minibatch, written as policy_update.cpp writes it.
FusedLosses autograd_gradient(Problem& s, const PpoConfig& ppo, const TrustRegion& tr) {
  const UpdateBatch& b = s.batch;
  const Distribution dist = s.net->distribution(b.obs);
  const torch::Tensor ratio = torch::exp(dist.log_prob(b.actions) - b.old_log_probs);
  const torch::Tensor adv = (b.advantages - b.advantages.mean()) / (b.advantages.std() + 1e-8);
  const torch::Tensor pg_loss = tr.policy_loss(ratio, adv, torch::Tensor());
  const torch::Tensor v_loss = autograd_value_loss(s, ppo);
  const torch::Tensor entropy = dist.entropy().mean();
  const torch::Tensor loss = pg_loss - ppo.ent_coef * entropy + ppo.vf_coef * v_loss;
  s.optimizer.zero_grad();
  loss.backward();
  FusedLosses l;
  l.policy_loss = pg_loss.item<double>();
  l.value_loss = v_loss.item<double>();
  l.entropy = entropy.item<double>();
  l.clip_fraction = tr.clip_fraction(ratio).item<double>();
  l.mean_ratio = ratio.mean().item<double>();
  return l;
}

class FusedGradient : public ::testing::TestWithParam<Case> {};

TEST_P(FusedGradient, MatchesAutograd) {
  const Case& c = GetParam();
  Problem s(c, 3);
  const PpoConfig ppo = ppo_config(c);
  TrustRegion tr{TrustRegionConfig{}};
  tr.begin_update(1.0);
  ASSERT_TRUE(fused_update_eligible(*s.net, s.optimizer, tr, ppo, 1));

  const FusedLosses expected = autograd_gradient(s, ppo, tr);
  const torch::Tensor reference = s.optimizer.gradients().clone();
  s.optimizer.gradients().fill_(123.0F);  // the fused path must overwrite every slot
  FusedPpoGradient fused(*s.net, s.optimizer, ppo);
  const UpdateBatch& b = s.batch;
  const FusedLosses got = fused.compute(
      {b.obs, b.critic_inputs, b.actions, b.old_log_probs, b.old_values, b.advantages, b.returns,
       /*critic_index=*/{}},
      tr.clip_epsilon());

  const torch::Tensor g = s.optimizer.gradients();
  const double relative = ((g - reference).norm() / reference.norm()).item<double>();
  EXPECT_LT(relative, 1e-5) << c.name;
  EXPECT_TRUE(torch::allclose(g, reference, 1e-4, 1e-6))
      << c.name << " max abs diff " << (g - reference).abs().max().item<double>();
  EXPECT_NEAR(got.policy_loss, expected.policy_loss, 1e-5);
  EXPECT_NEAR(got.value_loss, expected.value_loss, 1e-5 * std::max(1.0, expected.value_loss));
  EXPECT_NEAR(got.entropy, expected.entropy, 1e-5);
  EXPECT_NEAR(got.clip_fraction, expected.clip_fraction, 1e-6);  // torch counts in float
  EXPECT_NEAR(got.mean_ratio, expected.mean_ratio, 1e-5);
  // The batch exercises both sides of the clip.
  EXPECT_GT(got.clip_fraction, 0.05);
  EXPECT_LT(got.clip_fraction, 0.95);
}

// The natural-gradient mode's critic step: vf_coef * value_loss alone, so the policy's gradients
// are zero and the critic's are autograd's.
TEST_P(FusedGradient, ValueAloneMatchesAutograd) {
  const Case& c = GetParam();
  Problem s(c, 4);
  PpoConfig ppo = ppo_config(c);
  ppo.vf_coef = 0.7;
  ASSERT_TRUE(fused_value_eligible(*s.net, s.optimizer, ppo, 1));
  ASSERT_FALSE(fused_value_eligible(*s.net, s.optimizer, ppo, 2));
  const UpdateBatch& b = s.batch;
  const torch::Tensor v_loss = autograd_value_loss(s, ppo);
  s.optimizer.zero_grad();
  (ppo.vf_coef * v_loss).backward();
  const torch::Tensor reference = s.optimizer.gradients().clone();

  s.optimizer.gradients().fill_(123.0F);  // every slot must be overwritten, the policy's with 0
  FusedPpoGradient fused(*s.net, s.optimizer, ppo);
  const FusedLosses got = fused.compute_value(
      {.critic_inputs = b.critic_inputs, .old_values = b.old_values, .returns = b.returns});
  const torch::Tensor g = s.optimizer.gradients();
  EXPECT_LT(((g - reference).norm() / reference.norm()).item<double>(), 1e-5) << c.name;
  EXPECT_TRUE(torch::allclose(g, reference, 1e-4, 1e-6)) << c.name;
  const torch::Tensor policy_slots = g.masked_select(reference == 0);
  EXPECT_GT(policy_slots.numel(), 0) << c.name;
  EXPECT_TRUE(torch::equal(policy_slots, torch::zeros_like(policy_slots))) << c.name;
  EXPECT_NEAR(got.value_loss, v_loss.item<double>(), 1e-5 * std::max(1.0, got.value_loss));
}

// A whole natural-gradient update: the policy's step is the same code either way, the critic's
// epochs take the fused value step or autograd, and the two land together.
TEST(FusedUpdate, NaturalGradientCriticMatchesAutograd) {
  for (const Case& c : {Case{"categorical", envs::Space::discrete(2)},
                        Case{"gaussian", envs::Space::box(-1, 1, {2}), Activation::kTanh, 7}}) {
    TrustRegionConfig trust;
    trust.mode = TrustRegionMode::kNaturalGradient;
    trust.clip.reset();
    trust.kl_bound.delta = 0.01;
    PpoConfig ppo;
    ppo.minibatch_size = 64;
    ppo.update_epochs = 3;
    ppo.value_clip.reset();
    Problem fused(c, 12, 256), plain(c, 12, 256);
    TrustRegion tr_fused(trust), tr_plain(trust);
    Rng rng_fused(5), rng_plain(5);
    const UpdateStats a =
        run_policy_update(*fused.net, fused.optimizer, tr_fused, ppo, rng_fused, fused.batch, 1.0);
    ppo.fused_update = false;
    const UpdateStats b =
        run_policy_update(*plain.net, plain.optimizer, tr_plain, ppo, rng_plain, plain.batch, 1.0);
    ASSERT_TRUE(a.natural_gradient && b.natural_gradient);
    EXPECT_EQ(a.natural_gradient->stepped, 1) << c.name;
    const torch::Tensor diff =
        (fused.optimizer.parameters() - plain.optimizer.parameters()).abs().max();
    EXPECT_LT(diff.item<double>(), 1e-4) << c.name;
    const torch::Tensor moved =
        (fused.optimizer.parameters() - flat_parameters(*Problem(c, 12, 256).net)).abs().max();
    EXPECT_GT(moved.item<double>(), 1e-3) << c.name;
    EXPECT_EQ(a.minibatches, b.minibatches) << c.name;
    EXPECT_NEAR(a.value_loss, b.value_loss, 1e-4 * std::max(1.0, b.value_loss)) << c.name;
  }
}

// MAPPO's critic on the global state: samples of env steps x 3 agents, some agents inactive (left
// out, so a state has 1-3 readers), shuffled as an epoch shuffles them. Each sample's state index,
// and the number of states in `states`.
torch::Tensor shared_state_index(std::int64_t samples, std::int64_t& states) {
  std::vector<std::int64_t> index;
  states = 0;
  while (static_cast<std::int64_t>(index.size()) < samples) {
    for (int agent = 0; agent < 3 && static_cast<std::int64_t>(index.size()) < samples; ++agent)
      if (torch::rand({1}).item<float>() > 0.25F) index.push_back(states);
    ++states;
  }
  return torch::tensor(index, torch::kInt64).index_select(0, torch::randperm(samples));
}

// The fused step on each state once, gathered back per sample, gives autograd's gradient of the
// per-sample loss (each sample's own copy of its state's row), and the same losses.
TEST_P(FusedGradient, SharedStatesGiveThePerSampleGradient) {
  const Case& c = GetParam();
  Problem s(c, 5);
  std::int64_t states = 0;
  const torch::Tensor index = shared_state_index(s.batch.rows(), states);
  const torch::Tensor table = torch::randn({states, c.critic_input_dim});
  UpdateBatch& b = s.batch;
  b.critic_inputs = table.index_select(0, index);
  {
    torch::NoGradGuard no_grad;
    b.old_values = s.net->value(b.critic_inputs) + 0.3 * torch::randn({b.rows()});
  }
  const PpoConfig ppo = ppo_config(c);
  TrustRegion tr{TrustRegionConfig{}};
  tr.begin_update(1.0);
  const FusedLosses expected = autograd_gradient(s, ppo, tr);
  const torch::Tensor reference = s.optimizer.gradients().clone();
  s.optimizer.gradients().fill_(123.0F);

  CriticRowGather gather;
  const CriticRows rows = gather.gather(table, index, 0, b.rows());
  ASSERT_LT(rows.inputs.size(0), b.rows() * 2 / 3) << "too few shared states to test anything";
  FusedPpoGradient fused(*s.net, s.optimizer, ppo);
  const FusedLosses got = fused.compute({b.obs, rows.inputs, b.actions, b.old_log_probs,
                                         b.old_values, b.advantages, b.returns, rows.index},
                                        tr.clip_epsilon());
  const torch::Tensor g = s.optimizer.gradients();
  EXPECT_LT(((g - reference).norm() / reference.norm()).item<double>(), 1e-5) << c.name;
  EXPECT_NEAR(got.value_loss, expected.value_loss, 1e-5 * std::max(1.0, expected.value_loss));
  EXPECT_NEAR(got.policy_loss, expected.policy_loss, 1e-5);
  EXPECT_TRUE(torch::allclose(g, reference, 1e-4, 1e-6))
      << c.name << " max abs diff " << (g - reference).abs().max().item<double>();
  // The critic's part on its own, which the shared rows change (the actor's is the larger part).
  const torch::Tensor critic = 1 - s.net->policy_parameter_mask();
  const torch::Tensor critic_reference = critic * reference;
  ASSERT_GT(critic_reference.norm().item<double>(), 0.0);
  EXPECT_LT(((critic * g - critic_reference).norm() / critic_reference.norm()).item<double>(), 1e-5)
      << c.name;

  // A minibatch whose index does not fit its rows is refused.
  EXPECT_THROW(fused.compute({b.obs, rows.inputs, b.actions, b.old_log_probs, b.old_values,
                              b.advantages, b.returns, rows.index.narrow(0, 0, 5)},
                             0.2),
               Error);
}

// The update's whole-batch reads (behaviour distribution, KL) take the fused forward: the same
// distribution as libtorch's to float rounding, and a fresh copy that later steps do not move.
TEST_P(FusedGradient, FusedDistributionMatchesTheNetwork) {
  const Case& c = GetParam();
  Problem s(c, 13, 70);  // 70 rows: not a multiple of any tile
  ASSERT_TRUE(fused_forward_supported(*s.net));
  torch::NoGradGuard no_grad;
  const Distribution want = s.net->distribution(s.batch.obs);
  const Distribution got = fused_distribution(*s.net, s.batch.obs).detach();
  EXPECT_TRUE(
      torch::allclose(got.log_prob(s.batch.actions), want.log_prob(s.batch.actions), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(got.entropy(), want.entropy(), 1e-5, 1e-5));
  if (c.space.is_discrete())
    EXPECT_TRUE(torch::allclose(got.log_probs(), want.log_probs(), 1e-5, 1e-5));
  else
    EXPECT_TRUE(torch::allclose(got.mean(), want.mean(), 1e-5, 1e-5));
  const torch::Tensor before = got.log_prob(s.batch.actions).clone();
  s.optimizer.parameters().add_(0.1);  // every weight moves; the distribution must not
  EXPECT_TRUE(torch::equal(got.log_prob(s.batch.actions), before));
}

TEST(FusedUpdate, FusedDistributionRefusesWhatItDoesNotCompute) {
  NetworkConfig gsde;
  gsde.gsde = true;
  ActorCritic net(NetworkShape{3, 3, envs::Space::box(-1, 1, {2})}, gsde);
  EXPECT_FALSE(fused_forward_supported(*net));
  EXPECT_THROW(fused_distribution(*net, torch::zeros({2, 3})), Error);
  ActorCritic plain(NetworkShape{3, 3, envs::Space::discrete(2)}, NetworkConfig{});
  try {
    fused_distribution(*plain, torch::zeros({2, 4}));
    FAIL() << "4 features for a policy of 3";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("4 features"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FusedGradient,
    ::testing::Values(
        Case{"categorical_value_clip", envs::Space::discrete(3)},
        Case{"categorical_no_value_clip", envs::Space::discrete(3), Activation::kTanh, 5, false},
        Case{"gaussian_tanh", envs::Space::box(-1, 1, {2})},
        Case{"gaussian_relu", envs::Space::box(-1, 1, {2}), Activation::kRelu},
        Case{"categorical_relu", envs::Space::discrete(4), Activation::kRelu},
        Case{"wide_critic_input", envs::Space::discrete(2), Activation::kTanh, 9},
        // Huber deltas the errors straddle (returns ~N(0,1), values perturbed
        // by 0.3): both the quadratic and the linear piece carry gradient.
        Case{"huber_value_clip", envs::Space::discrete(3), Activation::kRelu, 5, true, 0.5},
        Case{"huber_no_value_clip", envs::Space::box(-1, 1, {2}), Activation::kTanh, 7, false,
             0.4}),
    [](const ::testing::TestParamInfo<Case>& param) { return param.param.name; });

TEST(FusedUpdate, WholeUpdateMatchesAutograd) {
  for (const Case& c :
       {Case{"categorical", envs::Space::discrete(2)},
        Case{"gaussian", envs::Space::box(-1, 1, {2}), Activation::kTanh, 7, false}}) {
    Problem fused(c, 11, 256), plain(c, 11, 256);
    ASSERT_TRUE(torch::equal(fused.optimizer.parameters(), plain.optimizer.parameters()));
    PpoConfig ppo = ppo_config(c);
    TrustRegion tr_fused{TrustRegionConfig{}}, tr_plain{TrustRegionConfig{}};
    ASSERT_TRUE(fused_update_eligible(*fused.net, fused.optimizer, tr_fused, ppo, 1));
    Rng rng_fused(5), rng_plain(5);
    const UpdateStats a =
        run_policy_update(*fused.net, fused.optimizer, tr_fused, ppo, rng_fused, fused.batch, 0.8);
    ppo.fused_update = false;
    const UpdateStats b =
        run_policy_update(*plain.net, plain.optimizer, tr_plain, ppo, rng_plain, plain.batch, 0.8);

    const torch::Tensor diff =
        (fused.optimizer.parameters() - plain.optimizer.parameters()).abs().max();
    EXPECT_LT(diff.item<double>(), 1e-4) << c.name;
    const torch::Tensor moved =
        (fused.optimizer.parameters() - flat_parameters(*Problem(c, 11, 256).net)).abs().max();
    EXPECT_GT(moved.item<double>(), 1e-3) << c.name;  // the update did something to compare
    EXPECT_EQ(a.minibatches, b.minibatches);
    EXPECT_NEAR(a.policy_loss, b.policy_loss, 1e-4);
    EXPECT_NEAR(a.value_loss, b.value_loss, 1e-4 * std::max(1.0, b.value_loss));
    EXPECT_NEAR(a.entropy, b.entropy, 1e-4);
    EXPECT_NEAR(a.clip_fraction, b.clip_fraction, 0.02);
    EXPECT_NEAR(a.first_ratio, b.first_ratio, 1e-5);
    EXPECT_NEAR(a.kl_analytic, b.kl_analytic, 1e-5);
  }
}

TEST(FusedUpdate, EligibilityFallsBackOutsideTheCommonCase) {
  const Case discrete{"categorical", envs::Space::discrete(2)};
  Problem s(discrete, 1);
  const PpoConfig ppo;
  const TrustRegion clip{TrustRegionConfig{}};
  EXPECT_TRUE(fused_update_eligible(*s.net, s.optimizer, clip, ppo, 1));
  EXPECT_FALSE(fused_update_eligible(*s.net, s.optimizer, clip, ppo, 2));  // data parallel

  PpoConfig off;
  off.fused_update = false;
  EXPECT_FALSE(fused_update_eligible(*s.net, s.optimizer, clip, off, 1));
  PpoConfig huber;
  huber.value_huber_delta = 1.0;
  EXPECT_TRUE(fused_update_eligible(*s.net, s.optimizer, clip, huber, 1));  // MAPPO's value loss

  TrustRegionConfig penalty;
  penalty.kl_penalty.enabled = true;
  EXPECT_FALSE(fused_update_eligible(*s.net, s.optimizer, TrustRegion(penalty), ppo, 1));
  TrustRegionConfig target;
  target.target_kl = 0.01;
  EXPECT_FALSE(fused_update_eligible(*s.net, s.optimizer, TrustRegion(target), ppo, 1));
  TrustRegionConfig bound_only;
  bound_only.clip.reset();
  bound_only.kl_bound.delta = 0.01;
  EXPECT_FALSE(fused_update_eligible(*s.net, s.optimizer, TrustRegion(bound_only), ppo, 1));

  NetworkConfig gsde;
  gsde.gsde = true;
  ActorCritic gsde_net(NetworkShape{5, 5, envs::Space::box(-1, 1, {2})}, gsde);
  FlatAdam gsde_optimizer(*gsde_net, 1e-3);
  EXPECT_FALSE(fused_update_eligible(*gsde_net, gsde_optimizer, clip, ppo, 1));

  ActorCritic multi(NetworkShape{5, 5, envs::Space::multi_discrete({2, 3})}, NetworkConfig{});
  FlatAdam multi_optimizer(*multi, 1e-3);
  EXPECT_FALSE(fused_update_eligible(*multi, multi_optimizer, clip, ppo, 1));

  // Parameters outside the optimizer's buffer (another optimizer re-seated them since).
  FlatAdam other(*s.net, 1e-3);
  EXPECT_FALSE(fused_update_eligible(*s.net, s.optimizer, clip, ppo, 1));
}

// The fused gradient is the same on every kernel path the CPU has (TRUSTRL_ISA) and on every
// OpenBLAS core it runs (the BLAS products): each combination gives the baseline path's gradient
// on Prescott's generic kernels to float tolerance.
TEST(FusedUpdate, EveryKernelPathAndBlasCoreGivesTheSameGradient) {
  const KernelPath saved_path = kernel_path();
  const std::string saved_core = blas_info().core;
  std::vector<std::string> cores = {""};  // "" leaves the BLAS as it is
  if (!saved_core.empty()) {
    cores = {"Prescott"};
    if (cpu_has(KernelPath::kAvx2)) cores.push_back("Haswell");
    if (cpu_has(KernelPath::kAvx512)) cores.push_back("SkylakeX");
  }
  for (const Case& c : {Case{"categorical_tanh", envs::Space::discrete(3)},
                        Case{"gaussian_relu", envs::Space::box(-1, 1, {2}), Activation::kRelu}}) {
    auto gradient = [&](KernelPath path, const std::string& core) {
      set_kernel_path(path);
      if (!core.empty()) {
        EXPECT_EQ(select_blas_core(core), core);
      }
      Problem s(c, 21, 131);
      FusedPpoGradient fused(*s.net, s.optimizer, ppo_config(c));
      const UpdateBatch& b = s.batch;
      fused.compute({b.obs, b.critic_inputs, b.actions, b.old_log_probs, b.old_values, b.advantages,
                     b.returns, /*critic_index=*/{}},
                    0.2);
      return s.optimizer.gradients().clone();
    };
    const torch::Tensor reference = gradient(KernelPath::kBaseline, cores.front());
    ASSERT_GT(reference.norm().item<double>(), 0.0);
    for (KernelPath path : {KernelPath::kBaseline, KernelPath::kAvx2, KernelPath::kAvx512}) {
      if (!cpu_has(path)) continue;
      for (const std::string& core : cores) {
        const torch::Tensor g = gradient(path, core);
        const double relative = ((g - reference).norm() / reference.norm()).item<double>();
        EXPECT_LT(relative, 1e-5) << c.name << " on " << kernel_path_name(path) << " / " << core;
      }
    }
  }
  set_kernel_path(saved_path);
  if (!saved_core.empty()) select_blas_core(saved_core);
}

}  // namespace
}  // namespace trustrl::agents
