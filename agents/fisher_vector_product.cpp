#include "agents/fisher_vector_product.h"

#include <algorithm>
#include <type_traits>

#include "agents/activation_kernels.h"
#include "agents/dense_products.h"
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

  // The forward pass once, keeping what J and J^T need: as the fused forward runs it for a float
  // network (agents/fused_update.h), as ActorCriticImpl::distribution does for a double one.
  torch::NoGradGuard no_grad;
  const auto& actor = net.actor_layers();
  const bool relu = net.config().activation == Activation::kRelu;
  relu_ = relu;
  input_ = obs.detach().to(actor.front()->weight.scalar_type()).contiguous();
  torch::Tensor h = input_;  // after the loop: the head's output (logits or mean)
  const bool float_net = input_.scalar_type() == torch::kFloat32;
  std::vector<float> scratch;
  for (std::size_t i = 0; i < actor.size(); ++i) {
    const torch::Tensor weight = actor[i]->weight.detach().contiguous();
    torch::Tensor a;
    if (float_net) {
      // The fused forward's products and activations (agents/dense_products.h): libtorch's addmm
      // and tanh on 1024 rows cost more than a Fisher-vector product.
      const std::int64_t rows = h.size(0), n_out = weight.size(0), n_in = weight.size(1);
      a = torch::empty({rows, n_out});
      scratch.resize(static_cast<std::size_t>(n_out * n_in));
      dense_forward({rows, n_in, n_out}, h.data_ptr<float>(), weight.data_ptr<float>(),
                    actor[i]->bias.detach().contiguous().data_ptr<float>(), a.data_ptr<float>(),
                    scratch.data());
      if (i + 1 < actor.size()) {
        torch::Tensor hidden = a;  // activated in place
        activate(hidden.data_ptr<float>(), hidden.numel(), relu);
        // No derivative kept: the products take it from the output (activation_backward).
        layers_.push_back({weight, hidden, {}});
        h = hidden;
        continue;
      }
    } else {
      a = torch::addmm(actor[i]->bias.detach(), h, weight.t());
    }
    if (i + 1 == actor.size()) {
      layers_.push_back({weight, {}, {}});
      h = a;
      break;
    }
    h = relu ? torch::relu(a) : torch::tanh(a);
    layers_.push_back(
        {weight, h.contiguous(), (relu ? (a > 0).to(a.scalar_type()) : 1 - h * h).contiguous()});
  }
  std::int64_t widest = 0;
  for (const Layer& l : layers_) widest = std::max({widest, l.weight.size(0), l.weight.size(1)});
  rows_a_.resize(static_cast<std::size_t>(input_.size(0) * widest));
  rows_b_.resize(rows_a_.size());
  v_t_.resize(static_cast<std::size_t>(widest * widest));
  const torch::Tensor& out = h;
  head_ = out.contiguous();
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
  const torch::ScalarType type = input_.scalar_type();
  const torch::Tensor flat = v.reshape({-1}).to(type).contiguous();
  torch::Tensor product = torch::empty({size_}, flat.options());
  if (type == torch::kFloat32) {
    closed_form_rows(flat.data_ptr<float>(), product.data_ptr<float>(), rows_a_.data(),
                     rows_b_.data(), v_t_.data());
  } else if (type == torch::kFloat64) {
    std::vector<double> a(rows_a_.size()), b(rows_b_.size()), t(v_t_.size());
    closed_form_rows(flat.data_ptr<double>(), product.data_ptr<double>(), a.data(), b.data(),
                     t.data());
  } else {
    throw Error("FisherVectorProduct: the closed form takes float32 or float64 networks");
  }
  if (damping_ != 0) product.add_(flat, damping_);
  return product.reshape(v.sizes()).to(v.scalar_type());
}

FisherVectorProduct::Offsets FisherVectorProduct::offsets() const {
  Offsets at;
  at.weight_at.resize(layers_.size());
  at.bias_at.resize(layers_.size());
  std::int64_t offset = 0;
  for (const Slot& slot : slots_) {
    if (slot.layer < 0) {
      at.log_std_at = offset;
      at.log_std_size = slot.numel;
    } else {
      (slot.bias ? at.bias_at : at.weight_at)[static_cast<std::size_t>(slot.layer)] = offset;
    }
    offset += slot.numel;
  }
  return at;
}

// x *= the activation's derivative at hidden layer l's stored output: the fused update's per-path
// kernel for float, the stored derivative otherwise.
template <class T>
void FisherVectorProduct::times_derivative(T* x, std::size_t l, std::int64_t n) const {
  if constexpr (std::is_same_v<T, float>) {
    activation_backward(x, layers_[l].output.data_ptr<float>(), n, relu_);
  } else {
    const T* d = layers_[l].derivative.data_ptr<T>();
    for (std::int64_t k = 0; k < n; ++k) x[k] *= d[k];
  }
}

