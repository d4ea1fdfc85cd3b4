#include "envs/space.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

namespace trustrl::envs {
namespace {

TEST(Space, Discrete) {
  const Space s = Space::discrete(3, 1);
  EXPECT_EQ(s.flat_dim(), 1);
  EXPECT_EQ(s.num_logits(), 3);
  EXPECT_TRUE(s.contains(std::vector<std::int64_t>{1}));
  EXPECT_TRUE(s.contains(std::vector<std::int64_t>{3}));
  EXPECT_FALSE(s.contains(std::vector<std::int64_t>{0}));
  EXPECT_FALSE(s.contains(std::vector<std::int64_t>{4}));
  EXPECT_EQ(s.describe(), "Discrete(3, start=1)");
  EXPECT_THROW(Space::discrete(0), Error);
}

TEST(Space, Box) {
  const Space s = Space::box({-1, -INFINITY}, {1, INFINITY});
  EXPECT_EQ(s.flat_dim(), 2);
  EXPECT_FALSE(s.bounded());
  EXPECT_TRUE(s.contains(std::vector<float>{0.5f, 1e30f}));
  EXPECT_FALSE(s.contains(std::vector<float>{1.5f, 0}));
  EXPECT_FALSE(s.contains(std::vector<float>{NAN, 0}));
  EXPECT_THROW(Space::box({1}, {0}), Error);
  EXPECT_EQ(Space::box(-2, 2, {1}).describe(), "Box(-2, 2, (1,))");
}

TEST(Space, MultiDiscrete) {
  const Space s = Space::multi_discrete({3, 2});
  EXPECT_EQ(s.flat_dim(), 2);
  EXPECT_EQ(s.num_logits(), 5);
  EXPECT_TRUE(s.contains(std::vector<std::int64_t>{2, 1}));
  EXPECT_FALSE(s.contains(std::vector<std::int64_t>{3, 0}));
  EXPECT_FALSE(s.contains(std::vector<std::int64_t>{0}));
}

TEST(Space, SamplesLieInTheSpace) {
  Rng rng(1);
  const Space box = Space::box({-1, 0}, {1, 5});
  const Space md = Space::multi_discrete({4, 2, 7});
  for (int i = 0; i < 1000; ++i) {
    std::vector<float> x(2);
    box.sample(rng, x);
    ASSERT_TRUE(box.contains(x));
    std::vector<std::int64_t> k(3);
    md.sample(rng, k);
    ASSERT_TRUE(md.contains(k));
  }
}

}  // namespace
}  // namespace trustrl::envs
