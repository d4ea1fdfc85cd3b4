#pragma once
// One job at a time on a thread of its own, so that slow I/O (a checkpoint's writes and fsyncs)
// overlaps the caller's work. A job's failure is never lost: its exception is kept and rethrown
// to the caller by the next submit() or wait().

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace trustrl {

class BackgroundTask {
 public:
  BackgroundTask() = default;
  BackgroundTask(const BackgroundTask&) = delete;
  BackgroundTask& operator=(const BackgroundTask&) = delete;
  /// Waits for the job in flight. A failure it leaves unread is dropped: call wait() first.
  ~BackgroundTask();

  /// Waits for the job in flight (rethrowing its exception, in which case `job` does not
  /// start), then starts `job` and returns at once. The thread starts with the first job.
  void submit(std::function<void()> job);
  /// Waits for the job in flight, if any; rethrows its exception (once).
  void wait();
  /// Waits like wait() but never throws: for paths that already report a failure of their own.
  /// Returns whether a failure was dropped.
  bool wait_quietly() noexcept;

 private:
  void loop();
  // Waits until no job runs; the lock is held on return.
  void wait_idle(std::unique_lock<std::mutex>& lock);

  std::mutex mutex_;
  std::condition_variable changed_;
  std::function<void()> job_;  // set: a job waits or runs
  std::exception_ptr error_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace trustrl
