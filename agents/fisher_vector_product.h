#pragma once
// Products with the Fisher information of the policy, for the natural-gradient (TRPO) step.
//
// F = E_s[ d^2/dθ^2 KL(π_θ0(.|s) || π_θ(.|s)) ] at θ = θ0, the mean over a batch of states. F v is
// taken by double backward (Pearlmutter 1994; Schulman et al. 2015, "Trust Region Policy
// Optimization", appendix C): the gradient of the analytic KL of agents/kl.h is built once with
// its graph, and each product differentiates (grad KL) . v once more. The same code serves every
// head (Categorical, MultiCategorical, diagonal Gaussian, gSDE), since it reads only the KL.

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "agents/network.h"

namespace trustrl::agents {

/// The policy's parameters as one flat vector (a copy), in ActorCriticImpl::policy_parameters()
/// order; the layout of every vector a FisherVectorProduct reads and returns.
torch::Tensor flat_policy_parameters(ActorCriticImpl& net);
/// Writes a flat vector of that layout back into the policy's parameters (the critic's untouched).
void set_flat_policy_parameters(ActorCriticImpl& net, const torch::Tensor& flat);
/// The gradients of `output` (a scalar) with respect to `parameters`, flat; zeros where a
/// parameter does not reach `output`.
torch::Tensor flat_gradient(const torch::Tensor& output,
                            const std::vector<torch::Tensor>& parameters, bool create_graph = false,
                            bool retain_graph = false);

class FisherVectorProduct {
 public:
  /// The Fisher of `net`'s policy at its current parameters, averaged over the rows of `obs`
  /// ([B, obs_dim]), plus `damping` times the identity (TRPO's cg_damping, which keeps the system
  /// well conditioned). Holds the KL gradient's graph until destroyed; `net`'s parameters must
  /// not change meanwhile.
  FisherVectorProduct(ActorCriticImpl& net, const torch::Tensor& obs, double damping);

  /// (F + damping I) v for a flat `v` over the policy's parameters (flat_policy_parameters'
  /// layout); the result has `v`'s shape.
  torch::Tensor operator()(const torch::Tensor& v) const;
  /// Length of the flat vectors.
  std::int64_t size() const { return kl_gradient_.numel(); }

 private:
  std::vector<torch::Tensor> parameters_;
  torch::Tensor kl_gradient_;  // flat, with its graph
  double damping_;
};

}  // namespace trustrl::agents
