#pragma once
// The PPO-style update of one actor-critic on one flattened batch, shared by PPO and MAPPO:
// the policy's natural-gradient step first where trust_region.mode asks for it (then the epochs
// train the critic alone), minibatch epochs reshuffled each epoch, per-minibatch advantage
// normalization, the trust-region family's loss and hooks, value clipping, entropy bonus, global
// grad-norm clipping, and the KL(old || new) of the update measured on the whole batch in every
// form.

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "agents/collective.h"
#include "agents/flat_adam.h"
#include "agents/network.h"
#include "agents/trust_region.h"
#include "core/config.h"
#include "core/metrics.h"
#include "core/rng.h"

namespace trustrl::agents {

struct PpoConfig {
  std::int64_t num_steps = 128;
  double learning_rate = 2.5e-4;
  bool anneal_lr = true;
  double gamma = 0.99;
  double gae_lambda = 0.95;
  std::int64_t num_minibatches = 4;
  /// Samples per minibatch; 0 derives it from num_minibatches.
  std::int64_t minibatch_size = 0;
  std::int64_t update_epochs = 4;
  bool norm_adv = true;
  double ent_coef = 0.01;
  double vf_coef = 0.5;
  std::optional<double> value_clip = 0.2;
  /// Huber loss with this delta for the value instead of the squared error; null is off.
  std::optional<double> value_huber_delta;
  /// Normalize value targets by running statistics (MAPPO's ValueNorm).
  bool value_norm = false;
  double max_grad_norm = 0.5;
  double adam_eps = 1e-5;
  /// Hand-written gradients for the common networks (agents/fused_update.h, and the closed-form
  /// Fisher-vector products of agents/fisher_vector_product.h); false forces libtorch autograd.
  bool fused_update = true;

  void visit(ConfigVisitor& v);
};

/// Minibatch size for a batch, from minibatch_size or num_minibatches; throws ConfigError if it
/// does not fit.
std::int64_t minibatch_size(const PpoConfig& ppo, std::int64_t batch);

/// One update's samples (inactive agents already left out). Tensors share their rows.
struct UpdateBatch {
  torch::Tensor obs;            // [B, actor_input] normalized
  torch::Tensor critic_inputs;  // [B, critic_input] normalized; [S, ...] with critic_input_index
  /// Where samples share critic inputs (MAPPO's critic on the global state, no agent id): [B]
  /// int64, sample i reads critic_inputs[critic_input_index[i]], each distinct row held once, so
  /// that minibatches evaluate it once (agents/critic_rows.h). Undefined: a row per sample.
  torch::Tensor critic_input_index;
  torch::Tensor actions;        // [B, k] int64 class indices, or [B, d] float
  torch::Tensor old_log_probs;  // [B]
  torch::Tensor old_values;     // [B] in the critic's output units
  torch::Tensor advantages;     // [B]
  torch::Tensor returns;        // [B] value targets in the critic's output units
  /// trust_region.reference: the reference policy on these rows (detached).
  std::optional<Distribution> reference;
  std::int64_t rows() const { return obs.size(0); }
};

/// What one update measured; names follow CleanRL where it has them.
struct UpdateStats {
  double policy_loss = 0, value_loss = 0, entropy = 0;
  double kl_analytic = 0, kl_k1 = 0, kl_k2 = 0, kl_k3 = 0;
  double clip_fraction = 0, explained_variance = 0;
  double learning_rate = 0, clip_epsilon = 0, beta = 0;
  /// The update's KL bound (trust/kl_delta) where one is configured.
  std::optional<double> kl_delta;
  int epochs = 0, minibatches = 0, backtracks = 0;
  bool early_stopped = false;
  /// Mean ratio on the first minibatch of the first epoch (1 unless the actor's policy differs).
  double first_ratio = 1.0;
  /// KL(behaviour || current) before the first step, k3 on the actions taken: ~0 when the actors
  /// acted with the current policy, the price of staleness when they did not (async learners).
  double behaviour_kl = 0;
  /// Per agent group (MAPPO): the analytic KL(old || new) of each group's update.
  std::vector<double> group_kl;
  /// Samples the update used.
  std::int64_t samples = 0;
  /// trust_region.mode natural_gradient: what its policy step measured (written as trust/ng_*,
  /// trust/cg_*, trust/line_search_steps; with agent groups, summed as combine() says).
  struct NaturalGradient {
    /// Groups whose step was taken / not taken (1 and 0 for one policy).
    int stepped = 0, not_stepped = 0;
    /// Why the last group that took no step took none (natural_gradient_outcome_name's number).
    int last_refusal = 0;
    double kl = 0, cg_residual = 0, expected_improvement = 0, actual_improvement = 0;
    /// The surrogate before the step (reported as -losses/policy_loss).
    double surrogate = 0;
    int cg_iterations = 0, line_search_steps = 0;
    /// Whether the step ran on a thread of its own beside the critic's epochs (run_policy_update
    /// says when); the numbers are the same either way.
    bool beside_critic = false;
  };
  std::optional<NaturalGradient> natural_gradient;
  /// trust_region.reference: the final KL to the reference (its direction) and the update's beta
  /// for it (written as kl/reference and trust/reference_beta).
  std::optional<double> reference_kl, reference_beta;
  /// mappo.update sequential: the order the agents were updated in and, per agent, the weight M
  /// its advantages were multiplied by (the product of the ratios of the agents updated before
  /// it) over its samples. Written as seq/order_<m> (the agent updated m-th) and
  /// seq/factor_{mean,min,max}_<a>; group_kl then holds one KL per agent's update.
  struct Sequential {
    std::vector<int> order;
    std::vector<double> factor_mean, factor_min, factor_max;
  };
  std::optional<Sequential> sequential;

