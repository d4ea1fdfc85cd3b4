#include "agents/conjugate_gradient.h"

#include <cmath>

namespace trustrl::agents {

ConjugateGradientResult conjugate_gradient(
    const std::function<torch::Tensor(const torch::Tensor&)>& product, const torch::Tensor& b,
    int max_iterations, double tolerance) {
  torch::NoGradGuard no_grad;
  ConjugateGradientResult result;
  result.x = torch::zeros_like(b);
  const double b_norm = b.norm().item<double>();
  if (b_norm == 0) {
    result.converged = true;
    return result;
  }
  torch::Tensor r = b.clone(), p = b.clone();
  double rr = b_norm * b_norm;
  result.relative_residual = 1.0;
  for (int k = 0; k < max_iterations; ++k) {
    const torch::Tensor ap = product(p);
    const double curvature = (p * ap).sum().item<double>();
    if (!(curvature > 0) || !std::isfinite(curvature)) {
      result.positive_curvature = false;
      return result;
    }
    const double alpha = rr / curvature;
    result.x.add_(p, alpha);
    r.sub_(ap, alpha);
    const double rr_next = (r * r).sum().item<double>();
    ++result.iterations;
    result.relative_residual = std::sqrt(rr_next) / b_norm;
    if (result.relative_residual <= tolerance) {
      result.converged = true;
      return result;
    }
    p = r + (rr_next / rr) * p;
    rr = rr_next;
  }
  return result;
}

}  // namespace trustrl::agents
