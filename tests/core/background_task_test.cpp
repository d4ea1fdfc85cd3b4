#include "core/background_task.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/error.h"

namespace trustrl {
namespace {

TEST(BackgroundTask, RunsJobsInOrderOneAtATime) {
  BackgroundTask task;
  std::vector<int> order;
  std::atomic<int> running{0}, most{0};
  for (int i = 0; i < 20; ++i)
    task.submit([&, i] {
      most = std::max(most.load(), ++running);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      order.push_back(i);  // only the task's thread touches it while jobs run
      --running;
    });
  task.wait();
  ASSERT_EQ(order.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
  EXPECT_EQ(most.load(), 1);
}

TEST(BackgroundTask, ReturnsBeforeTheJobEnds) {
  BackgroundTask task;
  std::atomic<bool> release{false}, done{false};
  task.submit([&] {
    while (!release) std::this_thread::yield();
    done = true;
  });
  EXPECT_FALSE(done.load());  // submit did not wait for it
  release = true;
  task.wait();
  EXPECT_TRUE(done.load());
}

TEST(BackgroundTask, AFailureReachesTheNextSubmitOnceAndStopsItsJob) {
  BackgroundTask task;
  task.submit([] { throw Error("disk full"); });
  bool ran = false;
  try {
    task.submit([&] { ran = true; });
    FAIL() << "the failure was not rethrown";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "disk full");
  }
  task.wait();
  EXPECT_FALSE(ran);
  task.submit([&] { ran = true; });  // rethrown once: the task goes on
  task.wait();
  EXPECT_TRUE(ran);
}

TEST(BackgroundTask, AFailureReachesWait) {
  BackgroundTask task;
  task.submit([] { throw std::runtime_error("no space"); });
  EXPECT_THROW(task.wait(), std::runtime_error);
  EXPECT_NO_THROW(task.wait());
  task.submit([] { throw Error("again"); });
  EXPECT_TRUE(task.wait_quietly());
  EXPECT_FALSE(task.wait_quietly());
}

TEST(BackgroundTask, DestructionWaitsForTheJobInFlight) {
  std::atomic<bool> done{false};
  {
    BackgroundTask task;
    task.submit([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      done = true;
    });
  }
  EXPECT_TRUE(done.load());
  BackgroundTask unused;  // never started: destroys without a thread
}

}  // namespace
}  // namespace trustrl
