#include "agents/kl.h"

#include "core/error.h"

namespace trustrl::agents {

torch::Tensor kl_divergence(const Distribution& p, const Distribution& q) {
  if (p.kind() != q.kind()) throw Error("kl_divergence: distributions of different kinds");
  switch (p.kind()) {
    case DistributionKind::kCategorical:
    case DistributionKind::kMultiCategorical:
      // sum_a p(a) (log p(a) - log q(a)); for independent components the KLs add up, and the
      // flat sum over every component's classes is exactly that sum.
      return (torch::exp(p.log_probs()) * (p.log_probs() - q.log_probs())).sum(-1);
    case DistributionKind::kDiagGaussian: {
      // Per component: log(sq/sp) + (sp^2 + (mp - mq)^2) / (2 sq^2) - 1/2.
      const auto var_ratio = torch::exp(2.0 * (p.log_std() - q.log_std()));
      const auto diff = (p.mean() - q.mean()) * torch::exp(-q.log_std());
      return (q.log_std() - p.log_std() + 0.5 * (var_ratio + diff * diff) - 0.5).sum(-1);
    }
  }
  return {};
}

torch::Tensor kl_k1(const torch::Tensor& log_ratio) { return -log_ratio; }
torch::Tensor kl_k2(const torch::Tensor& log_ratio) { return 0.5 * log_ratio * log_ratio; }
torch::Tensor kl_k3(const torch::Tensor& log_ratio) { return torch::expm1(log_ratio) - log_ratio; }

}  // namespace trustrl::agents
