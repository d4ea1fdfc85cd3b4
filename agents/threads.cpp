#include "agents/threads.h"

#include <dlfcn.h>
#include <malloc.h>
#include <torch/torch.h>

namespace trustrl::agents {

void set_compute_threads(int threads) {
  // libtorch allocates a few hundred kB per op in an update; above glibc's default mmap threshold
  // every such tensor is a fresh mmap, page faults and munmap (measured: ~6% of an update in page
  // faults alone). Keep them on the heap and keep freed memory for reuse.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  torch::set_num_threads(threads);
  // Looked up at run time: the BLAS behind libtorch is chosen by Debian's alternatives system.
  using SetThreads = void (*)(int);
  if (auto* f = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    f(threads);
}

}  // namespace trustrl::agents
