#include "agents/kl.h"

#include <gtest/gtest.h>

#include <cmath>

namespace trustrl::agents {
namespace {

TEST(Kl, CategoricalClosedForm) {
  const auto p = torch::tensor({{0.2, 0.3, 0.5}}, torch::kFloat64);
  const auto q = torch::tensor({{0.6, 0.1, 0.3}}, torch::kFloat64);
  const auto dp = Distribution::categorical(p.log()), dq = Distribution::categorical(q.log());
  double want = 0;
  for (int k = 0; k < 3; ++k)
    want += p[0][k].item<double>() * std::log(p[0][k].item<double>() / q[0][k].item<double>());
  EXPECT_NEAR(kl_divergence(dp, dq).item<double>(), want, 1e-12);
  EXPECT_NEAR(kl_divergence(dp, dp).item<double>(), 0.0, 1e-12);
}

TEST(Kl, GaussianClosedForm) {
  const auto mp = torch::tensor({{0.5, -1.0}}, torch::kFloat64),
             sp = torch::tensor({0.3, -0.2}, torch::kFloat64);
  const auto mq = torch::tensor({{0.0, 1.0}}, torch::kFloat64),
             sq = torch::tensor({-0.1, 0.4}, torch::kFloat64);
  const auto p = Distribution::diag_gaussian(mp, sp), q = Distribution::diag_gaussian(mq, sq);
  double want = 0;
  for (int k = 0; k < 2; ++k) {
    const double s1 = std::exp(sp[k].item<double>()), s2 = std::exp(sq[k].item<double>());
    const double d = mp[0][k].item<double>() - mq[0][k].item<double>();
    want += std::log(s2 / s1) + (s1 * s1 + d * d) / (2 * s2 * s2) - 0.5;
  }
  EXPECT_NEAR(kl_divergence(p, q).item<double>(), want, 1e-12);
  // KL is not symmetric.
  EXPECT_GT(std::fabs(kl_divergence(p, q).item<double>() - kl_divergence(q, p).item<double>()),
            1e-3);
}

TEST(Kl, MultiCategoricalIsTheSumOverComponents) {
  torch::manual_seed(0);
  const auto lp = torch::randn({4, 5}, torch::kFloat64), lq = torch::randn({4, 5}, torch::kFloat64);
  const auto p = Distribution::multi_categorical(lp, {2, 3}),
             q = Distribution::multi_categorical(lq, {2, 3});
  const auto want = kl_divergence(Distribution::categorical(lp.narrow(1, 0, 2)),
                                  Distribution::categorical(lq.narrow(1, 0, 2))) +
                    kl_divergence(Distribution::categorical(lp.narrow(1, 2, 3)),
                                  Distribution::categorical(lq.narrow(1, 2, 3)));
  EXPECT_TRUE(torch::allclose(kl_divergence(p, q), want, 1e-12, 1e-12));
}

// Monte Carlo: E_{a ~ p}[log p(a) - log q(a)] = KL(p || q), and the three estimators with
// r = q(a) / p(a) (new over old) estimate the same number: k1 and k3 without bias, k2 close.
void monte_carlo(const std::function<std::pair<Distribution, Distribution>()>& make_pair,
                 const std::function<torch::Tensor(const Distribution&, int)>& sample, int pairs) {
  int k2_checked = 0;
  for (int i = 0; i < pairs; ++i) {
    torch::manual_seed(100 + i);
    const std::pair<Distribution, Distribution> pq = make_pair();
    const Distribution& p = pq.first;
    const Distribution& q = pq.second;
    const auto actions = sample(p, 200000);
    const torch::Tensor log_ratio = q.log_prob(actions) - p.log_prob(actions);
    const double analytic = kl_divergence(p, q)[0].item<double>();
    const double k1 = kl_k1(log_ratio).mean().item<double>();
    const double k3 = kl_k3(log_ratio).mean().item<double>();
    const double k2 = kl_k2(log_ratio).mean().item<double>();
    const double tol = 0.02 * analytic + 2e-3;
    EXPECT_NEAR(k1, analytic, tol) << "pair " << i;
    EXPECT_NEAR(k3, analytic, tol) << "pair " << i;
    EXPECT_GE(kl_k3(log_ratio).min().item<double>(), 0.0);
    // k2 is biased, but close for nearby distributions.
    if (analytic < 0.05) {
      EXPECT_NEAR(k2, analytic, 0.2 * analytic + 2e-3) << "pair " << i;
      ++k2_checked;
    }
  }
  EXPECT_GT(k2_checked, 0) << "no pair was close enough to check k2";
}

TEST(Kl, EstimatorsMatchAnalyticCategorical) {
  auto make = [] {
    const auto lp = torch::randn({1, 6}, torch::kFloat64) * 0.5;
    const auto lq = lp + torch::randn({1, 6}, torch::kFloat64) * 0.3;
    return std::make_pair(
        Distribution::categorical(lp).rows(torch::zeros({200000}, torch::kInt64)),
        Distribution::categorical(lq).rows(torch::zeros({200000}, torch::kInt64)));
  };
  auto sample = [](const Distribution& p, int n) {
    return torch::multinomial(p.log_probs().narrow(0, 0, 1).exp(), n, true).view({n, 1});
  };
  monte_carlo(make, sample, 10);
}

TEST(Kl, EstimatorsMatchAnalyticGaussian) {
  auto make = [] {
    const auto m = torch::randn({1, 3}, torch::kFloat64),
               s = torch::randn({3}, torch::kFloat64) * 0.3;
    const auto m2 = m + torch::randn({1, 3}, torch::kFloat64) * 0.2,
               s2 = s + torch::randn({3}, torch::kFloat64) * 0.1;
    return std::make_pair(Distribution::diag_gaussian(m.expand({200000, 3}), s),
                          Distribution::diag_gaussian(m2.expand({200000, 3}), s2));
  };
  auto sample = [](const Distribution& p, int n) {
    return p.mean() +
           torch::exp(p.log_std()) * torch::randn({n, p.mean().size(1)}, torch::kFloat64);
  };
  monte_carlo(make, sample, 10);
}

TEST(Kl, EstimatorFormulas) {
  const auto lr = torch::tensor({-0.5, 0.0, 0.3}, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(kl_k1(lr), -lr));
  EXPECT_TRUE(torch::allclose(kl_k2(lr), 0.5 * lr * lr));
  EXPECT_TRUE(torch::allclose(kl_k3(lr), torch::exp(lr) - 1 - lr));
}

}  // namespace
}  // namespace trustrl::agents
