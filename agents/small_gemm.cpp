#include "agents/small_gemm.h"

#include <algorithm>
#include <cstring>

#include "agents/kernel_path.h"
#include "agents/kernel_targets.h"

namespace trustrl::agents {

namespace {

// The bytes of B one block of the sum over p reads (block rows x a tile's columns): a third of a
// 48 KB L1 (half of a 32 KB one), so that B's block stays there beside A's rows and C's tile.
// Measured on 4000-row products (bench: a 128 x 128 weight gradient over 4000 rows went from
// 30 to 115 GFLOP/s on avx512, 13 to 54 on avx2).
constexpr std::int64_t kPanelBytes = 16 * 1024;

// The GCC vector type of `Bytes` bytes of floats (an alias template cannot carry the attribute
// with a dependent size: GCC drops it silently).
template <int Bytes>
struct Vec;
template <>
struct Vec<16> {
  typedef float type __attribute__((vector_size(16)));
};
template <>
struct Vec<32> {
  typedef float type __attribute__((vector_size(32)));
};
template <>
struct Vec<64> {
  typedef float type __attribute__((vector_size(64)));
};

// R rows by C vectors of columns from (i, j), the sum over p in [p0, p1): the R x C accumulators
// stay in registers, each B vector loaded once per p serves R rows and each A scalar C vectors.
// A block after the first (p0 > 0) starts from the partial sums in C, so every entry is still
// summed over p in order: blocking leaves the results bit for bit as one pass would.
template <int Bytes, int R, int C>
[[gnu::always_inline]] inline void tile(const SmallGemm& g, std::int64_t i, std::int64_t j,
                                        std::int64_t p0, std::int64_t p1) {
  using V = typename Vec<Bytes>::type;
  static_assert(sizeof(V) == Bytes);
  constexpr int L = Bytes / static_cast<int>(sizeof(float));
  V acc[R][C];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      if (g.accumulate || p0 > 0)
        std::memcpy(&acc[r][c], g.c + (i + r) * g.ldc + j + c * L, Bytes);
      else if (g.bias)
        std::memcpy(&acc[r][c], g.bias + j + c * L, Bytes);
      else
        acc[r][c] = V{};
    }
  const float* a = g.a + i * g.a_row + p0 * g.a_col;
  const float* b = g.b + p0 * g.ldb + j;
  for (std::int64_t p = p0; p < p1; ++p, a += g.a_col, b += g.ldb) {
    V bv[C];
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) std::memcpy(&bv[c], b + c * L, Bytes);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const float x = a[r * g.a_row];
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) acc[r][c] += x * bv[c];
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) std::memcpy(g.c + (i + r) * g.ldc + j + c * L, &acc[r][c], Bytes);
}

// Every row, columns [j, j + C vectors) at a time while they fit. The sum over p is split into
// blocks whose rows of B (block x C vectors) stay in L1 while every row tile passes over them:
// without it a long sum (a weight gradient's k is the batch's rows) streams all of B's column
// strip from L2 or memory once per row tile.
template <int Bytes, int R, int C>
[[gnu::always_inline]] inline std::int64_t column_blocks(const SmallGemm& g, std::int64_t j) {
  constexpr int width = C * Bytes / static_cast<int>(sizeof(float));
  constexpr std::int64_t block = std::max<std::int64_t>(kPanelBytes / (C * Bytes), 16);
  for (; j + width <= g.n; j += width) {
    std::int64_t p0 = 0;
    do {
      const std::int64_t p1 = std::min(g.k, p0 + block);
      std::int64_t i = 0;
      for (; i + R <= g.m; i += R) tile<Bytes, R, C>(g, i, j, p0, p1);
      for (; i < g.m; ++i) tile<Bytes, 1, C>(g, i, j, p0, p1);
      p0 = p1;
    } while (p0 < g.k);
  }
  return j;
}

// Columns narrower than a vector, one at a time.
[[gnu::always_inline]] inline void scalar_columns(const SmallGemm& g, std::int64_t j0) {
  for (std::int64_t i = 0; i < g.m; ++i)
    for (std::int64_t j = j0; j < g.n; ++j) {
      float s = g.accumulate ? g.c[i * g.ldc + j] : g.bias ? g.bias[j] : 0.0F;
      for (std::int64_t p = 0; p < g.k; ++p)
        s += g.a[i * g.a_row + p * g.a_col] * g.b[p * g.ldb + j];
      g.c[i * g.ldc + j] = s;
    }
}

// Tiles of R rows by C vectors, then single vectors, then narrower vectors for what is left
// (8 or 4 columns), then single columns.
template <int Bytes, int R, int C>
[[gnu::always_inline]] inline void gemm_body(const SmallGemm& g) {
  std::int64_t j = column_blocks<Bytes, R, C>(g, 0);
  if constexpr (C > 1) j = column_blocks<Bytes, R, 1>(g, j);
  if constexpr (Bytes > 32) j = column_blocks<32, R, 1>(g, j);
  if constexpr (Bytes > 16) j = column_blocks<16, R, 1>(g, j);
  if (j < g.n) scalar_columns(g, j);
}

