#pragma once
// Products with the Fisher information of the policy, for the natural-gradient (TRPO) step.
//
// F = E_s[ d^2/dθ^2 KL(π_θ0(.|s) || π_θ(.|s)) ] at θ = θ0, the mean over a batch of states. F v is
// taken by double backward (Pearlmutter 1994; Schulman et al. 2015, "Trust Region Policy
// Optimization", appendix C): the gradient of the analytic KL of agents/kl.h is built once with
// its graph, and each product differentiates (grad KL) . v once more. The same code serves every
// head (Categorical, MultiCategorical, diagonal Gaussian, gSDE), since it reads only the KL.
//
// For the common networks (a tanh or ReLU MLP actor with a (Multi)Categorical head, or a diagonal
// Gaussian with a state-independent log std) the product is also written out in closed form,
// F v = mean over rows of J^T M J v (Martens 2014, "New insights and perspectives on the natural
// gradient method", the Gauss-Newton form; M the Fisher of the head's output: diag(p) - p p^T per
// categorical, 1/sigma^2 for a Gaussian's mean and 2 for its log std): J v is one forward pass of
// tangents through the MLP, J^T u one backward pass, with no autograd graph, on the small products
// of agents/small_gemm.h. It takes a fraction of double backward's time and agrees with it to
// float rounding; kAuto picks it where it applies.

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

/// How a FisherVectorProduct computes: kAuto takes the closed form where it applies.
enum class FisherMethod { kAuto, kDoubleBackward, kClosedForm };

/// Whether the closed form applies to `net`'s policy (see the top of this file).
bool closed_form_fisher_supported(ActorCriticImpl& net);

class FisherVectorProduct {
 public:
  /// The Fisher of `net`'s policy at its current parameters, averaged over the rows of `obs`
  /// ([B, obs_dim]), plus `damping` times the identity (TRPO's cg_damping, which keeps the system
  /// well conditioned). Holds what the products need (the KL gradient's graph, or the forward
  /// pass's activations) until destroyed; `net`'s parameters must not change meanwhile.
  /// kClosedForm throws Error where the closed form does not apply.
  FisherVectorProduct(ActorCriticImpl& net, const torch::Tensor& obs, double damping,
                      FisherMethod method = FisherMethod::kAuto);

  /// (F + damping I) v for a flat `v` over the policy's parameters (flat_policy_parameters'
  /// layout); the result has `v`'s shape. Not for two threads at once.
  torch::Tensor operator()(const torch::Tensor& v) const;
  /// The gradient, in the flat layout, of a loss of the policy's outputs on `obs` at these
  /// parameters, from the loss's gradient with respect to the head's outputs (`head_gradient`,
  /// [B, n_head], any mean over rows already in it) and, for a Gaussian, to its log std
  /// (`log_std_gradient`, [d]): J^T u by one backward pass over the stored forward pass, no
  /// autograd graph. Closed form only (Error otherwise).
  torch::Tensor backward(const torch::Tensor& head_gradient,
                         const torch::Tensor& log_std_gradient = {}) const;
  /// The head's outputs of the stored forward pass, [B, n_head]: the logits or the Gaussian's
  /// mean. Closed form only (undefined otherwise).
  const torch::Tensor& head_output() const { return head_; }
  /// Length of the flat vectors.
  std::int64_t size() const { return size_; }
  /// Whether the products take the closed form.
  bool closed_form() const { return closed_form_; }

 private:
  torch::Tensor closed_form_product(const torch::Tensor& v) const;
  // The closed form on raw rows of the network's scalar type: `v` in, `out` the product without
  // damping; rows_a, rows_b and v_t the working rows (see rows_a_).
  template <class T>
  void closed_form_rows(const T* v, T* out, T* rows_a, T* rows_b, T* v_t) const;
  // Where each layer's weight and bias, and the log std, sit in the flat layout.
  struct Offsets {
    std::vector<std::int64_t> weight_at, bias_at;
    std::int64_t log_std_at = -1, log_std_size = 0;
  };
  Offsets offsets() const;
  // J^T delta: the backward pass from the head's rows `delta` ([B, n_head] at the start of a
  // [B, widest] buffer, overwritten), each layer's gradients written into their place in `out`;
  // `prev` another [B, widest] buffer, `scratch` a layer-sized one.
  template <class T>
  void backward_rows(const Offsets& at, T* delta, T* prev, T* out, T* scratch) const;
  // x *= the activation's derivative at hidden layer l (n entries).
  template <class T>
  void times_derivative(T* x, std::size_t l, std::int64_t n) const;

  std::vector<torch::Tensor> parameters_;
  std::int64_t size_ = 0;
  double damping_;
  bool closed_form_ = false;
  torch::Tensor kl_gradient_;  // double backward: flat, with its graph
  // Closed form: per actor layer its weight and, for every layer but the last, its activated
  // output and the activation's derivative there; the input rows; the head's output Fisher.
  struct Layer {
    torch::Tensor weight;              // [out, in]
    torch::Tensor output, derivative;  // [B, out], hidden layers only; derivative: double nets
  };
  std::vector<Layer> layers_;
  bool relu_ = false;  // the hidden layers' activation (else tanh)
  torch::Tensor input_;
  torch::Tensor head_;              // [B, n_head]: the last layer's output
  torch::Tensor probs_;             // [B, logits]: (Multi)Categorical
  std::vector<std::int64_t> nvec_;  // the categorical segments of the logits
  torch::Tensor inverse_variance_;  // [d]: Gaussian
  // For each policy parameter (policy_parameters() order): the layer it belongs to and whether it
  // is that layer's bias, or layer -1 for the Gaussian's log std.
  struct Slot {
    int layer = -1;
    bool bias = false;
    std::int64_t numel = 0;
  };
  std::vector<Slot> slots_;
  // The closed form's working rows ([B, widest layer] each) and a layer-sized scratch (a layer of v
  // or W transposed, a transposed weight gradient), reused by every product (so one
  // FisherVectorProduct serves one thread at a time).
  mutable std::vector<float> rows_a_, rows_b_, v_t_;
};

}  // namespace trustrl::agents
