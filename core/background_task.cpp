#include "core/background_task.h"

#include <utility>

namespace trustrl {

BackgroundTask::~BackgroundTask() {
  {
    std::unique_lock lock(mutex_);
    wait_idle(lock);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackgroundTask::wait_idle(std::unique_lock<std::mutex>& lock) {
  changed_.wait(lock, [&] { return !job_; });
}

void BackgroundTask::submit(std::function<void()> job) {
  {
    std::unique_lock lock(mutex_);
    wait_idle(lock);
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    job_ = std::move(job);
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
  }
  changed_.notify_all();
}

void BackgroundTask::wait() {
  std::unique_lock lock(mutex_);
  wait_idle(lock);
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

bool BackgroundTask::wait_quietly() noexcept {
  std::unique_lock lock(mutex_);
  wait_idle(lock);
  return std::exchange(error_, nullptr) != nullptr;
}

void BackgroundTask::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return job_ || stopping_; });
    if (!job_) return;  // stopping, nothing left
    lock.unlock();
    std::exception_ptr error;
    try {
      job_();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    error_ = error;
    job_ = nullptr;
    changed_.notify_all();
  }
}

}  // namespace trustrl
