#include "agents/small_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "agents/kernel_path.h"
#include "core/rng.h"

namespace trustrl::agents {
namespace {

std::vector<float> random_floats(std::size_t n, Rng& rng) {
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(rng.normal());
  return v;
}

// Every path the CPU runs, the baseline first.
std::vector<KernelPath> runnable_paths() {
  std::vector<KernelPath> paths;
  for (KernelPath p : {KernelPath::kBaseline, KernelPath::kAvx2, KernelPath::kAvx512})
    if (cpu_has(p)) paths.push_back(p);
  return paths;
}

// Restores the process's kernel path when a test ends.
struct PathGuard {
  KernelPath saved = kernel_path();
  ~PathGuard() { set_kernel_path(saved); }
};

// Checks small_gemm against a double-precision sum of the same terms, on every path, for shapes
// that exercise each tile (full row and column blocks, single vectors, 8- and 4-wide vectors,
// single columns), A read both ways, and the three initial values.
TEST(SmallGemm, MatchesADoubleReferenceOnEveryPathShapeAndLayout) {
  PathGuard guard;
  Rng rng(7);
  int checked = 0;
  for (KernelPath path : runnable_paths()) {
    set_kernel_path(path);
    for (std::int64_t m : {1, 3, 4, 5, 9, 33})
      for (std::int64_t n : {1, 2, 3, 4, 7, 8, 12, 15, 16, 17, 24, 31, 32, 33, 48, 64, 65, 100})
        for (std::int64_t k : {0, 1, 5, 64})
          for (bool transposed_a : {false, true})
            for (int init = 0; init < 3; ++init) {  // 0: zero, 1: bias, 2: accumulate
              const std::vector<float> a = random_floats(static_cast<std::size_t>(m * k) + 1, rng);
              const std::vector<float> b = random_floats(static_cast<std::size_t>(k * n) + 1, rng);
              const std::vector<float> bias = random_floats(static_cast<std::size_t>(n), rng);
              const std::int64_t ldc = n + 3;  // a padded output: the padding must stay put
              std::vector<float> c = random_floats(static_cast<std::size_t>(m * ldc), rng);
              const std::vector<float> before = c;
              SmallGemm g{.m = m,
                          .n = n,
                          .k = k,
                          .a = a.data(),
                          .a_row = transposed_a ? 1 : k,
                          .a_col = transposed_a ? m : 1,
                          .b = b.data(),
                          .ldb = n,
                          .c = c.data(),
                          .ldc = ldc,
                          .bias = init == 1 ? bias.data() : nullptr,
                          .accumulate = init == 2};
              small_gemm(g);
              for (std::int64_t i = 0; i < m; ++i) {
                for (std::int64_t j = 0; j < n; ++j) {
                  double want = init == 2 ? before[i * ldc + j] : init == 1 ? bias[j] : 0.0;
                  double scale = std::abs(want);
                  for (std::int64_t p = 0; p < k; ++p) {
                    const double t = static_cast<double>(a[i * g.a_row + p * g.a_col]) *
                                     static_cast<double>(b[p * n + j]);
                    want += t;
                    scale += std::abs(t);
                  }
                  ASSERT_NEAR(c[i * ldc + j], want, 1e-5 * scale + 1e-30)
                      << kernel_path_name(path) << " m " << m << " n " << n << " k " << k
                      << " transposed " << transposed_a << " init " << init << " at " << i << ","
                      << j;
                }
                for (std::int64_t j = n; j < ldc; ++j)
                  ASSERT_EQ(c[i * ldc + j], before[i * ldc + j]) << "wrote past column n";
              }
              ++checked;
            }
  }
  EXPECT_GE(checked, 6 * 18 * 4 * 2 * 3);
}

// A sum over more p than one block of B holds (agents/small_gemm.cpp blocks it so that B's rows
// stay in L1: 64 to 512 rows per block, by path and tile) is still each entry's sum in order of p:
// the same bits as the product taken in two calls split anywhere else, and the double reference's
// value.
TEST(SmallGemm, LongSumsAreBlockedWithoutChangingTheResult) {
  PathGuard guard;
  Rng rng(11);
  const std::int64_t m = 9, k = 1100, split = 601;
  for (KernelPath path : runnable_paths()) {
    set_kernel_path(path);
    for (std::int64_t n : {16, 64, 100})
      for (bool transposed_a : {false, true}) {
        const std::vector<float> a = random_floats(static_cast<std::size_t>(m * k), rng);
        const std::vector<float> b = random_floats(static_cast<std::size_t>(k * n), rng);
        const std::vector<float> bias = random_floats(static_cast<std::size_t>(n), rng);
        const std::int64_t a_row = transposed_a ? 1 : k, a_col = transposed_a ? m : 1;
        // C = bias + the terms p in [p0, p0 + count), or C += them.
        auto product = [&](std::int64_t p0, std::int64_t count, std::vector<float>& c) {
          SmallGemm g;
          g.m = m;
          g.n = n;
          g.k = count;
          g.a = a.data() + p0 * a_col;
          g.a_row = a_row;
          g.a_col = a_col;
          g.b = b.data() + p0 * n;
          g.ldb = n;
          g.c = c.data();
          g.ldc = n;
          g.bias = p0 == 0 ? bias.data() : nullptr;
          g.accumulate = p0 > 0;
          small_gemm(g);
        };
        std::vector<float> whole(static_cast<std::size_t>(m * n)), parts(whole.size());
        product(0, k, whole);
        product(0, split, parts);
        product(split, k - split, parts);
        for (std::int64_t i = 0; i < m; ++i)
          for (std::int64_t j = 0; j < n; ++j) {
            double want = bias[j], scale = std::abs(want);
            for (std::int64_t p = 0; p < k; ++p) {
              const double t = static_cast<double>(a[i * a_row + p * a_col]) * b[p * n + j];
              want += t;
              scale += std::abs(t);
            }
            const std::size_t at = static_cast<std::size_t>(i * n + j);
            ASSERT_EQ(whole[at], parts[at]) << kernel_path_name(path) << " n " << n << " at " << i
                                            << "," << j << " transposed " << transposed_a;
            ASSERT_NEAR(whole[at], want, 1e-5 * scale) << kernel_path_name(path) << " n " << n;
          }
      }
  }
}

TEST(SmallGemm, DotFormMatchesADoubleReferenceOnEveryPath) {
  PathGuard guard;
  Rng rng(8);
  for (KernelPath path : runnable_paths()) {
    set_kernel_path(path);
    for (std::int64_t m : {1, 4, 7})
      for (std::int64_t n : {1, 2, 5})
        for (std::int64_t k : {0, 1, 3, 4, 8, 15, 16, 17, 64, 70})
          for (int init = 0; init < 3; ++init) {  // 0: zero, 1: bias, 2: accumulate
            const std::int64_t lda = k + 2, ldb = k + 1;
            const std::vector<float> a = random_floats(static_cast<std::size_t>(m * lda), rng);
            const std::vector<float> b = random_floats(static_cast<std::size_t>(n * ldb), rng);
            const std::vector<float> bias = random_floats(static_cast<std::size_t>(n), rng);
            std::vector<float> c = random_floats(static_cast<std::size_t>(m * n), rng);
            const std::vector<float> before = c;
            // With accumulate the bias is ignored: C itself is the initial value.
            small_gemm_dot(m, n, k, a.data(), lda, b.data(), ldb, init != 0 ? bias.data() : nullptr,
                           c.data(), n, init == 2);
            for (std::int64_t i = 0; i < m; ++i)
              for (std::int64_t j = 0; j < n; ++j) {
                double want = init == 2 ? before[i * n + j] : init == 1 ? bias[j] : 0.0;
                double scale = std::abs(want);
                for (std::int64_t p = 0; p < k; ++p) {
                  const double t = static_cast<double>(a[i * lda + p]) * b[j * ldb + p];
                  want += t;
                  scale += std::abs(t);
                }
                ASSERT_NEAR(c[i * n + j], want, 1e-5 * scale + 1e-30)
                    << kernel_path_name(path) << " m " << m << " n " << n << " k " << k << " init "
                    << init;
              }
          }
  }
}

TEST(SmallGemm, WeightGradientOrientationAvoidsTheScalarColumns) {
  EXPECT_TRUE(weight_gradient_transposed(31, 64));  // odd input, whole output
  EXPECT_TRUE(weight_gradient_transposed(18, 64));
  EXPECT_TRUE(weight_gradient_transposed(54, 64));
  EXPECT_TRUE(weight_gradient_transposed(4, 64));  // narrow input
  EXPECT_TRUE(weight_gradient_transposed(8, 64));
  EXPECT_FALSE(weight_gradient_transposed(64, 64));
  EXPECT_FALSE(weight_gradient_transposed(24, 64));  // 16 + 8: whole vectors either way
  EXPECT_FALSE(weight_gradient_transposed(64, 2));   // a head: its output is the odd one
  EXPECT_FALSE(weight_gradient_transposed(64, 1));
  EXPECT_FALSE(weight_gradient_transposed(31, 3));  // both odd: the wider way
}

TEST(SmallGemm, AnEmptyOutputWritesNothing) {
  std::vector<float> a(4, 1.0F), b(4, 1.0F), c(4, 5.0F);
  small_gemm({.m = 0,
              .n = 2,
              .k = 2,
              .a = a.data(),
              .a_row = 2,
              .a_col = 1,
              .b = b.data(),
              .ldb = 2,
              .c = c.data(),
              .ldc = 2});
  small_gemm({.m = 2,
              .n = 0,
              .k = 2,
              .a = a.data(),
              .a_row = 2,
              .a_col = 1,
              .b = b.data(),
              .ldb = 2,
              .c = c.data(),
              .ldc = 2});
  for (const float x : c) EXPECT_EQ(x, 5.0F);
}

}  // namespace
}  // namespace trustrl::agents
