#pragma once
// The products of a dense layer y = x Wᵀ + b over a batch of rows, forward and backward, on raw
// row-major memory: what the fused update, the fused forward and the closed-form Fisher-vector
// product each need, written once. float runs on agents/small_gemm.h's kernels (the kernel path
// in use); double, for the tests' explicit Fisher on double networks, on plain loops.

#include <cstdint>

namespace trustrl::agents {

/// A dense layer over `rows` inputs: W is [n_out, n_in] (torch's layout), x [rows, n_in],
/// y [rows, n_out].
struct DenseShape {
  std::int64_t rows = 0, n_in = 0, n_out = 0;
};

/// Heads narrower than this many outputs take dot products of x's rows with W's rows: small_gemm's
/// column vectors would sit mostly empty.
inline constexpr std::int64_t kNarrowHead = 8;

/// y = x Wᵀ + bias (bias may be null: 0), or y += x Wᵀ when `accumulate` (bias unused). Wᵀ is
/// written into `w_t` ([n_in, n_out], the layout small_gemm reads) first, except for narrow heads.
void dense_forward(const DenseShape& s, const float* x, const float* w, const float* bias, float* y,
                   float* w_t, bool accumulate = false);
void dense_forward(const DenseShape& s, const double* x, const double* w, const double* bias,
                   double* y, double* w_t, bool accumulate = false);

/// d W = deltaᵀ x ([n_out, n_in]), delta [rows, n_out]. Where the input's width would leave
/// small_gemm's columns to its scalar loop (weight_gradient_transposed) the product is taken as
/// xᵀ delta into `scratch` (n_in * n_out values) and transposed into place.
void dense_weight_gradient(const DenseShape& s, const float* x, const float* delta, float* w_grad,
                           float* scratch);
void dense_weight_gradient(const DenseShape& s, const double* x, const double* delta,
                           double* w_grad, double* scratch);

/// d b = the column sums of delta ([n_out]), rows summed in order.
void dense_bias_gradient(const DenseShape& s, const float* delta, float* b_grad);
void dense_bias_gradient(const DenseShape& s, const double* delta, double* b_grad);

/// d x = delta W ([rows, n_in]).
void dense_input_gradient(const DenseShape& s, const float* delta, const float* w, float* dx);
void dense_input_gradient(const DenseShape& s, const double* delta, const double* w, double* dx);

/// out ([cols, rows]) = in ([rows, cols]) transposed.
void transpose(const float* in, std::int64_t rows, std::int64_t cols, float* out);
void transpose(const double* in, std::int64_t rows, std::int64_t cols, double* out);

}  // namespace trustrl::agents
