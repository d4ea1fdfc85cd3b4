#pragma once
// A fixed pool of worker threads that runs one parallel loop at a time.
//
// The hand-off is built for loops of a few microseconds (a batch of env copies): idle workers
// spin for a bounded time before parking on a condition variable (as EnvPool's workers do), so a
// loop that follows the last one closely starts without a wake-up, and an idle pool sleeps. The
// caller takes tasks too and waits only for tasks a worker has claimed, never for a worker that
// has not woken yet, so a pool is not slower than its caller alone by more than the claims.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace trustrl {

class ThreadPool {
 public:
  /// How long an idle worker (or the caller waiting for one) spins before it parks.
  static constexpr std::chrono::microseconds kSpin{100};

  /// `num_threads` counts the caller: 1 runs everything on the calling thread, no workers.
  explicit ThreadPool(int num_threads);
  /// Wakes every worker, spinning or parked, and joins it.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  /// Calls body(i) for every i in [0, count), spread over the threads, and returns when all are
  /// done. The first exception thrown by a body is rethrown here. Not reentrant.
  void parallel_for(std::size_t count, const std::function<void(std::size_t)>& body);

  /// Calls body(h) on the threads of the pool, h the calling thread's index (0 the caller, 1 to
  /// num_threads() - 1 the workers), for loops that keep each thread on its own share of the work
  /// (BalancedRanges). A worker that has not woken yet runs nothing and a thread may run body
  /// more than once, so the calls that do run must together finish the loop. Not reentrant.
  void run_on_threads(const std::function<void(int)>& body);

  /// Workers parked on the condition variable now (the rest spin or work); for tests.
  int parked_workers() const { return parked_.load(); }

 private:
  // One 64-bit ticket publishes a loop and hands out its tasks with one atomic add:
  // generation (32 bits) | task count (16 bits) | next task (16 bits).
  static constexpr std::size_t kMaxTasks = (std::size_t(1) << 15) - 1;

  void worker_loop(int index);
  // Claims and runs tasks of the published loop until none is left.
  void run_tasks();
  void run_round(std::size_t first, std::size_t count,
                 const std::function<void(std::size_t)>& body);

  std::vector<std::thread> workers_;
  std::atomic<std::uint64_t> ticket_{0};
  std::atomic<std::size_t> done_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<int> parked_{0};
  std::atomic<bool> caller_parked_{false};
  // Set before a loop's ticket is published and read only by a thread that claimed a task of it.
  const std::function<void(std::size_t)>* body_ = nullptr;
  std::size_t first_ = 0;

  std::mutex mutex_;  // guards error_ and orders parking against wake-ups
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  std::exception_ptr error_;
};

}  // namespace trustrl
