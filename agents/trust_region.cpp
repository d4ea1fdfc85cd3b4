#include "agents/trust_region.h"

#include <algorithm>

#include "agents/kl.h"
#include "core/error.h"

namespace trustrl::agents {

void TrustRegionConfig::KlPenalty::visit(ConfigVisitor& v) {
  v.field("enabled", enabled, "add -beta * KL(old || new) to the surrogate");
  v.field("beta", beta, "initial penalty coefficient", Bounds::positive());
  v.field("adaptive", adaptive,
          "adapt beta after each update (x2 above 1.5 target, /2 below target/1.5)");
  v.field("target", target, "KL target for adapting beta", Bounds::positive());
}

void TrustRegionConfig::KlBound::visit(ConfigVisitor& v) {
  v.field("delta", delta, "hard bound on mean KL(old || new) per update; null is off",
          Bounds::positive());
  v.field("backtrack_coef", backtrack_coef, "shrink factor of each backtracking step",
          Bounds{0, 1, true, true});
  v.field("max_backtracks", max_backtracks,
          "backtracking steps before falling back to the old policy", Bounds::at_least(1));
  v.field("anneal", anneal,
          "anneal delta linearly to 0 over training (each update's bound is delta times the "
          "training left)");
}

void TrustRegionConfig::NaturalGradient::visit(ConfigVisitor& v) {
  v.field("cg_iters", cg_iters, "conjugate-gradient iterations solving F s = g",
          Bounds::at_least(1));
  v.field("cg_damping", cg_damping, "added to the Fisher's diagonal (F + cg_damping I)",
          Bounds::positive());
  v.field("accept_ratio", accept_ratio,
          "least actual / expected surrogate improvement a line-search step must show",
          Bounds::closed(0, 1));
}

void TrustRegionConfig::Reference::visit(ConfigVisitor& v) {
  v.field("policy", policy,
          "policy file or run directory of the reference policy; empty: no reference term");
  v.field("beta", beta, "coefficient of KL to the reference in the policy loss (initial value)",
          Bounds::non_negative());
  v.choice("schedule", schedule,
           {{"constant", ReferenceSchedule::kConstant},
            {"linear", ReferenceSchedule::kLinear},
            {"adaptive", ReferenceSchedule::kAdaptive}},
           "beta constant, decaying linearly to 0 by decay_steps, or adapted toward target (x2 "
           "above 1.5 target, /2 below target/1.5)");
  v.field("decay_steps", decay_steps, "schedule linear: env steps over which beta falls to 0",
          Bounds::at_least(0));
  v.field("target", target, "schedule adaptive: the KL to the reference beta aims at",
          Bounds::positive());
  v.choice("direction", direction,
           {{"reverse", KlDirection::kReverse}, {"forward", KlDirection::kForward}},
           "reverse: KL(policy || reference); forward: KL(reference || policy)");
}

void TrustRegionConfig::visit(ConfigVisitor& v) {
  v.choice("mode", mode,
           {{"minibatch", TrustRegionMode::kMinibatch},
            {"natural_gradient", TrustRegionMode::kNaturalGradient}},
           "policy step: PPO's minibatch epochs, or TRPO's natural gradient bounded by "
           "kl_bound.delta");
  v.section("natural_gradient", natural_gradient,
            "TRPO's step (mode natural_gradient): conjugate gradient and line search");
  v.field("clip", clip, "clip epsilon of the surrogate ratio; null turns clipping off",
          Bounds{0, 1, true, true});
  v.field("clip_anneal", clip_anneal, "anneal the clip epsilon linearly to 0 over training");
  v.section("kl_penalty", kl_penalty, "surrogate minus beta * KL");
  v.field("target_kl", target_kl, "stop an update's epochs once KL > 1.5 * target_kl; null is off",
          Bounds::positive());
  v.choice("target_kl_check", target_kl_check,
           {{"minibatch", KlCheck::kMinibatch}, {"epoch", KlCheck::kEpoch}},
           "check target_kl before every minibatch step (SB3) or after every epoch (CleanRL)");
  v.section("kl_bound", kl_bound, "hard KL bound enforced by backtracking after each update");
  v.choice("kl_measure", kl_measure,
           {{"analytic", KlMeasure::kAnalytic},
            {"k1", KlMeasure::kK1},
            {"k2", KlMeasure::kK2},
            {"k3", KlMeasure::kK3}},
           "the KL that drives the penalty, target_kl and kl_bound");
  v.section("reference", reference, "beta * KL to a fixed reference policy in the policy loss");
}

void TrustRegionConfig::validate() const {
  if (mode == TrustRegionMode::kNaturalGradient) {
    if (!kl_bound.delta)
      throw ConfigError(
          "trust_region.mode natural_gradient needs trust_region.kl_bound.delta, the KL bound of "
          "its step");
    if (clip || kl_penalty.enabled || target_kl)
      throw ConfigError(
          "trust_region.mode natural_gradient takes no minibatch trust region: set "
          "trust_region.clip to null, trust_region.kl_penalty.enabled to false and "
          "trust_region.target_kl to null");
    if (kl_measure != KlMeasure::kAnalytic)
      throw ConfigError(
          "trust_region.mode natural_gradient bounds the analytic KL (the one its Fisher is the "
          "Hessian of): set trust_region.kl_measure to analytic");
  }
  if (!clip && !kl_penalty.enabled && !kl_bound.delta)
    throw ConfigError(
        "trust_region: no trust region is on (trust_region.clip is null, "
        "trust_region.kl_penalty.enabled is false "
        "and trust_region.kl_bound.delta is null); enable at least one");
  if (reference.enabled() && reference.schedule == ReferenceSchedule::kLinear &&
      reference.decay_steps == 0)
    throw ConfigError(
        "trust_region.reference.schedule linear needs trust_region.reference.decay_steps > 0, the "
        "env steps over which beta falls to 0");
  if (kl_bound.anneal && !kl_bound.delta)
    throw ConfigError(
        "trust_region.kl_bound.anneal is true but trust_region.kl_bound.delta is null; there is "
        "nothing to anneal");
  if (clip_anneal && !clip)
    throw ConfigError(
        "trust_region.clip_anneal is true but trust_region.clip is null; there is nothing to "
        "anneal");
}

TrustRegion::TrustRegion(TrustRegionConfig config)
    : config_(std::move(config)),
      beta_(config_.kl_penalty.beta),
      epsilon_(config_.clip.value_or(0.0)),
      reference_beta_(config_.reference.beta),
      kl_delta_(config_.kl_bound.delta) {
  config_.validate();
}

void TrustRegion::begin_update(double progress_remaining) {
  if (config_.clip) epsilon_ = *config_.clip * (config_.clip_anneal ? progress_remaining : 1.0);
  if (config_.kl_bound.delta)
    kl_delta_ = *config_.kl_bound.delta * (config_.kl_bound.anneal ? progress_remaining : 1.0);
  const auto& r = config_.reference;
  if (r.enabled() && r.schedule == ReferenceSchedule::kLinear) {
    const double done = (1.0 - progress_remaining) * static_cast<double>(r.training_steps);
    reference_beta_ = r.beta * std::max(0.0, 1.0 - done / static_cast<double>(r.decay_steps));
  }
}

torch::Tensor TrustRegion::reference_kl(const Distribution& reference,
                                        const Distribution& policy) const {
  return config_.reference.direction == KlDirection::kForward ? kl_divergence(reference, policy)
                                                              : kl_divergence(policy, reference);
}

void TrustRegion::end_reference_update(double reference_kl) {
  const auto& r = config_.reference;
  if (!r.enabled() || r.schedule != ReferenceSchedule::kAdaptive) return;
  if (reference_kl > 1.5 * r.target)
    reference_beta_ *= 2.0;
  else if (reference_kl < r.target / 1.5)
    reference_beta_ /= 2.0;
}

torch::Tensor TrustRegion::policy_loss(const torch::Tensor& ratio, const torch::Tensor& advantages,
                                       const torch::Tensor& kl) const {
  torch::Tensor surrogate = ratio * advantages;
  if (config_.clip)
    surrogate =
        torch::min(surrogate, torch::clamp(ratio, 1.0 - epsilon_, 1.0 + epsilon_) * advantages);
  torch::Tensor loss = -surrogate.mean();
  if (config_.kl_penalty.enabled) loss = loss + beta_ * kl.mean();
  return loss;
}

torch::Tensor TrustRegion::clip_fraction(const torch::Tensor& ratio) const {
  if (!config_.clip) return torch::zeros({});
  return ((ratio - 1.0).abs() > epsilon_).to(torch::kFloat32).mean();
}

torch::Tensor TrustRegion::kl(const Distribution& old_dist, const Distribution& new_dist,
                              const torch::Tensor& log_ratio) const {
  switch (config_.kl_measure) {
    case KlMeasure::kAnalytic:
      return kl_divergence(old_dist, new_dist);
    case KlMeasure::kK1:
      return kl_k1(log_ratio);
    case KlMeasure::kK2:
      return kl_k2(log_ratio);
    case KlMeasure::kK3:
      return kl_k3(log_ratio);
  }
  return torch::Tensor();
}

bool TrustRegion::stop_before_step(double minibatch_kl) const {
  return config_.target_kl && config_.target_kl_check == KlCheck::kMinibatch &&
         minibatch_kl > 1.5 * *config_.target_kl;
}

bool TrustRegion::stop_after_epoch(double batch_kl) const {
  return checks_per_epoch() && batch_kl > 1.5 * *config_.target_kl;
}

int TrustRegion::enforce_bound(const std::function<void(const torch::Tensor&)>& set_params,
                               const torch::Tensor& old_params, const torch::Tensor& new_params,
                               const std::function<double()>& measure_kl) const {
  if (!kl_delta_) return 0;
  const double delta = *kl_delta_;
  if (measure_kl() <= delta) return 0;
  const torch::Tensor step = new_params - old_params;
  double scale = 1.0;
  for (int k = 1; k <= config_.kl_bound.max_backtracks; ++k) {
    scale *= config_.kl_bound.backtrack_coef;
    set_params(old_params + scale * step);
    if (measure_kl() <= delta) return k;
  }
  set_params(old_params);  // KL(old || old) = 0: the bound holds
  return static_cast<int>(config_.kl_bound.max_backtracks) + 1;
}

void TrustRegion::end_update(double batch_kl) {
  const auto& p = config_.kl_penalty;
  if (!p.enabled || !p.adaptive) return;
  if (batch_kl > 1.5 * p.target)
    beta_ *= 2.0;
  else if (batch_kl < p.target / 1.5)
    beta_ /= 2.0;
}

void TrustRegion::save(ByteWriter& out) const {
  out.put(beta_);
  out.put(epsilon_);
  if (has_reference()) out.put(reference_beta_);  // runs without one keep their old format
}

void TrustRegion::load(ByteReader& in) {
  beta_ = in.get<double>();
  epsilon_ = in.get<double>();
  if (has_reference()) reference_beta_ = in.get<double>();
}

}  // namespace trustrl::agents
