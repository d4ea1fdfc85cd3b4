#include "envs/random_actions.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace trustrl::envs {
namespace {

// Two agents of different kinds and widths: a Discrete one and a 3-wide Box, so rows are padded.
MultiAgentSpec mixed_spec() {
  MultiAgentSpec spec;
  spec.id = "mixed";
  spec.agent_names = {"picker", "mover"};
  spec.observation_spaces = {Space::box(-1, 1, {2}), Space::box(-1, 1, {2})};
  spec.action_spaces = {Space::discrete(4, 1), Space::box(-0.5f, 0.5f, {3})};
  return spec;
}

TEST(RandomJointActions, EachActiveRowLiesInItsAgentsSpaceAndTheRestHoldSentinels) {
  const MultiAgentSpec spec = mixed_spec();
  RandomJointActions actions(spec, 3, 11);
  const std::vector<std::uint8_t> active = {1, 1, 0, 1, 1, 0};  // [copy, agent]
  const ActionBatch b = actions.next(active);
  ASSERT_EQ(b.discrete.size(), 3u * 2 * 3);
  ASSERT_EQ(b.continuous.size(), 3u * 2 * 3);
  for (std::size_t k = 0; k < active.size(); ++k) {
    const auto d = b.discrete.subspan(k * 3, 3);
    const auto c = b.continuous.subspan(k * 3, 3);
    const bool picker = k % 2 == 0;
    if (active[k] && picker) {
      EXPECT_TRUE(spec.action_spaces[0].contains(d.subspan(0, 1))) << "row " << k;
      EXPECT_EQ(d[1], kNoDiscreteAction);
    } else if (active[k]) {
      EXPECT_TRUE(spec.action_spaces[1].contains(c)) << "row " << k;
      EXPECT_EQ(d[0], kNoDiscreteAction);
    } else {
      for (const auto x : d) EXPECT_EQ(x, kNoDiscreteAction) << "inactive row " << k;
    }
    if (!active[k] || picker) {
      for (const float x : c) EXPECT_TRUE(std::isnan(x)) << "row " << k;
    }
  }
}

TEST(RandomJointActions, ASeedGivesOneSequenceAndCallsDiffer) {
  RandomJointActions a(mixed_spec(), 2, 5), b(mixed_spec(), 2, 5);
  const ActionBatch first = a.next();
  const std::vector<float> first_values(first.continuous.begin(), first.continuous.end());
  const ActionBatch same = b.next();
  EXPECT_TRUE(std::equal(first.discrete.begin(), first.discrete.end(), same.discrete.begin()));
  const ActionBatch second = a.next();
  EXPECT_NE(std::vector<float>(second.continuous.begin(), second.continuous.end()), first_values);
  EXPECT_EQ(a.last().continuous.data(), second.continuous.data());
}

TEST(RandomJointActions, RefusesAMaskOfTheWrongSize) {
  RandomJointActions actions(mixed_spec(), 2, 1);
  const std::vector<std::uint8_t> active(3, 1);
  EXPECT_THROW(actions.next(active), Error);
}

TEST(ActionPool, CyclesItsBatchesAndEveryAgentActs) {
  const MultiAgentSpec spec = mixed_spec();
  const ActionPool pool(spec, 2, 3, 9);
  EXPECT_EQ(pool.row_width(), 3u);
  for (std::size_t k = 0; k < 3; ++k) {
    const ActionBatch b = pool.get(k);
    const ActionBatch again = pool.get(k + 3);
    EXPECT_EQ(b.discrete.data(), again.discrete.data());
    for (std::size_t row = 0; row < 4; ++row) {
      if (row % 2 == 0) {
        EXPECT_TRUE(spec.action_spaces[0].contains(b.discrete.subspan(row * 3, 1)));
      } else {
        EXPECT_TRUE(spec.action_spaces[1].contains(b.continuous.subspan(row * 3, 3)));
      }
    }
  }
  EXPECT_NE(pool.get(0).continuous.data(), pool.get(1).continuous.data());
  EXPECT_THROW(ActionPool(spec, 2, 0, 9), Error);
}

}  // namespace
}  // namespace trustrl::envs
