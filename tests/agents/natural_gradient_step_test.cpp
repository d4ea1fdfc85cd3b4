#include "agents/natural_gradient_step.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "agents/fisher_vector_product.h"
#include "agents/kl.h"
#include "core/error.h"

namespace trustrl::agents {
namespace {

torch::Tensor random_actions(const envs::Space& space, std::int64_t rows) {
  if (space.kind == envs::SpaceKind::kBox) return torch::randn({rows, space.flat_dim()});
  const std::vector<std::int64_t> nvec = space.kind == envs::SpaceKind::kDiscrete
                                             ? std::vector<std::int64_t>{space.num_logits()}
                                             : space.nvec;
  std::vector<torch::Tensor> columns;
  for (const std::int64_t n : nvec) columns.push_back(torch::randint(0, n, {rows}, torch::kInt64));
  return torch::stack(columns, 1);
}

// A small actor-critic and an on-policy batch: actions sampled near the policy's mode, old
// log-probs the current ones, advantages random.
struct Problem {
  ActorCritic net;
  NaturalGradientBatch batch;
  Distribution old_dist;

  explicit Problem(const envs::Space& space, std::int64_t rows = 64)
      : net((torch::manual_seed(21), ActorCritic(NetworkShape{4, 4, space}, small_config()))) {
    torch::manual_seed(22);
    batch.obs = torch::randn({rows, 4});
    batch.actions = random_actions(space, rows);
    batch.advantages = torch::randn({rows});
    torch::NoGradGuard no_grad;
    old_dist = net->distribution(batch.obs).detach();
    batch.old_log_probs = old_dist.log_prob(batch.actions);
  }

  static NetworkConfig small_config() {
    NetworkConfig c;
    c.actor_hidden = {8};
    c.critic_hidden = {8};
    c.ortho_init = false;  // a head of gain 0.01 would make the problem nearly linear
    return c;
  }

