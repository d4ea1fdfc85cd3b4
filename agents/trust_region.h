#pragma once
// The KL trust-region family shared by every learner (docs/TRUST_REGIONS.md):
//   clip        clipped surrogate (Schulman et al. 2017, eq. 7), epsilon optionally annealed;
//   kl_penalty  surrogate - beta * KL, beta fixed or adapted after each update (x2 above
//               1.5 target, /2 below target / 1.5: the PPO paper, section 4);
//   target_kl   stop an update's epochs once KL passes 1.5 target;
//   kl_bound    hard bound: after the update, while mean KL(old || new) > delta, move the
//               parameters back along the line toward the old ones (backtracking, as TRPO's
//               line search does).
// The learner loop calls the same hooks whatever is configured; the modes combine freely.
// mode: natural_gradient replaces the minibatch epochs of the policy by TRPO's whole-batch step
// (agents/natural_gradient_step.h) bounded by kl_bound.delta; the critic keeps PPO's epochs.
// reference: beta_ref * KL to a fixed reference policy added to the policy loss (kickstarting,
// Schmitt et al. 2018; KL-regularised fine-tuning), beta_ref constant, decaying linearly or
// adapted to a KL target; in every mode (the natural gradient's surrogate carries it too).

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "agents/distill_loss.h"
#include "agents/distribution.h"
#include "core/bytes.h"
#include "core/config.h"

namespace trustrl::agents {

/// Which KL number drives penalties, early stops and bounds.
enum class KlMeasure { kAnalytic, kK1, kK2, kK3 };
enum class KlCheck { kMinibatch, kEpoch };
/// How the policy steps: PPO's minibatch epochs of the surrogate, or TRPO's natural gradient.
enum class TrustRegionMode { kMinibatch, kNaturalGradient };
/// How the reference term's beta moves over training.
enum class ReferenceSchedule { kConstant, kLinear, kAdaptive };

struct TrustRegionConfig {
  TrustRegionMode mode = TrustRegionMode::kMinibatch;
  /// TRPO's step; its bound, shrink factor and tries are kl_bound's delta, backtrack_coef and
  /// max_backtracks.
  struct NaturalGradient {
    std::int64_t cg_iters = 10;
    double cg_damping = 0.1;
    double accept_ratio = 0.1;
    void visit(ConfigVisitor& v);
  } natural_gradient;
  /// Clip epsilon; null turns clipping off.
  std::optional<double> clip = 0.2;
  bool clip_anneal = false;
  struct KlPenalty {
    bool enabled = false;
    double beta = 1.0;
    bool adaptive = true;
    double target = 0.01;
    void visit(ConfigVisitor& v);
  } kl_penalty;
  std::optional<double> target_kl;
  KlCheck target_kl_check = KlCheck::kMinibatch;
  struct KlBound {
    std::optional<double> delta;
    double backtrack_coef = 0.5;
    std::int64_t max_backtracks = 10;
    /// delta falls linearly to 0 over training, as ppo.anneal_lr takes the learning rate.
    bool anneal = false;
    void visit(ConfigVisitor& v);
  } kl_bound;
  KlMeasure kl_measure = KlMeasure::kAnalytic;
  struct Reference {
    /// A policy file or run directory; empty: no reference term.
    std::string policy;
    double beta = 1.0;
    ReferenceSchedule schedule = ReferenceSchedule::kConstant;
    /// linear: env steps over which beta falls to 0.
    std::int64_t decay_steps = 0;
    /// adaptive: the KL to the reference that beta is adapted toward.
    double target = 0.01;
    /// forward: KL(reference || policy); reverse: KL(policy || reference).
    KlDirection direction = KlDirection::kReverse;
    /// Env steps of the whole run, set by the trainer (not a key): the linear schedule turns the
    /// update's progress into steps with it.
    std::int64_t training_steps = 0;
    bool enabled() const { return !policy.empty(); }
    void visit(ConfigVisitor& v);
  } reference;

  void visit(ConfigVisitor& v);
  /// Throws ConfigError naming the fields of a meaningless combination.
  void validate() const;
};

class TrustRegion {
 public:
  explicit TrustRegion(TrustRegionConfig config);

  const TrustRegionConfig& config() const { return config_; }
  /// Starts an update; `progress_remaining` goes from 1 (start of training) to 0 (end).
  void begin_update(double progress_remaining);

  /// The loss to minimize for the policy: -surrogate (+ beta * mean KL when penalized).
  /// `ratio`, `advantages` and `kl` are per sample; `kl` may be undefined when no penalty is on.
  torch::Tensor policy_loss(const torch::Tensor& ratio, const torch::Tensor& advantages,
                            const torch::Tensor& kl) const;
  /// Fraction of samples whose ratio lies outside [1 - eps, 1 + eps], as a scalar tensor.
  torch::Tensor clip_fraction(const torch::Tensor& ratio) const;
  bool needs_kl_in_loss() const { return config_.kl_penalty.enabled; }
  /// Whether a minibatch step reads KL(old || new) per row: for the penalty or for target_kl.
  bool needs_minibatch_kl() const { return needs_kl_in_loss() || config_.target_kl.has_value(); }
  /// KL(old || new) per row in the configured kl_measure; `log_ratio` is log new(a) - log old(a)
  /// of the actions taken (the sample estimators read only it).
  torch::Tensor kl(const Distribution& old_dist, const Distribution& new_dist,
                   const torch::Tensor& log_ratio) const;

  /// target_kl checked per minibatch: true means skip this step and end the update.
  bool stop_before_step(double minibatch_kl) const;
  /// target_kl checked per epoch: true means end the update after this epoch.
  bool stop_after_epoch(double batch_kl) const;
  bool checks_per_epoch() const {
    return config_.target_kl && config_.target_kl_check == KlCheck::kEpoch;
  }

  /// This update's KL bound: kl_bound.delta, times the progress remaining where kl_bound.anneal
  /// asks (set by begin_update); empty when no bound is configured.
  std::optional<double> kl_delta() const { return kl_delta_; }
  /// kl_bound: if measure_kl() > kl_delta(), sets the parameters to old + c^k (new - old) for
  /// k = 1, 2, ... until it is not, and to the old ones if max_backtracks is reached (so the
  /// bound always holds). Returns the number of backtracking steps taken.
  int enforce_bound(const std::function<void(const torch::Tensor& flat)>& set_params,
                    const torch::Tensor& old_params, const torch::Tensor& new_params,
                    const std::function<double()>& measure_kl) const;
  bool has_bound() const { return config_.kl_bound.delta.has_value(); }
  bool natural_gradient() const { return config_.mode == TrustRegionMode::kNaturalGradient; }

  /// Adapts beta from the update's final KL (adaptive kl_penalty only).
  void end_update(double batch_kl);

  bool has_reference() const { return config_.reference.enabled(); }
  /// The reference term's beta for this update (set by begin_update and end_reference_update).
  double reference_beta() const { return reference_beta_; }
  /// KL between the reference and the policy per row, in reference.direction.
  torch::Tensor reference_kl(const Distribution& reference, const Distribution& policy) const;
  /// Adapts the reference's beta from the update's final KL to it (adaptive schedule only).
  void end_reference_update(double reference_kl);

  double beta() const { return beta_; }
  double clip_epsilon() const { return epsilon_; }

  void save(ByteWriter& out) const;
  void load(ByteReader& in);

 private:
  TrustRegionConfig config_;
  double beta_;
  double epsilon_;
  double reference_beta_;
  std::optional<double> kl_delta_;
};

}  // namespace trustrl::agents