// One entry per (row, column) as a dot product: lane-wise sums over p, then the lanes added in
// order, then the scalar tail. The lane sums of R rows are added side by side (R independent
// chains where one chain's additions wait on each other), each entry in the same order as one at
// a time, so the results are bit for bit those of the plain loop.
template <int Bytes, int R>
[[gnu::always_inline]] inline void dot_rows(std::int64_t i0, std::int64_t n, std::int64_t k,
                                            const float* a, std::int64_t lda, const float* b,
                                            std::int64_t ldb, const float* bias, float* c,
                                            std::int64_t ldc, bool accumulate) {
  using V = typename Vec<Bytes>::type;
  constexpr int L = Bytes / static_cast<int>(sizeof(float));
  for (std::int64_t j = 0; j < n; ++j) {
    const float* y = b + j * ldb;
    V s[R] = {};
    std::int64_t p = 0;
    for (; p + L <= k; p += L) {
      V yv;
      std::memcpy(&yv, y + p, Bytes);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        V xv;
        std::memcpy(&xv, a + (i0 + r) * lda + p, Bytes);
        s[r] += xv * yv;
      }
    }
    float t[R] = {};
#pragma GCC unroll 16
    for (int l = 0; l < L; ++l)
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) t[r] += s[r][l];
    for (int r = 0; r < R; ++r) {
      const float* x = a + (i0 + r) * lda;
      for (std::int64_t q = p; q < k; ++q) t[r] += x[q] * y[q];
      float* out = c + (i0 + r) * ldc + j;
      *out = (accumulate ? *out : bias ? bias[j] : 0.0F) + t[r];
    }
  }
}

template <int Bytes>
[[gnu::always_inline]] inline void dot_body(std::int64_t m, std::int64_t n, std::int64_t k,
                                            const float* a, std::int64_t lda, const float* b,
                                            std::int64_t ldb, const float* bias, float* c,
                                            std::int64_t ldc, bool accumulate) {
  using V = typename Vec<Bytes>::type;
  static_assert(sizeof(V) == Bytes);
  constexpr int R = 4;
  std::int64_t i = 0;
  for (; i + R <= m; i += R) dot_rows<Bytes, R>(i, n, k, a, lda, b, ldb, bias, c, ldc, accumulate);
  for (; i < m; ++i) dot_rows<Bytes, 1>(i, n, k, a, lda, b, ldb, bias, c, ldc, accumulate);
}

// Tile shapes per path: AVX-512 has 32 vector registers (4 x 4 accumulators, 4 B vectors),
// AVX2 and SSE 16 (4 x 2 accumulators, 2 B vectors).
[[gnu::target(TRUSTRL_TARGET_AVX512)]] void gemm_avx512(const SmallGemm& g) {
  gemm_body<64, 4, 4>(g);
}
[[gnu::target(TRUSTRL_TARGET_AVX2)]] void gemm_avx2(const SmallGemm& g) { gemm_body<32, 4, 2>(g); }
void gemm_baseline(const SmallGemm& g) { gemm_body<16, 4, 2>(g); }

[[gnu::target(TRUSTRL_TARGET_AVX512)]] void dot_avx512(std::int64_t m, std::int64_t n,
                                                       std::int64_t k, const float* a,
                                                       std::int64_t lda, const float* b,
                                                       std::int64_t ldb, const float* bias,
                                                       float* c, std::int64_t ldc,
                                                       bool accumulate) {
  dot_body<64>(m, n, k, a, lda, b, ldb, bias, c, ldc, accumulate);
}
[[gnu::target(TRUSTRL_TARGET_AVX2)]] void dot_avx2(std::int64_t m, std::int64_t n, std::int64_t k,
                                                   const float* a, std::int64_t lda, const float* b,
                                                   std::int64_t ldb, const float* bias, float* c,
                                                   std::int64_t ldc, bool accumulate) {
  dot_body<32>(m, n, k, a, lda, b, ldb, bias, c, ldc, accumulate);
}
void dot_baseline(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
                  const float* b, std::int64_t ldb, const float* bias, float* c, std::int64_t ldc,
                  bool accumulate) {
  dot_body<16>(m, n, k, a, lda, b, ldb, bias, c, ldc, accumulate);
}

}  // namespace

void small_gemm(const SmallGemm& g) {
  if (g.m <= 0 || g.n <= 0) return;
  for_kernel_path(gemm_avx512, gemm_avx2, gemm_baseline)(g);
}

bool weight_gradient_transposed(std::int64_t n_in, std::int64_t n_out) {
  const bool in_tail = n_in % 4 != 0, out_tail = n_out % 4 != 0;
  if (in_tail != out_tail) return in_tail;
  return n_in < 16 && n_out > n_in;
}

void small_gemm_dot(std::int64_t m, std::int64_t n, std::int64_t k, const float* a,
                    std::int64_t lda, const float* b, std::int64_t ldb, const float* bias, float* c,
                    std::int64_t ldc, bool accumulate) {
  for_kernel_path(dot_avx512, dot_avx2, dot_baseline)(m, n, k, a, lda, b, ldb, bias, c, ldc,
                                                      accumulate);
}

}  // namespace trustrl::agents
