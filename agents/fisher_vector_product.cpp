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

bool closed_form_fisher_supported(ActorCriticImpl& net) {
  if (net.config().gsde) return false;
  const envs::Space& space = net.shape().action_space;
  const bool gaussian = space.kind == envs::SpaceKind::kBox;
  if (gaussian && !(net.log_std().defined() && net.log_std().dim() == 1)) return false;
  // Every policy parameter is an actor layer's weight or bias, or the Gaussian's log std.
  std::size_t expected = 2 * net.actor_layers().size() + (gaussian ? 1 : 0);
  const std::vector<torch::Tensor> parameters = net.policy_parameters();
  if (parameters.size() != expected) return false;
  for (const auto& p : parameters) {
    bool found = gaussian && p.is_same(net.log_std());
    for (const auto& l : net.actor_layers())
      found = found || p.is_same(l->weight) || p.is_same(l->bias);
    if (!found) return false;
  }
  return true;
}

FisherVectorProduct::FisherVectorProduct(ActorCriticImpl& net, const torch::Tensor& obs,
                                         double damping, FisherMethod method)
    : parameters_(net.policy_parameters()), damping_(damping) {
  for (const auto& p : parameters_) size_ += p.numel();
  const bool supported = closed_form_fisher_supported(net);
  if (method == FisherMethod::kClosedForm && !supported)
    throw Error(
        "FisherVectorProduct: the closed form needs an MLP actor with a (Multi)Categorical head "
        "or a Gaussian with a state-independent log std (no gSDE)");
  closed_form_ = method != FisherMethod::kDoubleBackward && supported;
  if (!closed_form_) {
    torch::AutoGradMode grad_mode(true);
    const Distribution current = net.distribution(obs);
    // KL(old || current) with old the current policy held fixed: zero, with zero gradient, but
    // its Hessian at this point is the Fisher.
    const torch::Tensor kl = kl_divergence(current.detach(), current).mean();
    kl_gradient_ = flat_gradient(kl, parameters_, /*create_graph=*/true);
    return;
  }

  // The forward pass once, as ActorCriticImpl::distribution runs it, keeping what J and J^T need.
  torch::NoGradGuard no_grad;
  const auto& actor = net.actor_layers();
  const bool relu = net.config().activation == Activation::kRelu;
  input_ = obs.detach();
  torch::Tensor h = input_;  // after the loop: the head's output (logits or mean)
  for (std::size_t i = 0; i < actor.size(); ++i) {
    const torch::Tensor weight = actor[i]->weight.detach();
    const torch::Tensor a = torch::addmm(actor[i]->bias.detach(), h, weight.t());
    if (i + 1 == actor.size()) {
      layers_.push_back({weight, {}, {}});
      h = a;
      break;
    }
    h = relu ? torch::relu(a) : torch::tanh(a);
    layers_.push_back({weight, h, relu ? (a > 0).to(a.scalar_type()) : 1 - h * h});
  }
  const torch::Tensor& out = h;
  const envs::Space& space = net.shape().action_space;
  if (space.kind == envs::SpaceKind::kBox) {
    inverse_variance_ = torch::exp(-2.0 * net.log_std().detach());
  } else {
    nvec_ = space.kind == envs::SpaceKind::kDiscrete ? std::vector<std::int64_t>{out.size(1)}
                                                     : space.nvec;
    std::vector<torch::Tensor> parts;
    std::int64_t offset = 0;
    for (std::int64_t n : nvec_) {
      parts.push_back(torch::softmax(out.narrow(1, offset, n), 1));
      offset += n;
    }
    probs_ = torch::cat(parts, 1);
  }
  for (const auto& p : parameters_) {
    Slot slot{-1, false, p.numel()};
    for (std::size_t i = 0; i < actor.size(); ++i)
      if (p.is_same(actor[i]->weight) || p.is_same(actor[i]->bias))
        slot = {static_cast<int>(i), p.is_same(actor[i]->bias), p.numel()};
    slots_.push_back(slot);
  }
}

