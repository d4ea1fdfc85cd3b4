#pragma once
// One kind of minibatch step of run_policy_update, chosen once per update: the fused gradient
// (agents/fused_update.h), autograd, or a data-parallel learner's empty share. Each computes the
// gradient of its rows, joins the other learners' gradients where there are several, clips and
// steps; the epoch loop, the shuffles and the whole-batch KL stay in run_policy_update.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "agents/collective.h"
#include "agents/distribution.h"
#include "agents/flat_adam.h"
#include "agents/network.h"
#include "agents/policy_update.h"
#include "agents/trust_region.h"

namespace trustrl::agents {

/// The batch in one epoch's shuffled order (every tensor's rows permuted alike). The value step
/// (MinibatchStepKind::kValue) reads only the critic's fields, and only those are filled for it.
struct EpochBatch {
  torch::Tensor obs, critic_inputs, actions, old_log_probs, old_values, advantages, returns;
  /// UpdateBatch::critic_input_index permuted (critic_inputs then stays the batch's, unpermuted).
  torch::Tensor critic_input_index;
  /// The behaviour policy's rows, when the trust region reads a per-row KL (undefined otherwise).
  Distribution old_dist;
  /// trust_region.reference: the reference policy's rows.
  std::optional<Distribution> reference;
  /// Set for the fused steps alone (MinibatchStepKind::kFused, and kValue where its gradient is
  /// fused; see fused_reads_in_order): [B] int64, the epoch's order. The fields above then hold
  /// the batch's rows unpermuted, and the step copies the rows of its minibatch
  /// (order[start, start + size)) itself, once, instead of the epoch permuting every field and the
  /// step slicing them.
  torch::Tensor order;
};

/// One minibatch: rows [start, start + size) of the epoch, of which this learner trains on its
/// share [share_start, share_start + share_size) (the whole minibatch when alone).
struct MinibatchRows {
  std::int64_t start = 0, size = 0;
  std::int64_t share_start = 0, share_size = 0;
  /// The update's first minibatch: the step reports its mean ratio.
  bool first = false;
};

struct StepResult {
  /// The trust region ended the update before this step (target_kl); no step was taken.
  bool stopped = false;
  /// The mean ratio of this learner's rows, when MinibatchRows::first.
  std::optional<double> mean_ratio;
};

/// Summed loss terms of the steps taken, averaged over the learners where there are several.
struct LossSums {
  double policy_loss = 0, value_loss = 0, entropy = 0, clip_fraction = 0;
};

/// kValue: the critic alone, in trust_region.mode natural_gradient (the policy takes its own
/// whole-batch step before the epochs).
enum class MinibatchStepKind { kFused, kAutograd, kEmptyShare, kValue };

std::string_view minibatch_step_name(MinibatchStepKind kind);

/// What every kind of step works on; references, not owned.
struct StepContext {
  ActorCriticImpl& net;
  FlatAdam& optimizer;
  TrustRegion& trust_region;
  const PpoConfig& ppo;
  /// Null when alone.
  Collective* collective = nullptr;
};

class MinibatchStep {
 public:
  virtual ~MinibatchStep() = default;
  /// Computes the gradient of `rows`, clips it and takes one optimizer step, unless the trust
  /// region stops the update first.
  virtual StepResult step(const EpochBatch& epoch, const MinibatchRows& rows) = 0;
  /// The sums of the steps taken. With a collective, every learner must call it (it reduces).
  virtual LossSums loss_sums() = 0;
};

/// This learner's share of a minibatch of `minibatch` rows: contiguous, so that the learners'
/// shares make up exactly the minibatch one learner would train on. The same for every
/// minibatch of an update.
std::int64_t share_size(std::int64_t minibatch, const Collective* collective);
std::int64_t share_offset(std::int64_t minibatch, const Collective* collective);

/// The step an update of minibatches of `minibatch` rows takes: the value step in the
/// natural-gradient mode, else fused where fused_update_eligible, an empty share where this
/// learner gets no rows, autograd otherwise.
MinibatchStepKind choose_minibatch_step(const StepContext& context, std::int64_t minibatch);

/// Whether the step of `kind` reads its epochs in order (EpochBatch::order) rather than permuted:
/// the fused step, and the value step where its gradient is fused.
bool fused_reads_in_order(MinibatchStepKind kind, const StepContext& context);

std::unique_ptr<MinibatchStep> make_minibatch_step(MinibatchStepKind kind,
                                                   const StepContext& context);

}  // namespace trustrl::agents
