#include "agents/dense_products.h"

#include <algorithm>

#include "agents/kernel_path.h"
#include "agents/kernel_targets.h"
#include "agents/small_gemm.h"

namespace trustrl::agents {

namespace {

// The column sums, written once and compiled for each kernel path as small_gemm's products are.
[[gnu::always_inline]] inline void column_sums_body(const float* x, std::int64_t rows,
                                                    std::int64_t width, float* sums) {
  std::fill(sums, sums + width, 0.0F);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < width; ++j) sums[j] += x[r * width + j];
}
[[gnu::target(TRUSTRL_TARGET_AVX512)]] void column_sums_avx512(const float* x, std::int64_t rows,
                                                               std::int64_t width, float* sums) {
  column_sums_body(x, rows, width, sums);
}
[[gnu::target(TRUSTRL_TARGET_AVX2)]] void column_sums_avx2(const float* x, std::int64_t rows,
                                                           std::int64_t width, float* sums) {
  column_sums_body(x, rows, width, sums);
}
void column_sums_baseline(const float* x, std::int64_t rows, std::int64_t width, float* sums) {
  column_sums_body(x, rows, width, sums);
}

// C = init + A B in double, the operands laid out as SmallGemm reads them.
void plain_product(std::int64_t m, std::int64_t n, std::int64_t k, const double* a,
                   std::int64_t a_row, std::int64_t a_col, const double* b, std::int64_t ldb,
                   double* c, const double* bias, bool accumulate) {
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double sum = accumulate ? c[i * n + j] : bias ? bias[j] : 0.0;
      for (std::int64_t p = 0; p < k; ++p) sum += a[i * a_row + p * a_col] * b[p * ldb + j];
      c[i * n + j] = sum;
    }
}

template <class T>
void transpose_any(const T* in, std::int64_t rows, std::int64_t cols, T* out) {
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) out[c * rows + r] = in[r * cols + c];
}

}  // namespace

void transpose(const float* in, std::int64_t rows, std::int64_t cols, float* out) {
  transpose_any(in, rows, cols, out);
}
void transpose(const double* in, std::int64_t rows, std::int64_t cols, double* out) {
  transpose_any(in, rows, cols, out);
}

void dense_forward(const DenseShape& s, const float* x, const float* w, const float* bias, float* y,
                   float* w_t, bool accumulate) {
  if (accumulate) bias = nullptr;
  if (s.n_out < kNarrowHead) {
    small_gemm_dot(s.rows, s.n_out, s.n_in, x, s.n_in, w, s.n_in, bias, y, s.n_out, accumulate);
    return;
  }
  transpose(w, s.n_out, s.n_in, w_t);
  small_gemm({.m = s.rows,
              .n = s.n_out,
              .k = s.n_in,
              .a = x,
              .a_row = s.n_in,
              .a_col = 1,
              .b = w_t,
              .ldb = s.n_out,
              .c = y,
              .ldc = s.n_out,
              .bias = bias,
              .accumulate = accumulate});
}

void dense_forward(const DenseShape& s, const double* x, const double* w, const double* bias,
                   double* y, double* w_t, bool accumulate) {
  transpose(w, s.n_out, s.n_in, w_t);
  plain_product(s.rows, s.n_out, s.n_in, x, s.n_in, 1, w_t, s.n_out, y, bias, accumulate);
}

void dense_weight_gradient(const DenseShape& s, const float* x, const float* delta, float* w_grad,
                           float* scratch) {
  if (!weight_gradient_transposed(s.n_in, s.n_out)) {
    // d W = deltaᵀ x: x's rows are the contiguous operand.
    small_gemm({.m = s.n_out,
                .n = s.n_in,
                .k = s.rows,
                .a = delta,
                .a_row = 1,
                .a_col = s.n_out,
                .b = x,
                .ldb = s.n_in,
                .c = w_grad,
                .ldc = s.n_in});
    return;
  }
  // (d W)ᵀ = xᵀ delta keeps small_gemm's vectors full; then into place.
  small_gemm({.m = s.n_in,
              .n = s.n_out,
              .k = s.rows,
              .a = x,
              .a_row = 1,
              .a_col = s.n_in,
              .b = delta,
              .ldb = s.n_out,
              .c = scratch,
              .ldc = s.n_out});
  transpose(scratch, s.n_in, s.n_out, w_grad);
}

void dense_weight_gradient(const DenseShape& s, const double* x, const double* delta,
                           double* w_grad, double* /*scratch*/) {
  plain_product(s.n_out, s.n_in, s.rows, delta, 1, s.n_out, x, s.n_in, w_grad, nullptr, false);
}

void dense_bias_gradient(const DenseShape& s, const float* delta, float* b_grad) {
  for_kernel_path(column_sums_avx512, column_sums_avx2, column_sums_baseline)(delta, s.rows,
                                                                              s.n_out, b_grad);
}

void dense_bias_gradient(const DenseShape& s, const double* delta, double* b_grad) {
  std::fill(b_grad, b_grad + s.n_out, 0.0);
  for (std::int64_t r = 0; r < s.rows; ++r)
    for (std::int64_t j = 0; j < s.n_out; ++j) b_grad[j] += delta[r * s.n_out + j];
}

void dense_input_gradient(const DenseShape& s, const float* delta, const float* w, float* dx) {
  small_gemm({.m = s.rows,
              .n = s.n_in,
              .k = s.n_out,
              .a = delta,
              .a_row = s.n_out,
              .a_col = 1,
              .b = w,
              .ldb = s.n_in,
              .c = dx,
              .ldc = s.n_in});
}

void dense_input_gradient(const DenseShape& s, const double* delta, const double* w, double* dx) {
  plain_product(s.rows, s.n_in, s.n_out, delta, s.n_out, 1, w, s.n_in, dx, nullptr, false);
}

}  // namespace trustrl::agents
