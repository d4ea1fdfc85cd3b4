#pragma once
// Conjugate gradient for A x = b with A symmetric positive definite, given only products A v
// (Hestenes & Stiefel 1952; Nocedal & Wright, "Numerical Optimization", algorithm 5.2). TRPO
// solves F s = g with it on Fisher-vector products, a few iterations from x = 0.

#include <torch/torch.h>

#include <functional>

namespace trustrl::agents {

struct ConjugateGradientResult {
  /// The last iterate (zeros when b is zero or the first direction already had no curvature).
  torch::Tensor x;
  int iterations = 0;
  /// ||b - A x|| / ||b|| by the recurrence (0 when b is zero); the CG residual that gets logged.
  double relative_residual = 0;
  /// The residual reached `tolerance`.
  bool converged = false;
  /// False when some direction p had p^T A p <= 0 or not finite: A is not positive definite in
  /// floating point, and x is the iterate before that direction.
  bool positive_curvature = true;
};

/// At most `max_iterations` steps from x = 0; stops early once ||r|| <= tolerance * ||b||.
ConjugateGradientResult conjugate_gradient(
    const std::function<torch::Tensor(const torch::Tensor&)>& product, const torch::Tensor& b,
    int max_iterations, double tolerance = 1e-10);

/// Whether the iterate made progress on the quadratic model 1/2 x^T A x - b^T x: b . x > 0. Every
/// iterate from 0 does in exact arithmetic, however large its residual (which, on an
/// ill-conditioned A, can grow for many iterations), so false means rounding broke the solve.
bool made_progress(const torch::Tensor& b, const ConjugateGradientResult& result);

}  // namespace trustrl::agents
