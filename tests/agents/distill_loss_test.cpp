#include "agents/distill_loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "agents/kl.h"
#include "core/error.h"

namespace trustrl::agents {
namespace {

const torch::TensorOptions kF64 = torch::TensorOptions().dtype(torch::kFloat64);

// The norm of the loss's gradient with respect to the student's logits at `temperature`,
// optionally without the T^2 factor (to show that the factor is what keeps the scale).
double logit_gradient_norm(double temperature, KlDirection direction, bool scaled) {
  const torch::Tensor teacher = torch::tensor({{1.0, 0.2, -0.5, 0.3}}, kF64);
  const torch::Tensor student = torch::tensor({{0.1, 0.5, 0.4, -0.2}}, kF64).requires_grad_();
  torch::Tensor loss = distillation_loss(Distribution::categorical(teacher),
                                         Distribution::categorical(student), temperature, direction)
                           .sum();
  if (!scaled) loss = loss / (temperature * temperature);
  loss.backward();
  return student.grad().norm().item<double>();
}

TEST(DistillLoss, TemperatureSquaredKeepsTheGradientScale) {
  for (const KlDirection direction : {KlDirection::kForward, KlDirection::kReverse}) {
    const double at_one = logit_gradient_norm(1.0, direction, true);
    ASSERT_GT(at_one, 0.0);
    for (const double t : {2.0, 5.0, 10.0}) {
      const double ratio = logit_gradient_norm(t, direction, true) / at_one;
      EXPECT_GT(ratio, 0.5) << "T = " << t;
      EXPECT_LT(ratio, 2.0) << "T = " << t;
    }
    // Without the factor the gradient falls like 1/T^2.
    EXPECT_LT(logit_gradient_norm(10.0, direction, false) / at_one, 0.05);
  }
}

TEST(DistillLoss, ZeroExactlyWhenTheDistributionsAreEqual) {
  const torch::Tensor logits = torch::tensor({{2.0, -1.0, 0.5}, {0.0, 0.0, 3.0}}, kF64);
  const Distribution p = Distribution::categorical(logits);
  // Logits shifted by a constant per row are the same distribution.
  const Distribution same = Distribution::categorical(logits + 7.0);
  const Distribution other = Distribution::categorical(logits.flip({1}));
  for (const double t : {0.5, 1.0, 4.0})
    for (const KlDirection direction : {KlDirection::kForward, KlDirection::kReverse}) {
      const torch::Tensor zero = distillation_loss(p, same, t, direction);
      EXPECT_LT(zero.abs().max().item<double>(), 1e-12);
      const torch::Tensor positive = distillation_loss(p, other, t, direction);
      EXPECT_GT(positive.min().item<double>(), 1e-3);
    }
}

TEST(DistillLoss, DirectionMattersOnAnAsymmetricPair) {
  // A peaked teacher and a flat student: KL(t || s) and KL(s || t) differ.
  const Distribution t = Distribution::categorical(torch::tensor({{0.9, 0.05, 0.05}}, kF64).log());
  const Distribution s = Distribution::categorical(torch::tensor({{0.4, 0.3, 0.3}}, kF64).log());
  const double forward = distillation_loss(t, s, 1.0, KlDirection::kForward).item<double>();
  const double reverse = distillation_loss(t, s, 1.0, KlDirection::kReverse).item<double>();
  // By hand: sum p log(p / q).
  const double want_forward = 0.9 * std::log(0.9 / 0.4) + 2 * 0.05 * std::log(0.05 / 0.3);
  const double want_reverse = 0.4 * std::log(0.4 / 0.9) + 2 * 0.3 * std::log(0.3 / 0.05);
  EXPECT_NEAR(forward, want_forward, 1e-12);
  EXPECT_NEAR(reverse, want_reverse, 1e-12);
  EXPECT_GT(std::fabs(forward - reverse), 0.1);
}

TEST(DistillLoss, TemperedCategoricalIsTheSoftmaxOfScaledLogits) {
  const torch::Tensor z = torch::tensor({{3.0, 1.0, -2.0}}, kF64);
  const Distribution d = tempered(Distribution::categorical(z), 4.0);
  EXPECT_TRUE(torch::allclose(d.log_probs(), torch::log_softmax(z / 4.0, -1)));
}

TEST(DistillLoss, MultiCategoricalIsTheSumOverComponents) {
  const torch::Tensor zt = torch::tensor({{1.0, 0.0, -1.0, 2.0, 0.5}}, kF64);
  const torch::Tensor zs = torch::tensor({{0.0, 0.3, 0.1, -1.0, 1.0}}, kF64);
  const std::vector<std::int64_t> nvec = {3, 2};
  const Distribution t = Distribution::multi_categorical(zt, nvec),
                     s = Distribution::multi_categorical(zs, nvec);
  for (const KlDirection direction : {KlDirection::kForward, KlDirection::kReverse}) {
    const double whole = distillation_loss(t, s, 3.0, direction).item<double>();
    double parts = 0;
    std::int64_t offset = 0;
    for (const auto n : nvec) {
      parts += distillation_loss(Distribution::categorical(zt.narrow(1, offset, n)),
                                 Distribution::categorical(zs.narrow(1, offset, n)), 3.0, direction)
                   .item<double>();
      offset += n;
    }
    EXPECT_NEAR(whole, parts, 1e-12);
  }
}

TEST(DistillLoss, GaussianTemperatureScalesTheVariancesAndKeepsTheMeansGradient) {
  const torch::Tensor log_std = torch::tensor({0.2, -0.4}, kF64);
  const Distribution d = Distribution::diag_gaussian(torch::zeros({1, 2}, kF64), log_std);
  EXPECT_TRUE(torch::allclose(tempered(d, 9.0).log_std().exp(), 3.0 * log_std.exp()));

  const torch::Tensor teacher_mean = torch::tensor({{0.5, -1.0}}, kF64);
  const Distribution teacher = Distribution::diag_gaussian(teacher_mean, log_std);
  auto mean_gradient = [&](double t, KlDirection direction) {
    const torch::Tensor mean = torch::tensor({{0.0, 0.3}}, kF64).requires_grad_();
    distillation_loss(teacher, Distribution::diag_gaussian(mean, log_std), t, direction)
        .sum()
        .backward();
    return mean.grad();
  };
  for (const KlDirection direction : {KlDirection::kForward, KlDirection::kReverse}) {
    const torch::Tensor at_one = mean_gradient(1.0, direction);
    EXPECT_GT(at_one.norm().item<double>(), 0.1);
    for (const double t : {2.0, 10.0})
      EXPECT_TRUE(torch::allclose(mean_gradient(t, direction), at_one, 1e-10, 1e-12));
    // Zero exactly at the teacher, whatever T.
    EXPECT_NEAR(distillation_loss(teacher, teacher, 7.0, direction).item<double>(), 0.0, 1e-12);
  }
}

TEST(DistillLoss, RefusesATemperatureThatIsNotPositive) {
  const Distribution d = Distribution::categorical(torch::zeros({1, 2}, kF64));
  for (const double t : {0.0, -1.0, std::nan("")}) {
    try {
      distillation_loss(d, d, t, KlDirection::kForward);
      ADD_FAILURE() << "temperature " << t << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("temperature"), std::string::npos) << e.what();
    }
  }
}

TEST(DistillLoss, RefusesDistributionsOfDifferentKinds) {
  const Distribution c = Distribution::categorical(torch::zeros({1, 2}, kF64));
  const Distribution g =
      Distribution::diag_gaussian(torch::zeros({1, 2}, kF64), torch::zeros({2}, kF64));
  EXPECT_THROW(distillation_loss(c, g, 1.0, KlDirection::kForward), Error);
  const Distribution wider = Distribution::categorical(torch::zeros({1, 3}, kF64));
  EXPECT_THROW(distillation_loss(c, wider, 1.0, KlDirection::kForward), Error);
}

}  // namespace
}  // namespace trustrl::agents
