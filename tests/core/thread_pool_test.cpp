#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace trustrl {
namespace {

TEST(ThreadPool, VisitsEveryIndexOnce) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    for (int round = 0; round < 50; ++round) {
      std::vector<std::atomic<int>> hits(97);
      pool.parallel_for(hits.size(), [&](std::size_t i) { hits[i]++; });
      for (auto& h : hits) ASSERT_EQ(h.load(), 1);
    }
  }
}

TEST(ThreadPool, RethrowsTheBodysException) {
  ThreadPool pool(3);
  try {
    pool.parallel_for(10, [](std::size_t i) {
      if (i == 5) throw std::runtime_error("boom");
    });
    ADD_FAILURE() << "the body's exception was swallowed";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom") << "not the body's exception";
  }
  // Still usable afterwards.
  std::atomic<int> n{0};
  pool.parallel_for(10, [&](std::size_t) { n++; });
  EXPECT_EQ(n.load(), 10);
}

TEST(ThreadPool, ManyTinyLoopsInARowLoseNoTask) {
  // Loops far shorter than a wake-up: the hand-off path where workers are still spinning, and
  // tasks claimed by a worker that woke late for the loop before.
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(3);
  for (int round = 0; round < 20000; ++round)
    pool.parallel_for(3, [&](std::size_t i) { hits[i]++; });
  for (auto& h : hits) EXPECT_EQ(h.load(), 20000);
}

TEST(ThreadPool, MoreTasksThanOneTicketHolds) {
  ThreadPool pool(2);
  std::vector<std::atomic<int>> hits(70000);
  pool.parallel_for(hits.size(), [&](std::size_t i) { hits[i]++; });
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);
}

TEST(ThreadPool, IdleWorkersStopSpinningAndPark) {
  ThreadPool pool(3);
  std::atomic<int> n{0};
  pool.parallel_for(3, [&](std::size_t) { n++; });
  // The spin is bounded (ThreadPool::kSpin): an idle pool must not hold cores. Polled for up to
  // 10 s, far beyond the bound, so a loaded machine only makes this slower.
  for (int i = 0; i < 10000 && pool.parked_workers() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(pool.parked_workers(), 2);
  // A parked pool still wakes for the next loop.
  pool.parallel_for(8, [&](std::size_t) { n++; });
  EXPECT_EQ(n.load(), 11);
}

TEST(ThreadPool, ShutdownReturnsWhetherWorkersSpinOrPark) {
  // Destroyed at once (workers never saw a loop), right after a loop (workers spinning) and
  // after they parked: each destructor must return (a hang fails the test by its timeout).
  for (int round = 0; round < 200; ++round) {
    ThreadPool fresh(4);
    ThreadPool busy(4);
    busy.parallel_for(4, [](std::size_t) {});
  }
  ThreadPool parked(4);
  parked.parallel_for(4, [](std::size_t) {});
  for (int i = 0; i < 10000 && parked.parked_workers() < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(parked.parked_workers(), 3);
}

TEST(ThreadPool, RunOnThreadsNamesEachThreadByOneIndex) {
  ThreadPool pool(3);
  std::mutex mutex;
  std::map<int, std::set<std::thread::id>> threads_of;  // index -> the threads that ran with it
  for (int round = 0; round < 2000; ++round)
    pool.run_on_threads([&](int index) {
      std::lock_guard lock(mutex);
      threads_of[index].insert(std::this_thread::get_id());
    });
  ASSERT_FALSE(threads_of.empty());
  EXPECT_EQ(threads_of.begin()->first, 0);
  EXPECT_LE(threads_of.rbegin()->first, 2);
  ASSERT_TRUE(threads_of.count(0));
  EXPECT_EQ(threads_of[0], std::set{std::this_thread::get_id()}) << "index 0 is the caller";
  for (const auto& [index, ids] : threads_of) EXPECT_EQ(ids.size(), 1u) << "index " << index;
  // A pool of one runs the body once, on the caller, as index 0.
  ThreadPool alone(1);
  int calls = 0;
  alone.run_on_threads([&](int index) {
    EXPECT_EQ(index, 0);
    ++calls;
  });
  EXPECT_EQ(calls, 1);
}

TEST(ThreadPool, RejectsZeroThreads) { EXPECT_ANY_THROW(ThreadPool(0)); }

}  // namespace
}  // namespace trustrl
