#include "agents/natural_gradient_step.h"

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "agents/conjugate_gradient.h"
#include "agents/fisher_vector_product.h"
#include "agents/fused_update.h"
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

struct SurrogateGradient {
  torch::Tensor value;     // the surrogate, a scalar
  torch::Tensor gradient;  // flat, policy_parameters() order
};

// The surrogate (without a reference term) and its gradient without an autograd graph: its
// gradient with respect to the head's outputs written out per head, then J^T of it by one backward
// pass over the Fisher-vector product's stored forward (the same forward the products use).
// With w = ratio * advantage / B per row: a categorical segment's logits get w (onehot(a) - p)
// plus ent_coef / B times -p (log p + H), the entropy's gradient; a Gaussian's mean gets
// w (a - mu) / sigma^2, its log std the sum over rows of w ((a - mu)^2 / sigma^2 - 1) plus
// ent_coef (the entropy rises by 1 per unit of each log std).
SurrogateGradient closed_form_surrogate(ActorCriticImpl& net, const FisherVectorProduct& fvp,
                                        const NaturalGradientBatch& b,
                                        const NaturalGradientConfig& config) {
  torch::NoGradGuard no_grad;
  const Distribution d = net.head_distribution(fvp.head_output());
  const double inv_rows = 1.0 / static_cast<double>(b.obs.size(0));
  const torch::Tensor weighted = torch::exp(d.log_prob(b.actions) - b.old_log_probs) * b.advantages;
  const torch::Tensor w = (weighted * inv_rows).unsqueeze(1);
  SurrogateGradient out;
  out.value = weighted.mean();
  if (config.ent_coef != 0) out.value = out.value + config.ent_coef * d.entropy().mean();
  torch::Tensor head_gradient, log_std_gradient;
  if (d.kind() == DistributionKind::kDiagGaussian) {
    const torch::Tensor inv_var = torch::exp(-2.0 * d.log_std());
    const torch::Tensor diff = b.actions.to(d.mean().scalar_type()) - d.mean();
    head_gradient = w * diff * inv_var;
    log_std_gradient = (w * (diff * diff * inv_var - 1)).sum(0) + config.ent_coef;
  } else {
    const torch::Tensor& log_p = d.log_probs();
    const torch::Tensor p = torch::exp(log_p);
    const std::vector<std::int64_t> segments = d.kind() == DistributionKind::kCategorical
                                                   ? std::vector<std::int64_t>{log_p.size(1)}
                                                   : d.nvec();
    // The action's column of each segment: its index plus the segment's first column.
    std::vector<std::int64_t> first(segments.size(), 0);
    for (std::size_t k = 1; k < segments.size(); ++k) first[k] = first[k - 1] + segments[k - 1];
    const torch::Tensor columns =
        b.actions.to(torch::kInt64) + torch::tensor(first, torch::kInt64).unsqueeze(0);
    head_gradient = (torch::zeros_like(p).scatter_(1, columns, 1.0) - p) * w;
    if (config.ent_coef != 0) {
      std::int64_t start = 0;
      for (const std::int64_t n : segments) {
        const torch::Tensor lp = log_p.narrow(1, start, n), ps = p.narrow(1, start, n);
        const torch::Tensor entropy = -(ps * lp).sum(1, /*keepdim=*/true);
        head_gradient.narrow(1, start, n).sub_(ps * (lp + entropy) * (config.ent_coef * inv_rows));
        start += n;
      }
    }
  }
  out.gradient = fvp.backward(head_gradient, log_std_gradient);
  return out;
}

}  // namespace