  double kl_now() {
    torch::NoGradGuard no_grad;
    return kl_divergence(old_dist, net->distribution(batch.obs)).mean().item<double>();
  }
  double surrogate_now() {
    torch::NoGradGuard no_grad;
    const Distribution d = net->distribution(batch.obs);
    return (torch::exp(d.log_prob(batch.actions) - batch.old_log_probs) * batch.advantages)
        .mean()
        .item<double>();
  }
  torch::Tensor critic() { return net->critic_layers()[0]->weight.detach().clone(); }
};

struct SpaceCase {
  std::string name;
  envs::Space space;
};

void PrintTo(const SpaceCase& c, std::ostream* os) { *os << c.name; }

class NaturalGradientStepSpaces : public ::testing::TestWithParam<SpaceCase> {};

TEST_P(NaturalGradientStepSpaces, StepsWithinTheBoundAndImprovesTheSurrogate) {
  Problem p(GetParam().space);
  const torch::Tensor critic_before = p.critic();
  const double before = p.surrogate_now();
  NaturalGradientConfig config;
  config.delta = 0.02;
  const NaturalGradientStats s = natural_gradient_step(*p.net, p.batch, p.old_dist, config);
  ASSERT_EQ(s.outcome, NaturalGradientOutcome::kStepped)
      << natural_gradient_outcome_name(s.outcome);
  const double kl = p.kl_now();
  EXPECT_GT(kl, 0.0);
  EXPECT_LE(kl, config.delta);
  EXPECT_NEAR(s.kl, kl, 1e-6);
  EXPECT_NEAR(s.surrogate, before, 1e-6);
  EXPECT_GT(p.surrogate_now() - before, 0.0);
  EXPECT_NEAR(s.actual_improvement, p.surrogate_now() - before, 1e-6);
  EXPECT_GT(s.expected_improvement, 0.0);
  EXPECT_GE(s.actual_improvement, config.accept_ratio * s.expected_improvement);
  EXPECT_GT(s.cg_iterations, 0);
  EXPECT_LT(s.cg_residual, 1.0);
  EXPECT_TRUE(torch::equal(p.critic(), critic_before));
}

TEST_P(NaturalGradientStepSpaces, FullStepOfASmallBoundHasKlNearTheBound) {
  // For a small delta the quadratic model 1/2 s^T F s of the KL is accurate, so the full step
  // (no backtracking) lands close to delta from below (damping adds curvature, making it less).
  Problem p(GetParam().space);
  NaturalGradientConfig config;
  config.delta = 1e-4;
  config.cg_damping = 1e-3;
  config.cg_iters = 50;
  const NaturalGradientStats s = natural_gradient_step(*p.net, p.batch, p.old_dist, config);
  ASSERT_EQ(s.outcome, NaturalGradientOutcome::kStepped);
  EXPECT_EQ(s.backtracks, 0);
  EXPECT_LE(s.kl, config.delta);
  EXPECT_GT(s.kl, 0.5 * config.delta);
}

// The surrogate's gradient from the closed-form products' forward pass (kAuto: the heads' own
// formulas, entropy bonus included) and by autograd (kDoubleBackward, whose products are double
// backward too): the same surrogate and, to float rounding, the same step.
TEST_P(NaturalGradientStepSpaces, TheClosedFormGradientTakesAutogradsStep) {
  Problem closed(GetParam().space), autograd(GetParam().space);
  NaturalGradientConfig config;
  config.delta = 0.02;
  config.ent_coef = 0.05;
  const NaturalGradientStats a =
      natural_gradient_step(*closed.net, closed.batch, closed.old_dist, config);
  config.fisher_method = FisherMethod::kDoubleBackward;
  const NaturalGradientStats b =
      natural_gradient_step(*autograd.net, autograd.batch, autograd.old_dist, config);
  ASSERT_EQ(a.outcome, NaturalGradientOutcome::kStepped);
  ASSERT_EQ(b.outcome, NaturalGradientOutcome::kStepped);
  EXPECT_NEAR(a.surrogate, b.surrogate, 1e-6);
  EXPECT_EQ(a.backtracks, b.backtracks);
  EXPECT_NEAR(a.expected_improvement, b.expected_improvement,
              1e-4 * std::abs(b.expected_improvement));
  EXPECT_NEAR(a.kl, b.kl, 1e-4 * b.kl);
  const torch::Tensor pa = flat_policy_parameters(*closed.net),
                      pb = flat_policy_parameters(*autograd.net);
  const torch::Tensor start = flat_policy_parameters(*Problem(GetParam().space).net);
  EXPECT_GT((pb - start).norm().item<double>(), 1e-3);
  EXPECT_LT((pa - pb).norm().item<double>(), 1e-4 * (pb - start).norm().item<double>());
}

INSTANTIATE_TEST_SUITE_P(
    Spaces, NaturalGradientStepSpaces,
    ::testing::Values(SpaceCase{"categorical", envs::Space::discrete(3)},
                      SpaceCase{"multi_categorical", envs::Space::multi_discrete({2, 3})},
                      SpaceCase{"diag_gaussian", envs::Space::box(-1, 1, {2})}),
    [](const ::testing::TestParamInfo<SpaceCase>& space_case) { return space_case.param.name; });

TEST(NaturalGradientStep, ZeroAdvantagesLeaveThePolicyAsItWas) {
  Problem p(envs::Space::discrete(3));
  p.batch.advantages = torch::zeros_like(p.batch.advantages);
  const torch::Tensor before = flat_policy_parameters(*p.net);
  const NaturalGradientStats s = natural_gradient_step(*p.net, p.batch, p.old_dist, {});
  EXPECT_EQ(s.outcome, NaturalGradientOutcome::kZeroGradient);
  EXPECT_TRUE(torch::equal(flat_policy_parameters(*p.net), before));
}

TEST(NaturalGradientStep, NoAcceptableStepRestoresThePolicy) {
  // No step improves the surrogate by a million times its first-order prediction.
  Problem p(envs::Space::discrete(3));
  NaturalGradientConfig config;
  config.accept_ratio = 1e6;
  config.max_backtracks = 3;
  const torch::Tensor before = flat_policy_parameters(*p.net);
  const NaturalGradientStats s = natural_gradient_step(*p.net, p.batch, p.old_dist, config);
  EXPECT_EQ(s.outcome, NaturalGradientOutcome::kNoAcceptableStep);
  EXPECT_EQ(s.backtracks, 3);
  EXPECT_EQ(s.kl, 0.0);
  EXPECT_TRUE(torch::equal(flat_policy_parameters(*p.net), before));
}

TEST(NaturalGradientStep, AFisherThatIsNotPositiveDefiniteTakesNoStep) {
  // A negative damping makes F + damping I indefinite, as rounding can make F itself.
  Problem p(envs::Space::box(-1, 1, {2}));
  NaturalGradientConfig config;
  config.cg_damping = -100.0;
  const torch::Tensor before = flat_policy_parameters(*p.net);
  const NaturalGradientStats s = natural_gradient_step(*p.net, p.batch, p.old_dist, config);
  EXPECT_EQ(s.outcome, NaturalGradientOutcome::kNotPositiveDefinite);
  EXPECT_TRUE(torch::equal(flat_policy_parameters(*p.net), before));
}

TEST(NaturalGradientStep, ANanAdvantageStopsWithTheQuantityNamed) {
  Problem p(envs::Space::discrete(3));
  p.batch.advantages[5] = std::numeric_limits<float>::quiet_NaN();
  try {
    natural_gradient_step(*p.net, p.batch, p.old_dist, {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("surrogate"), std::string::npos) << e.what();
  }
}

TEST(NaturalGradientStep, ANonFiniteLineSearchStepThrowsWithThePolicyAsItWas) {
  // The old policy enters only the line search's KL: a NaN there is met after the policy moved.
  Problem p(envs::Space::discrete(3));
  torch::Tensor logits = p.old_dist.log_probs().clone();
  logits[0][1] = std::numeric_limits<float>::quiet_NaN();
  const Distribution broken = Distribution::categorical(logits);
  const torch::Tensor before = flat_policy_parameters(*p.net);
  try {
    natural_gradient_step(*p.net, p.batch, broken, {});
    FAIL() << "no error";
  } catch (const NonFiniteStepError& e) {
    EXPECT_NE(std::string(e.what()).find("line-search step"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(torch::equal(flat_policy_parameters(*p.net), before));
}

}  // namespace
}  // namespace trustrl::agents
