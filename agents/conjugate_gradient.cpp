#include "agents/conjugate_gradient.h"

#include <cmath>
#include <cstdint>

#include "core/error.h"

namespace trustrl::agents {

namespace {

template <class T>
double dot(const T* a, const T* b, std::int64_t n) {
  double sums[4] = {};  // independent chains
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int l = 0; l < 4; ++l) sums[l] += static_cast<double>(a[i + l]) * b[i + l];
  for (; i < n; ++i) sums[0] += static_cast<double>(a[i]) * b[i];
  return (sums[0] + sums[1]) + (sums[2] + sums[3]);
}

// The iteration on raw vectors: a TRPO step's 15 iterations over ~10k parameters took 0.7 ms as
// ATen ops (nine a step, each a dispatch and a pass), a tenth of that as loops. Dot products are
// summed in double.
template <class T>
ConjugateGradientResult solve(const std::function<torch::Tensor(const torch::Tensor&)>& product,
                              const torch::Tensor& b_in, int max_iterations, double tolerance) {
  ConjugateGradientResult result;
  const torch::Tensor b = b_in.contiguous();
  const std::int64_t n = b.numel();
  result.x = torch::zeros_like(b);
  T* x = result.x.data_ptr<T>();
  const double b_norm = std::sqrt(dot(b.data_ptr<T>(), b.data_ptr<T>(), n));
  if (b_norm == 0) {
    result.converged = true;
    return result;
  }
  torch::Tensor r_t = b.clone(), p_t = b.clone();
  T* r = r_t.data_ptr<T>();
  T* p = p_t.data_ptr<T>();
  double rr = b_norm * b_norm;
  result.relative_residual = 1.0;
  for (int k = 0; k < max_iterations; ++k) {
    const torch::Tensor ap_t = product(p_t).to(b.scalar_type()).contiguous();
    if (ap_t.numel() != n) throw Error("conjugate gradient: the product changed the vector's size");
    const T* ap = ap_t.data_ptr<T>();
    const double curvature = dot(p, ap, n);
    if (!(curvature > 0) || !std::isfinite(curvature)) {
      result.positive_curvature = false;
      return result;
    }
    const auto alpha = static_cast<T>(rr / curvature);
    for (std::int64_t i = 0; i < n; ++i) {
      x[i] += alpha * p[i];
      r[i] -= alpha * ap[i];
    }
    const double rr_next = dot(r, r, n);
    ++result.iterations;
    result.relative_residual = std::sqrt(rr_next) / b_norm;
    if (result.relative_residual <= tolerance) {
      result.converged = true;
      return result;
    }
    const auto beta = static_cast<T>(rr_next / rr);
    for (std::int64_t i = 0; i < n; ++i) p[i] = r[i] + beta * p[i];
    rr = rr_next;
  }
  return result;
}

}  // namespace

ConjugateGradientResult conjugate_gradient(
    const std::function<torch::Tensor(const torch::Tensor&)>& product, const torch::Tensor& b,
    int max_iterations, double tolerance) {
  torch::NoGradGuard no_grad;
  if (b.scalar_type() == torch::kFloat32)
    return solve<float>(product, b, max_iterations, tolerance);
  if (b.scalar_type() == torch::kFloat64)
    return solve<double>(product, b, max_iterations, tolerance);
  throw Error("conjugate gradient: the vector must be float32 or float64");
}

bool made_progress(const torch::Tensor& b, const ConjugateGradientResult& result) {
  return b.dot(result.x).item<double>() > 0;
}

}  // namespace trustrl::agents
