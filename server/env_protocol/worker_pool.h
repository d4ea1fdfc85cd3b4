#pragma once
// A few threads that run posted tasks in order of arrival; the env server steps slow envs here so
// that gRPC's own threads are never held by a simulator.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace trustrl::server {

class WorkerPool {
 public:
  explicit WorkerPool(int num_threads);
  /// Runs every task already posted, then joins the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Queues `task`; it must not throw.
  void post(std::function<void()> task);

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace trustrl::server
