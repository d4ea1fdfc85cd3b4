#pragma once
// Which instruction-set path trustrl's own kernels run (the actor's dense layers, the fused
// update's elementwise loops) and which core the BLAS below libtorch runs. Both are chosen once
// per process, before main: TRUSTRL_ISA if set, else the best the CPU has.

#include <string>
#include <string_view>

namespace trustrl::agents {

enum class KernelPath { kBaseline = 0, kAvx2 = 1, kAvx512 = 2 };

/// "baseline", "avx2" or "avx512": the names TRUSTRL_ISA takes.
std::string_view kernel_path_name(KernelPath path);
/// The inverse of kernel_path_name; throws Error naming the accepted values.
KernelPath parse_kernel_path(std::string_view name);
/// Whether this CPU (and its OS) can run `path`.
bool cpu_has(KernelPath path);
/// The fastest path this CPU runs.
KernelPath best_kernel_path();

/// The path in use: TRUSTRL_ISA's if set (an Error if the value is unknown or the CPU lacks
/// it), else best_kernel_path(). Cheap: read on every kernel call.
KernelPath kernel_path();
/// Forces `path` for this process (tests run every path on the same inputs); throws Error if the
/// CPU lacks it.
void set_kernel_path(KernelPath path);

/// The copy of a kernel compiled for the path in use, from its three copies (each file that
/// compiles a loop per path picks with this).
template <class Kernel>
Kernel for_kernel_path(Kernel avx512, Kernel avx2, Kernel baseline) {
  switch (kernel_path()) {
    case KernelPath::kAvx512:
      return avx512;
    case KernelPath::kAvx2:
      return avx2;
    case KernelPath::kBaseline:
      break;
  }
  return baseline;
}

/// The BLAS below libtorch, as far as it can be read at run time.
struct BlasInfo {
  std::string library;    // "OpenBLAS 0.3.21 ..." (its config string), or "not OpenBLAS"
  std::string core;       // OpenBLAS's kernel core ("SkylakeX", "Haswell", "Prescott"), or ""
  std::string chosen_by;  // who chose the core, in words
};
BlasInfo blas_info();

/// The kernel path an OpenBLAS core name's kernels need ("Prescott" -> baseline, "Haswell" and
/// "Zen" -> avx2, "SkylakeX" -> avx512); unknown names count as baseline.
KernelPath blas_core_tier(std::string_view core);

/// Switches OpenBLAS to `core` (a name OPENBLAS_CORETYPE takes) and returns the core it then
/// runs, or "" where the BLAS is not OpenBLAS. No BLAS call may run at the same time.
std::string select_blas_core(const std::string& core);

/// One line for train.log: the kernel path and the BLAS core, and why each was chosen.
std::string kernel_report();

}  // namespace trustrl::agents
