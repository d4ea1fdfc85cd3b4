#pragma once
// Dense products of the small matrices this toolkit's networks are made of (a few hundred rows,
// tens of columns), in plain C++ compiled once per kernel path (agents/kernel_path.h).
//
// At these sizes a BLAS call through libtorch spends more on dispatch, argument checks and
// packing than on arithmetic; a register-tiled loop over operands that already sit in L1 does
// not. The fused update's forward and backward and the actor's dense layers run on these.

#include <cstdint>

namespace trustrl::agents {

/// C = init + A B, where
///   A is m x k, read as a[i * a_row + p * a_col] (a transposed operand is the strides swapped),
///   B is k x n with contiguous rows, b[p * ldb + j],
///   C is m x n with contiguous rows, c[i * ldc + j],
///   init is C itself when `accumulate`, else bias[j] when `bias` is set, else 0.
struct SmallGemm {
  std::int64_t m = 0, n = 0, k = 0;
  const float* a = nullptr;
  std::int64_t a_row = 0, a_col = 0;
  const float* b = nullptr;
  std::int64_t ldb = 0;
  float* c = nullptr;
  std::int64_t ldc = 0;
  const float* bias = nullptr;
  bool accumulate = false;
};

/// Runs `g` on the kernel path in use. C must not overlap A, B or the bias.
void small_gemm(const SmallGemm& g);

/// C (m x n, row stride ldc) = init + A Bᵀ with A (m x k) and B (n x k) both row-major (strides
/// lda, ldb): each entry a dot product over contiguous memory. For outputs narrower than a
/// vector register (a policy head, a value), where small_gemm's column tiles would sit empty.
/// init is C itself when `accumulate`, else `bias` (null: 0).
void small_gemm_dot(std::int64_t m, std::int64_t n, std::int64_t k, const float* a,
                    std::int64_t lda, const float* b, std::int64_t ldb, const float* bias, float* c,
                    std::int64_t ldc, bool accumulate = false);

/// For a layer's weight gradient d w = delta^T x ([n_out, n_in]): whether to compute it
/// transposed, x^T delta ([n_in, n_out]), and transpose that into place. Columns past the last
/// multiple of 4 take small_gemm's scalar loop, so the transposed form wins where the input's
/// width leaves such columns and the output's does not (31 MultiWalker features, 18 of
/// simple_spread), or where the input is narrow (an observation of 4 or 8 features).
bool weight_gradient_transposed(std::int64_t n_in, std::int64_t n_out);

}  // namespace trustrl::agents
