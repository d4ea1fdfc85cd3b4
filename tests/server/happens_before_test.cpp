#include "server/transport/happens_before.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#ifdef TRUSTRL_TSAN
// TSan's dynamic annotations (exported by libtsan): synchronization in between is not seen.
extern "C" void AnnotateIgnoreSyncBegin(const char* file, int line);
extern "C" void AnnotateIgnoreSyncEnd(const char* file, int line);
#endif

namespace trustrl::server {
namespace {

// An acquire/release flag hidden from TSan, as gRPC's own atomics and futexes are: without
// happens_before / happens_after, scripts/sanitize.sh tsan reports the plain vector written on
// one thread and read and written on the other as a race.
template <typename F>
void unseen(F&& f) {
#ifdef TRUSTRL_TSAN
  AnnotateIgnoreSyncBegin(__FILE__, __LINE__);
  f();
  AnnotateIgnoreSyncEnd(__FILE__, __LINE__);
#else
  f();
#endif
}

TEST(HappensBefore, OrdersAHandOffThatTsanCannotSee) {
  for (int round = 0; round < 20; ++round) {
    std::vector<int> data;
    std::atomic<bool> handed{false};
    std::thread consumer([&] {
      bool ready = false;
      while (!ready) {
        unseen([&] { ready = handed.load(std::memory_order_acquire); });
        if (!ready) std::this_thread::yield();
      }
      happens_after(&data);
      EXPECT_EQ(data, (std::vector<int>{1, 2, 3}));
      data.push_back(4);
    });
    data = {1, 2, 3};
    happens_before(&data);
    unseen([&] { handed.store(true, std::memory_order_release); });
    consumer.join();
    EXPECT_EQ(data, (std::vector<int>{1, 2, 3, 4}));
  }
}

}  // namespace
}  // namespace trustrl::server
