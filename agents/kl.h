#pragma once
// KL divergence: analytic per distribution, and the sample estimators.
//
// The estimators follow J. Schulman, "Approximating KL Divergence" (2020): with samples from
// the old policy and r = pi_new(a) / pi_old(a),
//   k1 = -log r          (unbiased, high variance, can be negative)
//   k2 = (log r)^2 / 2   (biased, low variance)
//   k3 = (r - 1) - log r (unbiased, low variance, never negative)
// all estimate KL(pi_old || pi_new).

#include <torch/torch.h>

#include "agents/distribution.h"

namespace trustrl::agents {

/// KL(p || q) per row, [B]. p and q must be of one kind and shape.
torch::Tensor kl_divergence(const Distribution& p, const Distribution& q);

/// The estimators from log r = log pi_new(a) - log pi_old(a), per sample.
torch::Tensor kl_k1(const torch::Tensor& log_ratio);
torch::Tensor kl_k2(const torch::Tensor& log_ratio);
torch::Tensor kl_k3(const torch::Tensor& log_ratio);

}  // namespace trustrl::agents
