#pragma once
// TRPO's policy step (Schulman et al. 2015, "Trust Region Policy Optimization", section 6 and
// appendix C) on one whole batch: g = gradient of the surrogate mean(ratio * advantage) at the
// old parameters (plus ent_coef times the mean entropy); s = CG(F + damping I, g) on Fisher-vector
// products; the full step sqrt(2 delta / s^T (F + damping I) s) s, on which the quadratic model of
// the KL is delta; then a backtracking line search that takes the first fraction c^k of it whose
// analytic mean KL(old || new) is at most delta and whose surrogate improves, by at least
// accept_ratio of the first-order prediction g . step (modular_rl's linesearch). When no step
// qualifies the policy stays as it was. Only the policy moves; the critic is trained apart.
//
// Data-parallel learners (each holding the same whole batch) each take their share of the rows:
// the gradient, every Fisher-vector product and the line search's KL and surrogate are sums of
// share-weighted means over the learners, so every learner runs the same CG and line search on
// the whole batch's numbers, and takes rank 0's parameters at the end (same bits everywhere).

#include <torch/torch.h>

#include <cstdint>
#include <string_view>

#include "agents/collective.h"
#include "agents/distill_loss.h"
#include "agents/distribution.h"
#include "agents/fisher_vector_product.h"
#include "agents/network.h"
#include "core/error.h"

namespace trustrl::agents {

struct NaturalGradientConfig {
  double delta = 0.01;
  std::int64_t cg_iters = 10;
  double cg_damping = 0.1;
  double backtrack_coef = 0.8;
  std::int64_t max_backtracks = 10;
  /// Least actual / expected improvement a step must show (modular_rl's accept_ratio).
  double accept_ratio = 0.1;
  /// Entropy bonus added to the surrogate (PPO's ent_coef; TRPO has none, 0).
  double ent_coef = 0;
  /// trust_region.reference: the reference policy on the batch's rows, whose KL to the policy
  /// times reference_beta is taken from the surrogate; null: none.
  const Distribution* reference = nullptr;
  double reference_beta = 0;
  KlDirection reference_direction = KlDirection::kReverse;
  /// How the Fisher-vector products are taken (ppo.fused_update false: double backward).
  FisherMethod fisher_method = FisherMethod::kAuto;
  /// The line search's forwards by fused_distribution (agents/fused_update.h), as the update's
  /// whole-batch reads are where its steps are fused, instead of libtorch's.
  bool fused_forward = false;
};

/// The rows the step reads; tensors share their rows.
struct NaturalGradientBatch {
  torch::Tensor obs;            // [B, obs_dim]
  torch::Tensor actions;        // [B, k] int64 or [B, d] float
  torch::Tensor old_log_probs;  // [B], the behaviour policy's, as in the ratio
  torch::Tensor advantages;     // [B], already normalized where wanted
};

/// A quantity of the step is not finite: the batch is broken (an overflowing ratio, a NaN
/// advantage). The trainer undoes such an update as one that left a non-finite parameter.
class NonFiniteStepError : public Error {
 public:
  using Error::Error;
};

/// Why a step was or was not taken; the numbers are logged as trust/ng_refusal.
enum class NaturalGradientOutcome {
  /// A step was taken.
  kStepped,
  /// The surrogate's gradient is zero: nothing to do.
  kZeroGradient,
  /// CG met a direction with s^T F s <= 0: the Fisher is not positive definite in floating point.
  kNotPositiveDefinite,
  /// CG's direction s does not ascend the surrogate (g . s <= 0; rounding only: CG from 0 always
  /// ascends in exact arithmetic, whatever its residual).
  kNoCgProgress,
  /// No step of the line search kept KL <= delta with enough improvement.
  kNoAcceptableStep,
};

std::string_view natural_gradient_outcome_name(NaturalGradientOutcome outcome);

/// What one step measured, logged every update.
struct NaturalGradientStats {
  NaturalGradientOutcome outcome = NaturalGradientOutcome::kZeroGradient;
  /// Mean analytic KL(old || new) of the step taken (0 when none).
  double kl = 0;
  int cg_iterations = 0;
  double cg_residual = 0;
  /// Fractions tried after the full step (0: the full step was taken).
  int backtracks = 0;
  /// g . step and surrogate(new) - surrogate(old) of the step taken, or of the last one tried.
  double expected_improvement = 0, actual_improvement = 0;
  double surrogate = 0;
  bool stepped() const { return outcome == NaturalGradientOutcome::kStepped; }
};

/// Takes one natural-gradient step on the policy of `net` from `old_dist`, the policy at the
/// current parameters on `batch.obs` (detached). Throws NonFiniteStepError naming the quantity
/// when the gradient, the CG solution, the surrogate or the KL is not finite. `collective`: the
/// data-parallel learners, every one of which calls this on the same batch (null: alone).
NaturalGradientStats natural_gradient_step(ActorCriticImpl& net, const NaturalGradientBatch& batch,
                                           const Distribution& old_dist,
                                           const NaturalGradientConfig& config,
                                           Collective* collective = nullptr);

}  // namespace trustrl::agents