torch::Tensor FisherVectorProduct::closed_form_product(const torch::Tensor& v) const {
  torch::NoGradGuard no_grad;
  const torch::Tensor flat = v.reshape({-1});
  const std::size_t L = layers_.size();
  std::vector<torch::Tensor> v_weight(L), v_bias(L);
  torch::Tensor v_log_std;
  std::int64_t offset = 0;
  for (const Slot& slot : slots_) {
    const torch::Tensor part = flat.narrow(0, offset, slot.numel);
    offset += slot.numel;
    if (slot.layer < 0)
      v_log_std = part;
    else if (slot.bias)
      v_bias[static_cast<std::size_t>(slot.layer)] = part;
    else
      v_weight[static_cast<std::size_t>(slot.layer)] =
          part.view(layers_[static_cast<std::size_t>(slot.layer)].weight.sizes());
  }

  // J v: the tangent of each layer's pre-activation, a' = h_prev' W^T + h_prev V^T + v_b.
  torch::Tensor tangent;  // of the previous layer's activated output; none for the input
  torch::Tensor out_tangent;
  for (std::size_t l = 0; l < L; ++l) {
    const torch::Tensor& h_prev = l == 0 ? input_ : layers_[l - 1].output;
    torch::Tensor a = torch::addmm(v_bias[l], h_prev, v_weight[l].t());
    if (l > 0) a.addmm_(tangent, layers_[l].weight.t());
    if (l + 1 == L)
      out_tangent = a;
    else
      tangent = layers_[l].derivative * a;
  }

  // M J v, with the mean over rows: per categorical segment p * z' - p (p . z'); z' / sigma^2.
  const double inv_rows = 1.0 / static_cast<double>(input_.size(0));
  torch::Tensor u;
  if (probs_.defined()) {
    u = probs_ * out_tangent;
    std::int64_t start = 0;
    for (std::int64_t n : nvec_) {
      torch::Tensor segment = u.narrow(1, start, n);
      segment.sub_(probs_.narrow(1, start, n) * segment.sum(1, /*keepdim=*/true));
      start += n;
    }
    u.mul_(inv_rows);
  } else {
    u = out_tangent * inverse_variance_ * inv_rows;
  }

  // J^T u: one backward pass.
  std::vector<torch::Tensor> g_weight(L), g_bias(L);
  torch::Tensor delta = u;
  for (std::size_t l = L; l-- > 0;) {
    const torch::Tensor& h_prev = l == 0 ? input_ : layers_[l - 1].output;
    g_weight[l] = delta.t().mm(h_prev);
    g_bias[l] = delta.sum(0);
    if (l > 0) delta = delta.mm(layers_[l].weight) * layers_[l - 1].derivative;
  }
  std::vector<torch::Tensor> parts;
  for (const Slot& slot : slots_) {
    const auto l = static_cast<std::size_t>(slot.layer);
    parts.push_back(slot.layer < 0 ? 2.0 * v_log_std  // the log std's Fisher is 2 on every row
                    : slot.bias    ? g_bias[l]
                                   : g_weight[l].reshape({-1}));
  }
  torch::Tensor product = torch::cat(parts);
  if (damping_ != 0) product = product + damping_ * flat;
  return product.reshape(v.sizes());
}

torch::Tensor FisherVectorProduct::operator()(const torch::Tensor& v) const {
  if (v.numel() != size())
    throw Error("FisherVectorProduct: a vector of " + std::to_string(v.numel()) +
                " entries for a policy of " + std::to_string(size()) + " parameters");
  if (closed_form_) return closed_form_product(v);
  torch::AutoGradMode grad_mode(true);
  const torch::Tensor directional = (kl_gradient_ * v.reshape({-1}).detach()).sum();
  torch::Tensor product = flat_gradient(directional, parameters_, /*create_graph=*/false,
                                        /*retain_graph=*/true);
  if (damping_ != 0) product = product + damping_ * v.reshape({-1});
  return product.reshape(v.sizes()).detach();
}

}  // namespace trustrl::agents
