#include "core/sample_statistics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

namespace trustrl {
namespace {

// P(T <= t) for Student's t with `dof` degrees of freedom, by Simpson's rule over its density.
double t_cdf(double t, int dof) {
  const double n = dof;
  const double c = std::exp(std::lgamma((n + 1) / 2) - std::lgamma(n / 2)) / std::sqrt(n * M_PI);
  const auto pdf = [&](double x) { return c * std::pow(1 + x * x / n, -(n + 1) / 2); };
  const int steps = 200000;
  const double h = t / steps;
  double sum = pdf(0) + pdf(t);
  for (int i = 1; i < steps; ++i) sum += (i % 2 ? 4 : 2) * pdf(i * h);
  return 0.5 + sum * h / 3;
}

TEST(SampleStatistics, StudentQuantileHasProbability975) {
  for (const int dof : {1, 2, 3, 5, 9, 29, 30, 31, 45, 100, 999})
    EXPECT_NEAR(t_cdf(student_t_975(dof), dof), 0.975, 2e-6) << dof << " degrees of freedom";
  EXPECT_GT(student_t_975(1), student_t_975(2));
  EXPECT_NEAR(student_t_975(1000000), 1.959964, 1e-5);  // tends to the normal quantile
  EXPECT_THROW(student_t_975(0), Error);
}

TEST(SampleStatistics, SummarizesASample) {
  const SampleSummary s = summarize({1.0, 2.0, 3.0, 6.0});
  EXPECT_EQ(s.count, 4);
  EXPECT_DOUBLE_EQ(s.mean, 3.0);
  EXPECT_DOUBLE_EQ(s.std, std::sqrt(14.0 / 4));
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 6.0);
  ASSERT_TRUE(s.mean_ci95.has_value());
  // 3 +- t(0.975, 3) * sqrt(14 / 3) / 2
  const double half = 3.182446 * std::sqrt(14.0 / 3) / 2;
  EXPECT_NEAR(s.mean_ci95->low, 3 - half, 1e-9);
  EXPECT_NEAR(s.mean_ci95->high, 3 + half, 1e-9);
}

TEST(SampleStatistics, OneValueHasNoInterval) {
  const SampleSummary s = summarize({5.0});
  EXPECT_DOUBLE_EQ(s.mean, 5.0);
  EXPECT_DOUBLE_EQ(s.std, 0.0);
  EXPECT_FALSE(s.mean_ci95.has_value());
}

TEST(SampleStatistics, RefusesEmptyAndNonFiniteSamples) {
  EXPECT_THROW(summarize({}), Error);
  EXPECT_THROW(summarize({1.0, NAN}), Error);
}

}  // namespace
}  // namespace trustrl
