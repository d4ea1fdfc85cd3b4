#include "agents/threads.h"

#include <dlfcn.h>
#include <torch/torch.h>

namespace trustrl::agents {

void set_compute_threads(int threads) {
  torch::set_num_threads(threads);
  // Looked up at run time: the BLAS behind libtorch is chosen by Debian's alternatives system.
  using SetThreads = void (*)(int);
  if (auto* f = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(threads);
}

}  // namespace trustrl::agents
