#pragma once
// Thread settings for libtorch and the BLAS below it.

namespace trustrl::agents {

/// Sets libtorch's intra-op threads and, when libtorch runs on OpenBLAS, OpenBLAS's own thread
/// pool to the same count; also keeps libtorch's mid-sized tensors off mmap (see threads.cpp).
/// OpenBLAS otherwise starts one busy-waiting thread per core, which on a small machine steals the
/// cores the env threads need (measured: ~40% system time).
void set_compute_threads(int threads);

}  // namespace trustrl::agents
