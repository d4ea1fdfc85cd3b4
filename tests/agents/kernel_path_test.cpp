// The kernel path and BLAS core chosen at load time, and the choice by hand (TRUSTRL_ISA).

#include "agents/kernel_path.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/error.h"

namespace trustrl::agents {
namespace {

TEST(KernelPath, NamesRoundTripAndUnknownNamesAreRefused) {
  for (KernelPath p : {KernelPath::kBaseline, KernelPath::kAvx2, KernelPath::kAvx512})
    EXPECT_EQ(parse_kernel_path(kernel_path_name(p)), p);
  EXPECT_EQ(parse_kernel_path("AVX2"), KernelPath::kAvx2);
  try {
    parse_kernel_path("sse9");
    FAIL() << "an unknown path was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("baseline, avx2 or avx512"), std::string::npos)
        << e.what();
  }
}

TEST(KernelPath, BaselineRunsEverywhereAndTheBestPathIsOneTheCpuHas) {
  EXPECT_TRUE(cpu_has(KernelPath::kBaseline));
  EXPECT_TRUE(cpu_has(best_kernel_path()));
  if (cpu_has(KernelPath::kAvx512)) {
    EXPECT_TRUE(cpu_has(KernelPath::kAvx2)) << "every AVX-512 CPU runs the AVX2 path";
  }
}

// What the process chose at load: TRUSTRL_ISA's path, or the best the CPU has.
TEST(KernelPath, TheProcessRunsTheChosenPath) {
  const char* isa = std::getenv("TRUSTRL_ISA");
  const KernelPath expected = isa != nullptr ? parse_kernel_path(isa) : best_kernel_path();
  EXPECT_EQ(kernel_path(), expected);
  const std::string report = kernel_report();
  EXPECT_NE(report.find("kernels: " + std::string(kernel_path_name(expected))), std::string::npos)
      << report;
}

TEST(KernelPath, SetKernelPathRefusesWhatTheCpuLacks) {
  const KernelPath before = kernel_path();
  for (KernelPath p : {KernelPath::kBaseline, KernelPath::kAvx2, KernelPath::kAvx512}) {
    if (cpu_has(p)) {
      set_kernel_path(p);
      EXPECT_EQ(kernel_path(), p);
    } else {
      EXPECT_THROW(set_kernel_path(p), Error);
    }
  }
  set_kernel_path(before);
}

TEST(KernelPath, BlasCoreTiers) {
  EXPECT_EQ(blas_core_tier("Prescott"), KernelPath::kBaseline);
  EXPECT_EQ(blas_core_tier("Sandybridge"), KernelPath::kBaseline);
  EXPECT_EQ(blas_core_tier("Haswell"), KernelPath::kAvx2);
  EXPECT_EQ(blas_core_tier("Zen"), KernelPath::kAvx2);
  EXPECT_EQ(blas_core_tier("SkylakeX"), KernelPath::kAvx512);
  EXPECT_EQ(blas_core_tier("COOPERLAKE"), KernelPath::kAvx512);
}

// A CPU with AVX2 or AVX-512 never runs OpenBLAS's generic kernels (Debian's OpenBLAS 0.3.21
// takes CPU models newer than it knows for a Prescott), unless a user asked for them.
TEST(KernelPath, NoGenericBlasKernelOnAnAvx2Cpu) {
  const BlasInfo blas = blas_info();
  if (blas.core.empty()) GTEST_SKIP() << "the BLAS is " << blas.library << ", not OpenBLAS";
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) {
    EXPECT_EQ(blas.chosen_by, "OPENBLAS_CORETYPE");
    return;
  }
  EXPECT_EQ(blas_core_tier(blas.core), kernel_path())
      << "BLAS core " << blas.core << " (" << blas.chosen_by << ") on the "
      << kernel_path_name(kernel_path()) << " path";
  if (std::getenv("TRUSTRL_ISA") == nullptr && cpu_has(KernelPath::kAvx2)) {
    EXPECT_GE(blas_core_tier(blas.core), KernelPath::kAvx2) << blas.core;
  }
}

TEST(KernelPath, BlasCoreCanBeSwitchedAndRestored) {
  const BlasInfo before = blas_info();
  if (before.core.empty()) GTEST_SKIP() << "the BLAS is " << before.library << ", not OpenBLAS";
  EXPECT_EQ(select_blas_core("Prescott"), "Prescott");
  EXPECT_EQ(blas_info().core, "Prescott");
  EXPECT_EQ(select_blas_core(before.core), before.core);
}

}  // namespace
}  // namespace trustrl::agents
