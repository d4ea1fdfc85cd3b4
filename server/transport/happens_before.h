#pragma once
// Orderings that gRPC gives and ThreadSanitizer cannot see, stated at trustrl's side of each
// hand-off. Debian's libgrpc and abseil are not built with TSan and order their threads with
// their own atomics and futexes, so a reactor's callbacks on gRPC's threads, or an object handed
// to a call and taken back from it, look unordered to TSan. gRPC documents the orderings
// (grpcpp/support/server_callback.h: a reactor's reactions are serialized, and OnDone comes after
// every other); these calls tell TSan the same thing. Outside a TSan build they are empty.
//
//   happens_before(this);  StartWrite(&out_);          // on one thread
//   void OnWriteDone(bool) override { happens_after(this); ... }   // on another

#if defined(__SANITIZE_THREAD__)
#define TRUSTRL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TRUSTRL_TSAN 1
#endif
#endif

#ifdef TRUSTRL_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace trustrl::server {

/// Everything this thread did so far happens before what a later happens_after(key) is followed
/// by, on any thread. `key` is any address both sides agree on (the object handed over).
inline void happens_before([[maybe_unused]] const void* key) {
#ifdef TRUSTRL_TSAN
  __tsan_release(const_cast<void*>(key));
#endif
}

/// Pairs with every earlier happens_before(key).
inline void happens_after([[maybe_unused]] const void* key) {
#ifdef TRUSTRL_TSAN
  __tsan_acquire(const_cast<void*>(key));
#endif
}

}  // namespace trustrl::server
