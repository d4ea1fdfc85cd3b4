#include "agents/distribution.h"

#include <gtest/gtest.h>

#include <cmath>

#include "agents/kl.h"

namespace trustrl::agents {
namespace {

TEST(Distribution, CategoricalLogProbEntropyMode) {
  const auto logits = torch::tensor({{0.0, std::log(3.0)}});
  const auto d = Distribution::categorical(logits);
  const auto lp = d.log_prob(torch::tensor({{1}}, torch::kInt64));
  EXPECT_NEAR(lp.item<double>(), std::log(0.75), 1e-6);
  EXPECT_NEAR(d.entropy().item<double>(), -(0.25 * std::log(0.25) + 0.75 * std::log(0.75)), 1e-6);
  EXPECT_EQ(d.mode().item<std::int64_t>(), 1);
}

TEST(Distribution, GaussianLogProbAndEntropy) {
  const auto mean = torch::tensor({{1.0, -2.0}}), log_std = torch::tensor({0.5, -0.5});
  const auto d = Distribution::diag_gaussian(mean, log_std);
  const auto a = torch::tensor({{1.5, -2.0}});
  double want = 0;
  for (int k = 0; k < 2; ++k) {
    const double s = std::exp(log_std[k].item<double>());
    const double z = (a[0][k].item<double>() - mean[0][k].item<double>()) / s;
    want += -0.5 * z * z - std::log(s) - 0.5 * std::log(2 * M_PI);
  }
  EXPECT_NEAR(d.log_prob(a).item<double>(), want, 1e-5);
  EXPECT_NEAR(d.entropy().item<double>(), 2 * (0.5 + 0.5 * std::log(2 * M_PI)), 1e-5);
  EXPECT_TRUE(torch::equal(d.mode(), mean));
}

TEST(Distribution, MultiCategoricalSumsComponents) {
  const auto logits = torch::tensor({{0.0, 1.0, 0.5, 0.5, 2.0}});
  const auto d = Distribution::multi_categorical(logits, {2, 3});
  const auto a = torch::tensor({{1, 2}}, torch::kInt64);
  const double want = torch::log_softmax(logits.narrow(1, 0, 2), 1)[0][1].item<double>() +
                      torch::log_softmax(logits.narrow(1, 2, 3), 1)[0][2].item<double>();
  EXPECT_NEAR(d.log_prob(a).item<double>(), want, 1e-6);
  EXPECT_TRUE(torch::equal(d.mode(), torch::tensor({{1, 2}}, torch::kInt64)));
}

// The behaviour policy of an update is detach()ed before the steps; its state-independent log std
// must not follow the parameter, or KL(old || new) misses every change of std.
TEST(Distribution, DetachIsASnapshotOfAParameterLogStd) {
  const torch::Tensor log_std = torch::tensor({0.5F, -0.5F}).requires_grad_(true);
  const torch::Tensor mean = torch::zeros({3, 2});
  const Distribution old = Distribution::diag_gaussian(mean, log_std).detach();
  {
    torch::NoGradGuard no_grad;
    log_std.add_(0.25);  // an optimizer step in place
  }
  EXPECT_FLOAT_EQ(old.log_std()[2][0].item<float>(), 0.5F);
  const Distribution now = Distribution::diag_gaussian(mean, log_std);
  EXPECT_GT(kl_divergence(old, now).mean().item<double>(), 0.01);
}

TEST(Distribution, RowsAndSliceSelectTheBatch) {
  const auto logits = torch::randn({5, 3});
  const auto d = Distribution::categorical(logits);
  EXPECT_TRUE(torch::equal(
      d.rows(torch::tensor({3, 1}, torch::kInt64)).log_probs(),
      torch::log_softmax(logits, 1).index_select(0, torch::tensor({3, 1}, torch::kInt64))));
  EXPECT_TRUE(
      torch::equal(d.slice(1, 2).log_probs(), torch::log_softmax(logits, 1).narrow(0, 1, 2)));
}

}  // namespace
}  // namespace trustrl::agents
