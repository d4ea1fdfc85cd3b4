#include "server/env_protocol/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace trustrl::server {
namespace {

TEST(WorkerPool, OneThreadRunsTasksInOrderOfArrival) {
  std::vector<int> order;  // written by the one worker only; read after it is joined
  {
    WorkerPool pool(1);
    for (int i = 0; i < 100; ++i) pool.post([&order, i] { order.push_back(i); });
  }
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

TEST(WorkerPool, TheDestructorRunsEveryTaskAlreadyPosted) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(3);
    for (int i = 0; i < 300; ++i) pool.post([&ran] { ran.fetch_add(1); });
  }
  EXPECT_EQ(ran.load(), 300);
}

// A task that blocks does not hold up the others: each of three tasks waits until all three
// have started, which only three threads at once can satisfy (bounded: 10 s, then it fails).
TEST(WorkerPool, ThreadsRunTasksAtTheSameTime) {
  std::mutex mutex;
  std::condition_variable all_started;
  int started = 0;
  std::atomic<int> met{0};
  {
    WorkerPool pool(3);
    for (int i = 0; i < 3; ++i)
      pool.post([&] {
        std::unique_lock lock(mutex);
        ++started;
        all_started.notify_all();
        if (all_started.wait_for(lock, std::chrono::seconds(10), [&] { return started == 3; }))
          met.fetch_add(1);
      });
  }
  EXPECT_EQ(met.load(), 3);
}

TEST(WorkerPool, AtLeastOneThreadWhateverTheCount) {
  std::atomic<bool> ran{false};
  {
    WorkerPool pool(0);
    pool.post([&ran] { ran = true; });
  }
  EXPECT_TRUE(ran.load());
}

}  // namespace
}  // namespace trustrl::server