NaturalGradientStats natural_gradient_step(ActorCriticImpl& net, const NaturalGradientBatch& batch,
                                           const Distribution& old_dist,
                                           const NaturalGradientConfig& config,
                                           Collective* collective) {
  NaturalGradientStats stats;
  const std::vector<torch::Tensor> parameters = net.policy_parameters();

  // This learner's rows: all of them alone, its share with data-parallel learners. Every term is
  // a mean over the share times share / batch, summed over the learners: the whole batch's mean.
  const int world = collective ? collective->world_size() : 1;
  const std::int64_t rows = batch.obs.size(0);
  const std::int64_t lo = world > 1 ? rows * collective->rank() / world : 0;
  const std::int64_t m = world > 1 ? rows * (collective->rank() + 1) / world - lo : rows;
  if (rows < world)  // every learner sees it, so all of them throw
    throw Error("natural-gradient step: a batch of " + std::to_string(rows) + " rows for " +
                std::to_string(world) + " data-parallel learners leaves some without rows");
  const double weight = static_cast<double>(m) / static_cast<double>(rows);
  const NaturalGradientBatch b =
      world > 1 ? NaturalGradientBatch{batch.obs.narrow(0, lo, m), batch.actions.narrow(0, lo, m),
                                       batch.old_log_probs.narrow(0, lo, m),
                                       batch.advantages.narrow(0, lo, m)}
                : batch;
  const Distribution old_share = world > 1 ? old_dist.slice(lo, m) : old_dist;
  std::optional<Distribution> reference_share;
  NaturalGradientConfig share_config = config;
  if (world > 1 && config.reference) {
    reference_share = config.reference->slice(lo, m);
    share_config.reference = &*reference_share;
  }
  // Sums a share's weighted terms over the learners; alone, the terms as they are.
  const auto summed = [&](torch::Tensor t) {
    if (world == 1) return t;
    t = (t * weight).contiguous();
    collective->all_reduce_sum(t);
    return t;
  };
  // [KL(old || new), surrogate] of the policy as it is now, over the whole batch.
  const auto kl_and_surrogate = [&](const Distribution& d) {
    return summed(torch::stack({kl_divergence(old_share, d).mean(), surrogate(b, d, share_config)})
                      .to(torch::kFloat64));
  };

  // The surrogate's gradient: by the closed-form products' forward pass where they apply (and no
  // reference term), else by autograd.
  std::optional<FisherVectorProduct> share_fvp;
  torch::Tensor gradient;
  if (!share_config.reference && config.fisher_method != FisherMethod::kDoubleBackward &&
      closed_form_fisher_supported(net)) {
    share_fvp.emplace(net, b.obs, /*damping=*/0.0, FisherMethod::kClosedForm);
    const SurrogateGradient g = closed_form_surrogate(net, *share_fvp, b, share_config);
    gradient = summed(g.gradient);
    stats.surrogate = summed(g.value.to(torch::kFloat64).reshape({1})).item<double>();
  } else {
    torch::AutoGradMode grad_mode(true);
    const torch::Tensor l = surrogate(b, net.distribution(b.obs), share_config);
    gradient = summed(flat_gradient(l, parameters));
    stats.surrogate = summed(l.detach().to(torch::kFloat64).reshape({1})).item<double>();
  }
  require_finite(stats.surrogate, "the surrogate before the step");
  require_finite(gradient, "the surrogate's gradient");
  if (gradient.norm().item<double>() == 0) return stats;

  if (!share_fvp) share_fvp.emplace(net, b.obs, /*damping=*/0.0, config.fisher_method);
  const auto fvp = [&](const torch::Tensor& v) {
    return summed((*share_fvp)(v)) + config.cg_damping * v;
  };
  const ConjugateGradientResult cg =
      conjugate_gradient(fvp, gradient, static_cast<int>(config.cg_iters));
  stats.cg_iterations = cg.iterations;
  stats.cg_residual = cg.relative_residual;
  if (!cg.positive_curvature) {
    stats.outcome = NaturalGradientOutcome::kNotPositiveDefinite;
    return stats;
  }
  require_finite(cg.x, "the conjugate-gradient solution");
  // Truncated CG need not shrink the residual ||g - (F + damping I) s||; its iterate is used as it
  // is (as TRPO's and HARL's solvers do) unless it does not ascend the surrogate.
  if (!made_progress(gradient, cg)) {
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
  // The line search's forwards; the surrogate it improves on is taken by the same forward, so
  // that no rounding difference between two forwards passes for an improvement.
  const auto policy_at = [&](const torch::Tensor& obs) {
    return config.fused_forward ? fused_distribution(net, obs) : net.distribution(obs);
  };
  const double base =
      config.fused_forward
          ? summed(surrogate(b, policy_at(b.obs), share_config).to(torch::kFloat64).reshape({1}))
                .item<double>()
          : stats.surrogate;
  const torch::Tensor old_parameters = flat_policy_parameters(net);
  double fraction = 1.0;
  for (int k = 0; k <= config.max_backtracks; ++k, fraction *= config.backtrack_coef) {
    set_flat_policy_parameters(net, old_parameters + fraction * full_step);
    const torch::Tensor measured = kl_and_surrogate(policy_at(b.obs));
    const double kl = measured[0].item<double>();
    const double actual = measured[1].item<double>() - base;
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
      if (world > 1) {
        // The learners ran the same numbers; rank 0's parameters settle any last-bit difference
        // between their CPUs' kernels (x + 0 + ... + 0 is x exactly).
        torch::Tensor flat = collective->rank() == 0 ? flat_policy_parameters(net).contiguous()
                                                     : torch::zeros_like(old_parameters);
        collective->all_reduce_sum(flat);
        set_flat_policy_parameters(net, flat);
      }
      return stats;
    }
  }
  set_flat_policy_parameters(net, old_parameters);
  stats.outcome = NaturalGradientOutcome::kNoAcceptableStep;
  return stats;
}

}  // namespace trustrl::agents
