#pragma once
// Takes every free file descriptor, as a flood of connections would, and gives them all back a
// fixed time later from its own thread: code under test meets EMFILE for that long.
//
//   DescriptorShortage shortage(std::chrono::milliseconds(300));
//   write_file_atomic(path, bytes);  // must wait the shortage out
//
// Nothing here needs a descriptor while they are held, and the sanitizers are kept from needing
// one: UBSan's vptr check, the first time it meets a (dynamic, static) type pair, probes memory
// through a pipe (two descriptors); without one it reports an "invalid vptr" and ends the
// process. So the releasing thread (std::thread's state is polymorphic) is started before any
// descriptor is taken, and a trustrl::Error is thrown and read first, so that a retry that gives
// up fails the test with its own message rather than a sanitizer's.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace trustrl::testing {

class DescriptorShortage {
 public:
  /// Takes every free descriptor (at most `max_taken`; lower RLIMIT_NOFILE first to keep it
  /// small) and releases them `hold` after the last one was taken.
  explicit DescriptorShortage(std::chrono::milliseconds hold, std::size_t max_taken = 100000);
  /// Waits for the release (at most `hold`).
  ~DescriptorShortage();
  DescriptorShortage(const DescriptorShortage&) = delete;
  DescriptorShortage& operator=(const DescriptorShortage&) = delete;

  /// How many descriptors were taken.
  std::size_t taken() const { return taken_; }
  /// When the last descriptor was taken: none was free from then until the release.
  std::chrono::steady_clock::time_point taken_at() const { return taken_at_; }
  /// Blocks until every descriptor is back.
  void wait_released();

 private:
  std::chrono::milliseconds hold_;
  std::vector<int> held_;
  std::size_t taken_ = 0;
  std::chrono::steady_clock::time_point taken_at_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool all_taken_ = false;
  bool released_ = false;
  std::thread releaser_;
};

}  // namespace trustrl::testing