template <class T>
void FisherVectorProduct::backward_rows(const Offsets& at, T* delta, T* prev, T* out,
                                        T* scratch) const {
  const std::int64_t rows = input_.size(0);
  for (std::size_t l = layers_.size(); l-- > 0;) {
    const DenseShape shape{rows, layers_[l].weight.size(1), layers_[l].weight.size(0)};
    const T* activated = l == 0 ? input_.data_ptr<T>() : layers_[l - 1].output.data_ptr<T>();
    dense_weight_gradient(shape, activated, delta, out + at.weight_at[l], scratch);
    dense_bias_gradient(shape, delta, out + at.bias_at[l]);
    if (l == 0) break;
    dense_input_gradient(shape, delta, layers_[l].weight.data_ptr<T>(), prev);
    times_derivative(prev, l - 1, rows * shape.n_in);
    std::swap(delta, prev);
  }
}

template <class T>
void FisherVectorProduct::closed_form_rows(const T* fv, T* out, T* rows_a, T* rows_b,
                                           T* v_t) const {
  const std::size_t L = layers_.size();
  const Offsets at = offsets();
  const std::vector<std::int64_t>& weight_at = at.weight_at;
  const std::vector<std::int64_t>& bias_at = at.bias_at;
  const std::int64_t rows = input_.size(0);
  const T* input = input_.data_ptr<T>();
  auto width = [&](std::size_t l) { return layers_[l].weight.size(0); };
  auto fan_in = [&](std::size_t l) { return layers_[l].weight.size(1); };
  auto activated = [&](std::size_t l) -> const T* {  // layer l's input rows
    return l == 0 ? input : layers_[l - 1].output.data_ptr<T>();
  };

  // J v: the tangent of each layer's pre-activation, a' = h_prev V^T + v_b + t_prev W^T, where
  // t_prev = derivative * a' of the layer before.
  T* tangent = rows_a;  // the previous layer's activated tangent
  T* pre = rows_b;
  for (std::size_t l = 0; l < L; ++l) {
    const std::int64_t n_out = width(l), n_in = fan_in(l);
    const DenseShape shape{rows, n_in, n_out};
    dense_forward(shape, activated(l), fv + weight_at[l], fv + bias_at[l], pre, v_t);
    if (l > 0)
      dense_forward(shape, tangent, layers_[l].weight.data_ptr<T>(), nullptr, pre, v_t,
                    /*accumulate=*/true);
    if (l + 1 < L) times_derivative(pre, l, rows * n_out);
    std::swap(tangent, pre);
  }
  T* u = tangent;  // the head's output tangent, [rows, n_head]

  // M J v, with the mean over rows: per categorical segment p * z' - p (p . z'); z' / sigma^2.
  const std::int64_t n_head = width(L - 1);
  const auto inv_rows = static_cast<T>(1.0 / static_cast<double>(rows));
  if (probs_.defined()) {
    const T* p = probs_.data_ptr<T>();
    for (std::int64_t r = 0; r < rows; ++r) {
      std::int64_t start = r * n_head;
      for (const std::int64_t n : nvec_) {
        T dot = 0;
        for (std::int64_t j = start; j < start + n; ++j) dot += p[j] * u[j];
        for (std::int64_t j = start; j < start + n; ++j)
          u[j] = (p[j] * u[j] - p[j] * dot) * inv_rows;
        start += n;
      }
    }
  } else {
    const T* inv_var = inverse_variance_.data_ptr<T>();
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < n_head; ++j) u[r * n_head + j] *= inv_var[j] * inv_rows;
  }

  // J^T u: one backward pass (v_t is free as the weight gradient's scratch: the tangent pass is
  // over).
  backward_rows(at, u, pre, out, v_t);
  // The log std's Fisher is 2 on every row.
  for (std::int64_t j = 0; j < at.log_std_size; ++j)
    out[at.log_std_at + j] = 2 * fv[at.log_std_at + j];
}

torch::Tensor FisherVectorProduct::backward(const torch::Tensor& head_gradient,
                                            const torch::Tensor& log_std_gradient) const {
  if (!closed_form_) throw Error("FisherVectorProduct::backward: the closed form only");
  torch::NoGradGuard no_grad;
  const torch::ScalarType type = input_.scalar_type();
  if (head_gradient.sizes() != head_.sizes())
    throw Error("FisherVectorProduct::backward: the head's gradient has the wrong shape");
  const Offsets at = offsets();
  if (at.log_std_size > 0 &&
      !(log_std_gradient.defined() && log_std_gradient.numel() == at.log_std_size))
    throw Error("FisherVectorProduct::backward: a Gaussian needs the log std's gradient");
  torch::Tensor product = torch::empty({size_}, input_.options());
  const torch::Tensor u = head_gradient.to(type).contiguous();
  const auto n = static_cast<std::size_t>(u.numel());
  if (type == torch::kFloat32) {
    std::copy_n(u.data_ptr<float>(), n, rows_a_.data());
    backward_rows(at, rows_a_.data(), rows_b_.data(), product.data_ptr<float>(), v_t_.data());
  } else {
    std::vector<double> a(rows_a_.size()), b(rows_b_.size()), t(v_t_.size());
    std::copy_n(u.data_ptr<double>(), n, a.data());
    backward_rows(at, a.data(), b.data(), product.data_ptr<double>(), t.data());
  }
  if (at.log_std_size > 0)
    product.narrow(0, at.log_std_at, at.log_std_size)
        .copy_(log_std_gradient.reshape({-1}).to(type));
  return product;
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
