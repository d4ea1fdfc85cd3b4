#include "tests/support/descriptor_shortage.h"

#include <fcntl.h>
#include <unistd.h>

#include <exception>

#include "core/error.h"

namespace trustrl::testing {

DescriptorShortage::DescriptorShortage(std::chrono::milliseconds hold, std::size_t max_taken)
    : hold_(hold) {
  // A trustrl::Error thrown during the shortage (a retry that gave up) must fail the test with
  // its message: one thrown and read now spares UBSan's vptr check its first look, and its pipe.
  try {
    throw Error("a descriptor shortage is about to begin");
  } catch (const std::exception& e) {
    static_cast<void>(e.what());
  }
  releaser_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return all_taken_; });
    // Held for `hold_` from the moment the last one was taken, however late this thread woke.
    const auto release_at = taken_at_ + hold_;
    lock.unlock();
    std::this_thread::sleep_until(release_at);
    lock.lock();
    for (const int fd : held_) ::close(fd);
    released_ = true;
    changed_.notify_all();
  });
  for (int fd; held_.size() < max_taken && (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
    held_.push_back(fd);
  const std::lock_guard lock(mutex_);
  taken_ = held_.size();
  taken_at_ = std::chrono::steady_clock::now();
  all_taken_ = true;
  changed_.notify_all();
}

DescriptorShortage::~DescriptorShortage() {
  wait_released();
  releaser_.join();
}

void DescriptorShortage::wait_released() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return released_; });
}

}  // namespace trustrl::testing
