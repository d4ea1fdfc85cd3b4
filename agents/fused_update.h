#pragma once
// PPO's minibatch gradient written out by hand, for the common case.
//
// On small problems (two 64x64 MLPs, minibatches of a few hundred rows) a minibatch step through
// autograd is mostly per-op dispatch and graph bookkeeping. This path runs the same forward and
// backward as sixteen small products (agents/small_gemm.h) on preallocated buffers plus plain
// (vectorized) loops for everything elementwise, and writes the gradient straight into FlatAdam's
// flat buffer, so the norm clip and the Adam step are the autograd path's own. tanh is
// inference.cpp's rational approximation (a few float ulps from torch's), so the two paths agree to
// float rounding, not bit for bit.
//
// It covers one learner (no collective), the clipped surrogate without a KL term, Categorical
// actions or a DiagGaussian with a state-independent log std, tanh/relu MLPs, and the squared
// value error with or without value clipping, Huber's or squared, and the critic evaluated once per
// distinct input row where samples share them (MAPPO's global state). Everything else takes the
// autograd path; the two agree to float rounding (tests/agents/fused_update_test.cpp).

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "agents/distribution.h"
#include "agents/flat_adam.h"
#include "agents/network.h"
#include "agents/policy_update.h"
#include "agents/trust_region.h"

namespace trustrl::agents {

/// True when run_policy_update may take the fused path for this learner: ppo.fused_update on,
/// world == 1, mode minibatch, clipping without a KL penalty or target_kl, a Discrete or
/// state-independent Box
/// policy, and every parameter of `net` inside `optimizer`'s flat buffer.
bool fused_update_eligible(const ActorCriticImpl& net, const FlatAdam& optimizer,
                           const TrustRegion& trust_region, const PpoConfig& ppo,
                           std::int64_t world);

/// True when the natural-gradient mode's critic step (the value loss alone) may take the fused
/// path: ppo.fused_update on, world == 1, and the network conditions of fused_update_eligible.
bool fused_value_eligible(const ActorCriticImpl& net, const FlatAdam& optimizer,
                          const PpoConfig& ppo, std::int64_t world);

/// True when fused_distribution computes `net`'s policy: a Categorical or shared-log-std Gaussian
/// head on an MLP (no gSDE).
bool fused_forward_supported(const ActorCriticImpl& net);

/// The policy's distribution at `obs`, with no autograd graph, its forward computed as the fused
/// step computes it (agents/small_gemm.h): net.distribution(obs)'s values to float rounding, at a
/// fraction of libtorch's cost on small layers. For an update's whole-batch reads (the behaviour
/// distribution, the KL after the epochs). Throws Error where !fused_forward_supported(net).
Distribution fused_distribution(const ActorCriticImpl& net, const torch::Tensor& obs);

/// One minibatch's rows; each tensor contiguous, float32 except int64 Discrete actions. Every
/// member defaults to {} so that a designated initializer may name only the tensors it uses (the
/// value-only step) without -Wmissing-field-initializers.
struct FusedMinibatch {
  torch::Tensor obs{};            // [m, obs_dim]
  torch::Tensor critic_inputs{};  // [m, critic_input_dim], or [u, ...] distinct rows with the index
  torch::Tensor actions{};        // [m, 1] int64 or [m, d] float
  torch::Tensor old_log_probs{};  // [m]
  torch::Tensor old_values{};     // [m]
  torch::Tensor advantages{};     // [m], raw: normalized here when ppo.norm_adv
  torch::Tensor returns{};        // [m]
  /// [m] int64: sample i's critic input is critic_inputs[critic_index[i]] (agents/critic_rows.h);
  /// undefined: a row per sample.
  torch::Tensor critic_index{};
};

/// The minibatch's loss terms as run_policy_update reports them.
struct FusedLosses {
  double policy_loss = 0, value_loss = 0, entropy = 0, clip_fraction = 0;
  double mean_ratio = 0;
};

/// The fused gradient of one network under one optimizer. Holds views into the optimizer's flat
/// parameter and gradient buffers (not owned), so build it per update, after the optimizer.
class FusedPpoGradient {
 public:
  /// Throws Error if the network or value loss is not supported (see fused_update_eligible; the
  /// trust-region and world conditions are the caller's).
  FusedPpoGradient(ActorCriticImpl& net, FlatAdam& optimizer, const PpoConfig& ppo);

  /// Overwrites optimizer.gradients() with d loss / d parameters for the minibatch, loss =
  /// policy_loss - ent_coef * entropy + vf_coef * value_loss, clip epsilon `clip_epsilon`; does
  /// not clip or step.
  FusedLosses compute(const FusedMinibatch& mb, double clip_epsilon);
  /// The same for loss = vf_coef * value_loss alone (the natural-gradient mode's critic step): the
  /// policy's gradients are zero. Reads only the critic's fields of `mb`; reports value_loss.
  FusedLosses compute_value(const FusedMinibatch& mb);

 private:
  struct Layer {
    torch::Tensor weight, bias;            // [out, in], [out]: views of the flat parameters
    torch::Tensor weight_grad, bias_grad;  // the same slots of the flat gradients
    torch::Tensor weight_t;                // [in, out] scratch: the weight transposed
  };
  struct Mlp {
    std::vector<Layer> layers;
    std::vector<torch::Tensor> outputs;  // per layer, [m, out]: activated except the last
    std::vector<torch::Tensor> deltas;   // per layer, d loss / d pre-activation, [m, out]
  };
  void forward(Mlp& mlp, const torch::Tensor& input);
  void backward(Mlp& mlp, const torch::Tensor& input);
  void resize(std::int64_t actor_rows, std::int64_t critic_rows);
  // Checks mb's critic index against its critic input rows; returns it (null: a row per sample).
  static const std::int64_t* critic_index(const torch::Tensor& index, std::int64_t samples,
                                          std::int64_t critic_rows);
  // Writes the critic's gradient of vf_coef * value_loss for the `samples` rows (the critic's
  // outputs already computed); returns the sum of the per-sample value losses.
  double value_backward(const FusedMinibatch& mb, const torch::Tensor& critic_in,
                        const std::int64_t* index, std::int64_t samples);

  PpoConfig ppo_;
  torch::Tensor gradients_;  // the optimizer's whole flat gradient buffer
  bool relu_ = false, discrete_ = true;
  Mlp actor_, critic_;
  torch::Tensor log_std_, log_std_grad_;  // [d] views, Box actions only
  torch::Tensor adv_;                     // [m] normalized advantages
  std::int64_t actor_rows_ = 0, critic_rows_ = 0;
};

}  // namespace trustrl::agents
