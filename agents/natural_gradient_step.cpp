#include "agents/natural_gradient_step.h"

#include <cmath>
#include <string>

#include "agents/conjugate_gradient.h"
#include "agents/fisher_vector_product.h"
#include "agents/kl.h"
#include "core/error.h"

namespace trustrl::agents {

std::string_view natural_gradient_outcome_name(NaturalGradientOutcome outcome) {
  switch (outcome) {
    case NaturalGradientOutcome::kStepped:
      return "stepped";
    case NaturalGradientOutcome::kZeroGradient:
      return "zero_gradient";
    case NaturalGradientOutcome::kNotPositiveDefinite:
      return "not_positive_definite";
    case NaturalGradientOutcome::kNoCgProgress:
      return "no_cg_progress";
    case NaturalGradientOutcome::kNoAcceptableStep:
      return "no_acceptable_step";
  }
  return "unknown";
}

namespace {

void require_finite(double value, const char* quantity) {
  if (!std::isfinite(value))
    throw NonFiniteStepError(std::string("natural-gradient step: ") + quantity + " is " +
                             std::to_string(value) + " (not finite)");
}

void require_finite(const torch::Tensor& t, const char* quantity) {
  if (!torch::isfinite(t).all().item<bool>())
    throw NonFiniteStepError(std::string("natural-gradient step: ") + quantity +
                             " has entries that are not finite");
}

// mean(pi(a) / pi_behaviour(a) * advantage): TRPO's surrogate, to be maximized, with the
// entropy bonus where there is one and less beta times the KL to a reference policy.
torch::Tensor surrogate(const NaturalGradientBatch& b, const Distribution& dist,
                        const NaturalGradientConfig& config) {
  torch::Tensor s = (torch::exp(dist.log_prob(b.actions) - b.old_log_probs) * b.advantages).mean();
  if (config.ent_coef != 0) s = s + config.ent_coef * dist.entropy().mean();
  if (config.reference && config.reference_beta != 0) {
    const Distribution& ref = *config.reference;
    const torch::Tensor kl = config.reference_direction == KlDirection::kForward
                                 ? kl_divergence(ref, dist)
                                 : kl_divergence(dist, ref);
    s = s - config.reference_beta * kl.mean();
  }
  return s;
}

}  // namespace

NaturalGradientStats natural_gradient_step(ActorCriticImpl& net, const NaturalGradientBatch& b,
                                           const Distribution& old_dist,
                                           const NaturalGradientConfig& config) {
  NaturalGradientStats stats;
  const std::vector<torch::Tensor> parameters = net.policy_parameters();

  torch::Tensor gradient;
  {
    torch::AutoGradMode grad_mode(true);
    const torch::Tensor l = surrogate(b, net.distribution(b.obs), config);
    stats.surrogate = l.item<double>();
    require_finite(stats.surrogate, "the surrogate before the step");
    gradient = flat_gradient(l, parameters);
  }
  require_finite(gradient, "the surrogate's gradient");
  if (gradient.norm().item<double>() == 0) return stats;

  const FisherVectorProduct fvp(net, b.obs, config.cg_damping);
  const ConjugateGradientResult cg = conjugate_gradient(
      [&](const torch::Tensor& v) { return fvp(v); }, gradient, static_cast<int>(config.cg_iters));
  stats.cg_iterations = cg.iterations;
  stats.cg_residual = cg.relative_residual;
  if (!cg.positive_curvature) {
    stats.outcome = NaturalGradientOutcome::kNotPositiveDefinite;
    return stats;
  }
  require_finite(cg.x, "the conjugate-gradient solution");
  if (!(cg.relative_residual < 1.0)) {
    stats.outcome = NaturalGradientOutcome::kNoCgProgress;
    return stats;
  }
  const double curvature = cg.x.dot(fvp(cg.x)).item<double>();
  require_finite(curvature, "s^T F s");
  if (!(curvature > 0)) {
    stats.outcome = NaturalGradientOutcome::kNotPositiveDefinite;
    return stats;
  }
  // On the quadratic model KL ~ 1/2 x^T F x, the full step's KL is exactly delta.
  const torch::Tensor full_step = std::sqrt(2.0 * config.delta / curvature) * cg.x;
  const double full_expected = gradient.dot(full_step).item<double>();

  torch::NoGradGuard no_grad;
  const torch::Tensor old_parameters = flat_policy_parameters(net);
  double fraction = 1.0;
  for (int k = 0; k <= config.max_backtracks; ++k, fraction *= config.backtrack_coef) {
    set_flat_policy_parameters(net, old_parameters + fraction * full_step);
    const Distribution d = net.distribution(b.obs);
    const double kl = kl_divergence(old_dist, d).mean().item<double>();
    const double actual = surrogate(b, d, config).item<double>() - stats.surrogate;
    if (!std::isfinite(kl) || !std::isfinite(actual)) {
      set_flat_policy_parameters(net, old_parameters);  // throw with the policy as it was
      require_finite(kl, "the KL of a line-search step");
      require_finite(actual, "the surrogate of a line-search step");
    }
    stats.backtracks = k;
    stats.expected_improvement = fraction * full_expected;
    stats.actual_improvement = actual;
    if (kl <= config.delta && actual > 0 &&
        actual >= config.accept_ratio * stats.expected_improvement) {
      stats.kl = kl;
      stats.outcome = NaturalGradientOutcome::kStepped;
      return stats;
    }
  }
  set_flat_policy_parameters(net, old_parameters);
  stats.outcome = NaturalGradientOutcome::kNoAcceptableStep;
  return stats;
}

}  // namespace trustrl::agents