  void write(MetricRow& row) const;
  /// Averages groups' stats weighted by their samples (KL per group kept in group_kl).
  static UpdateStats combine(const std::vector<UpdateStats>& groups);
};

/// What one call of run_policy_update trains. The clipped and penalized modes train the policy and
/// the critic in the same minibatches; the natural-gradient mode, which moves the policy by one
/// whole-batch step and then trains the critic alone, can also take the two apart: mappo.update
/// sequential steps each agent's policy on its own rows and trains a critic that several agents
/// share once per update, on all of their rows (as HARL trains its one critic after the agents).
enum class UpdateParts { kPolicyAndCritic, kPolicy, kCritic };

/// Runs the epochs of one update on `net`; `progress_remaining` (1 -> 0 over training) drives LR
/// and clip annealing. `parts` other than kPolicyAndCritic need trust_region.mode natural_gradient
/// (Error otherwise): kPolicy takes the policy's step and its KL measures, no epochs; kCritic the
/// critic's epochs alone (value loss, epochs and minibatches reported), the trust region untouched.
///
/// With a `collective` of several learners (data parallel, docs/DISTRIBUTED.md), every learner
/// holds the same whole batch and parameters and draws the same shuffles; each computes the loss
/// on its contiguous share of every minibatch, weighted by share / minibatch size, and the flat
/// gradients are summed over learners before clipping and the Adam step. The sum is the gradient
/// one learner would compute on the whole minibatch, so all learners stay identical to it (up to
/// float rounding) while each does 1/W of the backward work.
UpdateStats run_policy_update(ActorCriticImpl& net, FlatAdam& optimizer, TrustRegion& trust_region,
                              const PpoConfig& ppo, Rng& rng, const UpdateBatch& batch,
                              double progress_remaining, Collective* collective = nullptr,
                              UpdateParts parts = UpdateParts::kPolicyAndCritic);

double explained_variance(const std::vector<float>& predicted, const std::vector<float>& target);

}  // namespace trustrl::agents
