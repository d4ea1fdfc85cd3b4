#include "core/balanced_ranges.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace trustrl {
namespace {

// Claims blocks for `home` until none is left and counts each item's claims.
void drain(BalancedRanges& ranges, int home, std::vector<std::atomic<int>>& hits) {
  for (auto [begin, end] = ranges.next(home); begin < end; std::tie(begin, end) = ranges.next(home))
    for (std::size_t i = begin; i < end; ++i) hits[i]++;
}

TEST(BalancedRanges, OneThreadAloneClaimsEveryItemOnce) {
  // A thread whose partners never run takes their ranges too.
  for (std::size_t items : {0, 1, 3, 7, 64, 1000})
    for (int threads : {1, 2, 3, 8}) {
      BalancedRanges ranges(items, threads);
      for (int home = 0; home < threads; ++home) {
        std::vector<std::atomic<int>> hits(items);
        ranges.reset();
        drain(ranges, home, hits);
        for (std::size_t i = 0; i < items; ++i)
          ASSERT_EQ(hits[i].load(), 1) << items << " items, " << threads << " threads, item " << i;
      }
    }
}

TEST(BalancedRanges, EachThreadStartsOnItsOwnRangeAndKeepsIt) {
  BalancedRanges ranges(64, 2);
  EXPECT_EQ(ranges.home_of(0), 0);
  EXPECT_EQ(ranges.home_of(31), 0);
  EXPECT_EQ(ranges.home_of(32), 1);
  EXPECT_EQ(ranges.home_of(63), 1);
  for (int round = 0; round < 3; ++round) {
    ranges.reset();
    // Alternating claims, as two threads of equal speed make them: neither takes the other's.
    std::vector<int> owner(64, -1);
    bool done = false;
    while (!done) {
      done = true;
      for (int home = 0; home < 2; ++home) {
        const auto [begin, end] = ranges.next(home);
        for (std::size_t i = begin; i < end; ++i) owner[i] = home;
        if (begin < end) done = false;
      }
    }
    for (std::size_t i = 0; i < 64; ++i) EXPECT_EQ(owner[i], ranges.home_of(i)) << i;
  }
}

TEST(BalancedRanges, AFastThreadTakesTheSlowOnesItemsFromTheBack) {
  BalancedRanges ranges(40, 2);
  const auto first = ranges.next(1);  // the slow thread holds its first block
  EXPECT_EQ(first.first, 20u);
  std::vector<std::atomic<int>> hits(40);
  drain(ranges, 0, hits);  // the fast one finishes its own and everything left of the other's
  for (std::size_t i = 0; i < 40; ++i)
    EXPECT_EQ(hits[i].load(), i >= first.first && i < first.second ? 0 : 1) << i;
  EXPECT_EQ(ranges.next(1).first, ranges.next(1).second) << "nothing left for the slow thread";
}

TEST(BalancedRanges, ThreadsTogetherClaimEveryItemOnce) {
  for (int threads : {2, 3, 4}) {
    BalancedRanges ranges(257, threads);
    for (int round = 0; round < 300; ++round) {
      std::vector<std::atomic<int>> hits(257);
      ranges.reset();
      std::vector<std::thread> pool;
      for (int h = 0; h < threads; ++h) pool.emplace_back([&, h] { drain(ranges, h, hits); });
      for (auto& t : pool) t.join();
      for (std::size_t i = 0; i < hits.size(); ++i) ASSERT_EQ(hits[i].load(), 1) << "item " << i;
    }
  }
}

TEST(BalancedRanges, RejectsZeroThreadsAndItemsPastTheLast) {
  EXPECT_ANY_THROW(BalancedRanges(4, 0));
  EXPECT_ANY_THROW(BalancedRanges(4, 2).home_of(4));
  EXPECT_ANY_THROW(BalancedRanges(0, 2).home_of(0));
}

}  // namespace
}  // namespace trustrl
