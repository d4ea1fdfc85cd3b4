#pragma once
// The actor's policy, run in plain C++ without libtorch.
//
// An actor steps a batch of a few env copies at a time; libtorch's per-op dispatch (~3-10 us per
// op) would then cost more than the arithmetic itself. So the actor holds a copy of the weights
// in plain arrays and runs the MLPs, the sampling and the log-probs here; the learner trains the
// same networks with libtorch. Tests check both paths agree.

#include <cstdint>
#include <vector>

#include "core/bytes.h"
#include "core/rng.h"
#include "envs/space.h"

namespace trustrl::agents {

/// The most layers a saved actor or critic may have (trained ones have 2-4).
inline constexpr std::uint32_t kMaxPolicyLayers = 64;

/// One fully connected layer: out = in * w + b, w stored [in][out] so the inner loop runs over
/// contiguous outputs.
struct DenseLayer {
  int in = 0;
  int out = 0;
  std::vector<float> w;
  std::vector<float> b;
};

/// A plain copy of an actor-critic's weights (see network.h for the torch side).
struct PolicyWeights {
  std::vector<DenseLayer> actor;
  std::vector<DenseLayer> critic;
  /// Box actions: state-independent log std per component ([action_dim]), or with gSDE the log
  /// std of the exploration matrix ([last hidden width, action_dim]).
  std::vector<float> log_std;
  bool relu = false;
  bool gsde = false;
  /// gSDE: steps between redraws of a copy's exploration matrix; -1: once per rollout.
  std::int64_t gsde_sample_freq = -1;
  envs::Space action_space;

  void save(ByteWriter& out) const;
  /// Reads what save() wrote; throws Error if the layers do not chain, a value is not finite,
  /// or the critic does not give one value.
  static PolicyWeights load(ByteReader& in);
};

/// The results of acting on a batch of rows.
struct ActResult {
  /// [rows, action_dim]: int64 for discrete spaces, float for Box (unclipped samples).
  std::vector<std::int64_t> discrete_actions;
  std::vector<float> continuous_actions;
  /// [rows] log pi(a | s) of the chosen actions.
  std::vector<float> log_probs;
};

class PolicyInference {
 public:
  PolicyInference() = default;
  explicit PolicyInference(PolicyWeights weights);

  const PolicyWeights& weights() const { return weights_; }
  int obs_dim() const { return weights_.actor.front().in; }
  int critic_input_dim() const { return weights_.critic.front().in; }

  /// Samples (or, if deterministic, takes the mode of) an action per row of `obs` [rows, obs_dim].
  /// With gSDE, `exploration` holds each row's noise matrix [rows, latent_dim, action_dim] (see
  /// draw_exploration); without it, fresh matrices are drawn for this call.
  void act(const float* obs, int rows, bool deterministic, Rng& rng, ActResult& out,
           const float* exploration = nullptr);
  /// gSDE: draws `rows` exploration matrices E ~ N(0, exp(log_std)^2) into `out`.
  void draw_exploration(int rows, Rng& rng, std::vector<float>& out) const;
  int latent_dim() const {
    return weights_.actor.size() > 1 ? weights_.actor[weights_.actor.size() - 2].out : 0;
  }
  /// V per row of critic inputs [rows, critic_input_dim] into `out` [rows].
  void values(const float* critic_input, int rows, float* out);
  /// The actor's raw outputs (logits or means) [rows, outputs].
  void actor_outputs(const float* obs, int rows, std::vector<float>& out);

 private:
  void run(const std::vector<DenseLayer>& layers, const float* x, int rows,
           std::vector<float>& out);

  PolicyWeights weights_;
  std::vector<float> scratch_a_, scratch_b_, head_, fresh_exploration_;
  const float* latent_ = nullptr;  // the last hidden layer's activations of the last run()
};

}  // namespace trustrl::agents
