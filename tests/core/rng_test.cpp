#include "core/rng.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace trustrl {
namespace {

TEST(Rng, SameSeedSameStream) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    differs |= x != c.next_u64();
  }
  EXPECT_TRUE(differs);
}

TEST(Rng, StateRoundTrips) {
  Rng a(7);
  for (int i = 0; i < 10; ++i) a.normal();
  Rng b(0);
  b.set_state(a.state());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.uniform(), b.uniform());
}

TEST(Rng, UniformMoments) {
  Rng r(1);
  double sum = 0, sum2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform(-2.0, 4.0);
    ASSERT_GE(u, -2.0);
    ASSERT_LT(u, 4.0);
    sum += u;
    sum2 += u * u;
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  EXPECT_NEAR(mean, 1.0, 0.02);
  EXPECT_NEAR(var, 3.0, 0.05);  // (b - a)^2 / 12
}

TEST(Rng, NormalMoments) {
  Rng r(2);
  double sum = 0, sum2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double x = r.normal();
    sum += x;
    sum2 += x * x;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sum2 / n, 1.0, 0.02);
}

TEST(Rng, BelowCoversRangeUniformly) {
  Rng r(3);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) {
    const auto k = r.below(7);
    ASSERT_LT(k, 7u);
    ++counts[k];
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);
}

TEST(Rng, DerivedSeedsDiffer) {
  std::set<std::uint64_t> seen;
  for (std::uint64_t i = 0; i < 1000; ++i) seen.insert(Rng::derive(5, i));
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(Rng::derive(5, 3), Rng::derive(5, 3));
}

}  // namespace
}  // namespace trustrl
