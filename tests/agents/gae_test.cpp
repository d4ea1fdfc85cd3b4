#include "agents/gae.h"

#include <gtest/gtest.h>

namespace trustrl::agents {
namespace {

TEST(Gae, HandComputedSingleStream) {
  // Three steps, one env, no episode end: bootstrap from V(s_3) = 10.
  const std::vector<float> r{1, 2, 3}, v{4, 5, 6}, fv{0, 0, 0}, boot{10};
  const std::vector<std::uint8_t> term{0, 0, 0}, trunc{0, 0, 0};
  const double g = 0.9, l = 0.8;
  std::vector<float> adv, ret;
  compute_gae(
      {3, 1, 1, r.data(), v.data(), term.data(), trunc.data(), fv.data(), boot.data(), g, l}, adv,
      ret);
  const double d2 = 3 + g * 10 - 6, d1 = 2 + g * 6 - 5, d0 = 1 + g * 5 - 4;
  const double a2 = d2, a1 = d1 + g * l * a2, a0 = d0 + g * l * a1;
  EXPECT_NEAR(adv[2], a2, 1e-5);
  EXPECT_NEAR(adv[1], a1, 1e-5);
  EXPECT_NEAR(adv[0], a0, 1e-5);
  EXPECT_NEAR(ret[0], a0 + 4, 1e-5);
}

TEST(Gae, TerminationDoesNotBootstrapTruncationDoes) {
  // Two envs, two steps. Env 0 terminates at t=0; env 1 is truncated at t=0 with V(final) = 7.
  const std::vector<float> r{1, 1, 1, 1}, v{2, 2, 3, 3}, fv{0, 7, 0, 0}, boot{5, 5};
  const std::vector<std::uint8_t> term{1, 0, 0, 0}, trunc{0, 1, 0, 0};
  const double g = 0.99, l = 0.95;
  std::vector<float> adv, ret;
  compute_gae(
      {2, 2, 1, r.data(), v.data(), term.data(), trunc.data(), fv.data(), boot.data(), g, l}, adv,
      ret);
  // Layout [T, N]: index t * 2 + copy. The chain does not leak across either episode boundary:
  // t=0's advantages hold only their own one-step target, although t=1's are far from zero.
  EXPECT_NEAR(adv[0], 1 - 2, 1e-5);          // r - V: nothing after a terminal state
  EXPECT_NEAR(adv[1], 1 + g * 7 - 2, 1e-5);  // bootstrap from the cut episode's final observation
  // t=1, the last step: both copies bootstrap from V(s_T).
  EXPECT_NEAR(adv[2], 1 + g * 5 - 3, 1e-5);
  EXPECT_NEAR(adv[3], 1 + g * 5 - 3, 1e-5);
}

TEST(Gae, LambdaZeroIsOneStepTd) {
  const std::vector<float> r{1, 2}, v{1, 1}, fv{0, 0}, boot{3};
  const std::vector<std::uint8_t> term{0, 0}, trunc{0, 0};
  std::vector<float> adv, ret;
  compute_gae(
      {2, 1, 1, r.data(), v.data(), term.data(), trunc.data(), fv.data(), boot.data(), 0.5, 0.0},
      adv, ret);
  EXPECT_NEAR(adv[0], 1 + 0.5 * 1 - 1, 1e-6);
  EXPECT_NEAR(adv[1], 2 + 0.5 * 3 - 1, 1e-6);
}

}  // namespace
}  // namespace trustrl::agents
