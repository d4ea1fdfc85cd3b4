#include "tests/support/descriptor_shortage.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>

namespace trustrl::testing {
namespace {

// Lowers the soft descriptor limit to what is open now plus `spare`, for the test's lifetime.
class LoweredDescriptorLimit {
 public:
  explicit LoweredDescriptorLimit(int spare) {
    EXPECT_EQ(::getrlimit(RLIMIT_NOFILE, &before_), 0);
    rlim_t open_now = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
      ++open_now;
    rlimit lowered = before_;
    lowered.rlim_cur = open_now + static_cast<rlim_t>(spare);
    EXPECT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  }
  ~LoweredDescriptorLimit() { ::setrlimit(RLIMIT_NOFILE, &before_); }

 private:
  rlimit before_{};
};

TEST(DescriptorShortage, NoDescriptorIsFreeUntilTheHoldEnds) {
  const LoweredDescriptorLimit limit(32);
  const auto hold = std::chrono::milliseconds(200);
  DescriptorShortage shortage(hold);
  EXPECT_GE(shortage.taken(), 16u);
  const int during = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int during_errno = errno;
  EXPECT_EQ(during, -1);
  EXPECT_EQ(during_errno, EMFILE);
  if (during >= 0) ::close(during);
  shortage.wait_released();
  EXPECT_GE(std::chrono::steady_clock::now() - shortage.taken_at(), hold);
  const int after = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  EXPECT_GE(after, 0) << "the descriptors were not given back";
  if (after >= 0) ::close(after);
}

TEST(DescriptorShortage, TakesNoMoreThanItIsAllowed) {
  const LoweredDescriptorLimit limit(32);
  const DescriptorShortage shortage(std::chrono::milliseconds(1), 5);
  EXPECT_EQ(shortage.taken(), 5u);
  const int spare = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  EXPECT_GE(spare, 0) << "more than 5 descriptors were taken";
  if (spare >= 0) ::close(spare);
}

}  // namespace
}  // namespace trustrl::testing
