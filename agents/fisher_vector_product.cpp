#include "agents/fisher_vector_product.h"

#include "agents/kl.h"
#include "core/error.h"

namespace trustrl::agents {

torch::Tensor flat_policy_parameters(ActorCriticImpl& net) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (const auto& p : net.policy_parameters()) parts.push_back(p.reshape({-1}));
  return torch::cat(parts);
}

void set_flat_policy_parameters(ActorCriticImpl& net, const torch::Tensor& flat) {
  torch::NoGradGuard no_grad;
  std::int64_t offset = 0;
  for (auto& p : net.policy_parameters()) {
    const auto n = p.numel();
    if (offset + n > flat.numel())
      throw Error("set_flat_policy_parameters: the flat vector is shorter than the policy");
    p.copy_(flat.narrow(0, offset, n).view_as(p));
    offset += n;
  }
  if (offset != flat.numel())
    throw Error("set_flat_policy_parameters: the flat vector is longer than the policy");
}

torch::Tensor flat_gradient(const torch::Tensor& output,
                            const std::vector<torch::Tensor>& parameters, bool create_graph,
                            bool retain_graph) {
  const std::vector<torch::Tensor> grads =
      torch::autograd::grad({output}, parameters, /*grad_outputs=*/{},
                            /*retain_graph=*/retain_graph || create_graph, create_graph,
                            /*allow_unused=*/true);
  std::vector<torch::Tensor> parts;
  for (std::size_t i = 0; i < parameters.size(); ++i)
    parts.push_back(grads[i].defined()
                        ? grads[i].reshape({-1})
                        : torch::zeros({parameters[i].numel()}, parameters[i].options()));
  return torch::cat(parts);
}

FisherVectorProduct::FisherVectorProduct(ActorCriticImpl& net, const torch::Tensor& obs,
                                         double damping)
    : parameters_(net.policy_parameters()), damping_(damping) {
  torch::AutoGradMode grad_mode(true);
  const Distribution current = net.distribution(obs);
  // KL(old || current) with old the current policy held fixed: zero, with zero gradient, but its
  // Hessian at this point is the Fisher.
  const torch::Tensor kl = kl_divergence(current.detach(), current).mean();
  kl_gradient_ = flat_gradient(kl, parameters_, /*create_graph=*/true);
}

torch::Tensor FisherVectorProduct::operator()(const torch::Tensor& v) const {
  if (v.numel() != size())
    throw Error("FisherVectorProduct: a vector of " + std::to_string(v.numel()) +
                " entries for a policy of " + std::to_string(size()) + " parameters");
  torch::AutoGradMode grad_mode(true);
  const torch::Tensor directional = (kl_gradient_ * v.reshape({-1}).detach()).sum();
  torch::Tensor product = flat_gradient(directional, parameters_, /*create_graph=*/false,
                                        /*retain_graph=*/true);
  if (damping_ != 0) product = product + damping_ * v.reshape({-1});
  return product.reshape(v.sizes()).detach();
}

}  // namespace trustrl::agents
