#include "agents/minibatch_step.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "agents/critic_rows.h"
#include "agents/fused_update.h"
#include "core/error.h"

namespace trustrl::agents {

namespace {

int world_size(const Collective* collective) { return collective ? collective->world_size() : 1; }

// The per-learner sums, summed over the learners and divided by their number (float32, as they
// travel); alone, the sums as they are.
LossSums reduce_sums(Collective* collective, const torch::Tensor& policy_loss,
                     const torch::Tensor& value_loss, const torch::Tensor& entropy,
                     const torch::Tensor& clip_fraction) {
  const int world = world_size(collective);
  torch::Tensor sums = torch::stack({policy_loss, value_loss, entropy, clip_fraction});
  if (world > 1) {
    sums = sums.to(torch::kFloat32).contiguous();
    collective->all_reduce_sum(sums);
    sums = sums / static_cast<double>(world);
  }
  return {sums[0].item<double>(), sums[1].item<double>(), sums[2].item<double>(),
          sums[3].item<double>()};
}

// The critic's weights and biases: the slots the value step clips and steps.
std::vector<torch::Tensor> critic_parameters(const ActorCriticImpl& net) {
  std::vector<torch::Tensor> parameters;
  for (const auto& layer : net.critic_layers()) {
    parameters.push_back(layer->weight);
    parameters.push_back(layer->bias);
  }
  return parameters;
}

// Rows order[0, m) of `source` ([B, ...], contiguous) into `rows` ([m, ...]), which keeps its
// storage from minibatch to minibatch: the fused steps copy their minibatch once this way.
void gather(const torch::Tensor& source, const std::int64_t* order, std::int64_t m,
            torch::Tensor& rows) {
  const torch::Tensor src = source.contiguous();
  std::vector<std::int64_t> shape = src.sizes().vec();
  shape[0] = m;
  if (!rows.defined() || rows.sizes() != shape || rows.scalar_type() != src.scalar_type())
    rows = torch::empty(shape, src.options());
  const std::int64_t n = src.size(0);
  const std::int64_t width = m > 0 ? src.numel() / std::max<std::int64_t>(n, 1) : 0;
  const auto bytes = static_cast<std::size_t>(width) * src.element_size();
  const auto* from = static_cast<const std::uint8_t*>(src.data_ptr());
  auto* to = static_cast<std::uint8_t*>(rows.data_ptr());
  for (std::int64_t i = 0; i < m; ++i) {
    if (order[i] < 0 || order[i] >= n)
      throw Error("the fused step's row " + std::to_string(order[i]) + " is outside the batch's " +
                  std::to_string(n));
    std::memcpy(to + static_cast<std::size_t>(i) * bytes,
                from + static_cast<std::size_t>(order[i]) * bytes, bytes);
  }
}

// The epoch's order from row `lo` on, checked to cover `m` rows.
const std::int64_t* rows_in_order(const EpochBatch& e, std::int64_t lo, std::int64_t m) {
  if (!e.order.defined()) throw Error("a fused step reads its rows by the epoch's order");
  if (e.order.numel() < lo + m)
    throw Error("a fused step's minibatch ends past the epoch's " +
                std::to_string(e.order.numel()) + " rows");
  return e.order.data_ptr<std::int64_t>() + lo;
}

// The critic's input rows of the minibatch whose rows are order[0, m).
CriticRows gather_critic_rows(const EpochBatch& e, const std::int64_t* order, std::int64_t m,
                              const torch::Tensor& obs_rows, CriticRowGather& critic_rows,
                              torch::Tensor& index_rows, torch::Tensor& input_rows) {
  if (e.critic_input_index.defined()) {
    gather(e.critic_input_index, order, m, index_rows);
    return critic_rows.gather(e.critic_inputs, index_rows, 0, m);
  }
  CriticRows critic;
  if (obs_rows.defined() && e.critic_inputs.is_same(e.obs)) {
    critic.inputs = obs_rows;
  } else {
    gather(e.critic_inputs, order, m, input_rows);
    critic.inputs = input_rows;
  }
  return critic;
}

// The common case's hand-written gradient (agents/fused_update.h): one learner, no KL read per
// minibatch, so there is nothing to reduce and no early stop before a step.
class FusedStep final : public MinibatchStep {
 public:
  explicit FusedStep(const StepContext& context)
      : context_(context), gradient_(context.net, context.optimizer, context.ppo) {}

  StepResult step(const EpochBatch& e, const MinibatchRows& rows) override {
    const std::int64_t m = rows.share_size;
    const std::int64_t* order = rows_in_order(e, rows.share_start, m);
    gather(e.obs, order, m, obs_);
    gather(e.actions, order, m, actions_);
    gather(e.old_log_probs, order, m, old_log_probs_);
    gather(e.old_values, order, m, old_values_);
    gather(e.advantages, order, m, advantages_);
    gather(e.returns, order, m, returns_);
    const CriticRows critic =
        gather_critic_rows(e, order, m, obs_, critic_rows_, critic_index_, critic_inputs_);
    const FusedLosses l = gradient_.compute({obs_, critic.inputs, actions_, old_log_probs_,
                                             old_values_, advantages_, returns_, critic.index},
                                            context_.trust_region.clip_epsilon());
    context_.optimizer.clip_grad_norm(context_.ppo.max_grad_norm);
    context_.optimizer.step();
    sums_.policy_loss += l.policy_loss;
    sums_.value_loss += l.value_loss;
    sums_.entropy += l.entropy;
    sums_.clip_fraction += l.clip_fraction;
    StepResult result;
    if (rows.first) result.mean_ratio = l.mean_ratio;
    return result;
  }

  LossSums loss_sums() override { return sums_; }

 private:
  StepContext context_;
  FusedPpoGradient gradient_;
  CriticRowGather critic_rows_;
  LossSums sums_;
  torch::Tensor obs_, critic_inputs_, critic_index_, actions_, old_log_probs_, old_values_,
      advantages_, returns_;
};

// Squared (or Huber) value error, optionally clipped around the old values, averaged.
torch::Tensor value_loss(const PpoConfig& ppo, const torch::Tensor& new_values,
                         const torch::Tensor& old_values, const torch::Tensor& returns) {
  auto error_loss = [&](const torch::Tensor& err) {
    if (ppo.value_huber_delta) {
      const double d = *ppo.value_huber_delta;
      const torch::Tensor a = err.abs();
      return torch::where(a <= d, 0.5 * err * err, d * (a - 0.5 * d));
    }
    return 0.5 * err * err;
  };
  if (!ppo.value_clip) return error_loss(new_values - returns).mean();
  const torch::Tensor clipped =
      old_values + torch::clamp(new_values - old_values, -*ppo.value_clip, *ppo.value_clip);
  return torch::max(error_loss(new_values - returns), error_loss(clipped - returns)).mean();
}

// libtorch autograd on this learner's share: every trust region, network and value loss.
class AutogradStep final : public MinibatchStep {
 public:
  explicit AutogradStep(const StepContext& context) : context_(context) {}

  StepResult step(const EpochBatch& e, const MinibatchRows& rows) override {
    ActorCriticImpl& net = context_.net;
    FlatAdam& optimizer = context_.optimizer;
    const TrustRegion& trust_region = context_.trust_region;
    const PpoConfig& ppo = context_.ppo;
    Collective* collective = context_.collective;
    const int world = world_size(collective);
    const std::int64_t lo = rows.share_start, m = rows.share_size;

    const Distribution dist = net.distribution(e.obs.narrow(0, lo, m));
    const torch::Tensor log_ratio =
        dist.log_prob(e.actions.narrow(0, lo, m)) - e.old_log_probs.narrow(0, lo, m);
    const torch::Tensor ratio = torch::exp(log_ratio);

    torch::Tensor kl;
    if (trust_region.needs_minibatch_kl())
      kl = trust_region.kl(e.old_dist.slice(lo, m), dist, log_ratio);
    if (trust_region.config().target_kl) {
      double minibatch_kl = 0;
      if (world == 1) {
        minibatch_kl = kl.mean().item<double>();
      } else {  // every learner decides on the whole minibatch's KL
        torch::Tensor kl_sum = kl.sum().reshape({1}).to(torch::kFloat32);
        collective->all_reduce_sum(kl_sum);
        minibatch_kl = kl_sum.item<double>() / static_cast<double>(rows.size);
      }
      if (trust_region.stop_before_step(minibatch_kl))
        return {.stopped = true, .mean_ratio = std::nullopt};
    }
    StepResult result;
    if (rows.first) result.mean_ratio = ratio.mean().item<double>();

    // Advantages normalized over the whole minibatch, whichever share this learner trains on.
    torch::Tensor adv = e.advantages.narrow(0, rows.start, rows.size);
    if (ppo.norm_adv && rows.size > 1) adv = (adv - adv.mean()) / (adv.std() + 1e-8);
    if (world > 1) adv = adv.narrow(0, lo - rows.start, m);
    torch::Tensor pg_loss = trust_region.policy_loss(ratio, adv, kl);
    // beta 0 (a decayed schedule) adds nothing, not even rounding.
    if (e.reference && trust_region.reference_beta() != 0)
      pg_loss = pg_loss + trust_region.reference_beta() *
                              trust_region.reference_kl(e.reference->slice(lo, m), dist).mean();
    const CriticRows critic = critic_rows_.gather(e.critic_inputs, e.critic_input_index, lo, m);
    const torch::Tensor v_loss =
        value_loss(ppo, critic.per_sample(net.value(critic.inputs)), e.old_values.narrow(0, lo, m),
                   e.returns.narrow(0, lo, m));
    const torch::Tensor entropy = dist.entropy().mean();
    torch::Tensor loss = pg_loss - ppo.ent_coef * entropy + ppo.vf_coef * v_loss;
    // Each term is a mean over this share; weighted by share / minibatch, the learners' losses
    // add up to the whole minibatch's mean.
    if (world > 1) loss = loss * (static_cast<double>(m) / static_cast<double>(rows.size));

    optimizer.zero_grad();
    loss.backward();
    if (world > 1) collective->all_reduce_sum(optimizer.gradients());
    optimizer.clip_grad_norm(ppo.max_grad_norm);
    optimizer.step();

    // Sums kept as tensors so that the loop reads no scalar back until the end.
    torch::NoGradGuard no_grad;
    sum_pg_ += pg_loss;
    sum_v_ += v_loss;
    sum_ent_ += entropy;
    if (trust_region.config().clip) sum_clip_ += trust_region.clip_fraction(ratio);
    return result;
  }

  LossSums loss_sums() override {
    return reduce_sums(context_.collective, sum_pg_, sum_v_, sum_ent_, sum_clip_);
  }

 private:
  StepContext context_;
  CriticRowGather critic_rows_;
  torch::Tensor sum_pg_ = torch::zeros({}), sum_v_ = torch::zeros({}), sum_ent_ = torch::zeros({}),
                sum_clip_ = torch::zeros({});
};

// The critic's step of the natural-gradient mode, which moves the policy by a whole-batch step of
// its own (agents/natural_gradient_step.h): the value loss alone, its norm clip and Adam step over
// the critic's slots of the flat buffers only, so that the policy's parameters are never written
// here (the policy step may run on another thread meanwhile; run_policy_update).
// Data-parallel learners each take their share of the minibatch (possibly none) and sum the
// gradients, as AutogradStep does; one learner with a supported network takes the fused value
// gradient (agents/fused_update.h).
class ValueStep final : public MinibatchStep {
 public:
  explicit ValueStep(const StepContext& context)
      : context_(context), critic_(context.optimizer.range_of(critic_parameters(context.net))) {
    if (fused_value_eligible(context.net, context.optimizer, context.ppo,
                             world_size(context.collective)))
      fused_ = std::make_unique<FusedPpoGradient>(context.net, context.optimizer, context.ppo);
  }

  StepResult step(const EpochBatch& e, const MinibatchRows& rows) override {
    const std::int64_t lo = rows.share_start, m = rows.share_size;
    const int world = world_size(context_.collective);
    if (fused_) {
      // Its epochs come in order (EpochBatch::order), as the fused step's do.
      const std::int64_t* order = rows_in_order(e, lo, m);
      gather(e.old_values, order, m, old_values_);
      gather(e.returns, order, m, returns_);
      const CriticRows critic = gather_critic_rows(e, order, m, torch::Tensor(), critic_rows_,
                                                   critic_index_, critic_inputs_);
      const FusedLosses l = fused_->compute_value({.critic_inputs = critic.inputs,
                                                   .old_values = old_values_,
                                                   .returns = returns_,
                                                   .critic_index = critic.index});
      context_.optimizer.clip_grad_norm(context_.ppo.max_grad_norm, critic_);
      context_.optimizer.step(critic_);
      fused_sum_v_ += l.value_loss;  // a double: no tensor op per step
      return {};
    }
    context_.optimizer.zero_grad();
    if (m > 0) {
      const CriticRows critic = critic_rows_.gather(e.critic_inputs, e.critic_input_index, lo, m);
      const torch::Tensor v_loss =
          value_loss(context_.ppo, critic.per_sample(context_.net.value(critic.inputs)),
                     e.old_values.narrow(0, lo, m), e.returns.narrow(0, lo, m));
      torch::Tensor loss = context_.ppo.vf_coef * v_loss;
      // A mean over this share, weighted so that the learners' losses add up to the minibatch's.
      if (world > 1) loss = loss * (static_cast<double>(m) / static_cast<double>(rows.size));
      loss.backward();
      torch::NoGradGuard no_grad;
      sum_v_ += v_loss;
    }
    if (world > 1) context_.collective->all_reduce_sum(context_.optimizer.gradients());
    context_.optimizer.clip_grad_norm(context_.ppo.max_grad_norm, critic_);
    context_.optimizer.step(critic_);
    return {};
  }

  LossSums loss_sums() override {
    const torch::Tensor zero = torch::zeros({});
    if (fused_)
      return {.policy_loss = 0, .value_loss = fused_sum_v_, .entropy = 0, .clip_fraction = 0};
    return reduce_sums(context_.collective, zero, sum_v_, zero, zero);
  }

 private:
  StepContext context_;
  FlatAdam::Range critic_;  // the critic's slots of the optimizer's flat buffers
  std::unique_ptr<FusedPpoGradient> fused_;
  CriticRowGather critic_rows_;
  torch::Tensor sum_v_ = torch::zeros({});
  double fused_sum_v_ = 0;  // the fused path's (one learner: nothing to reduce)
  torch::Tensor critic_inputs_, critic_index_, old_values_, returns_;  // the fused path's rows
};

// A data-parallel learner with more learners than minibatch rows and none of its own: it adds
// nothing but joins every reduction the others make, so that all learners take the same step.
class EmptyShareStep final : public MinibatchStep {
 public:
  explicit EmptyShareStep(const StepContext& context) : context_(context) {
    if (!context.collective) throw Error("an empty minibatch share needs data-parallel learners");
  }

  StepResult step(const EpochBatch&, const MinibatchRows& rows) override {
    if (context_.trust_region.config().target_kl) {
      torch::Tensor kl_sum = torch::zeros({1}, torch::kFloat32);
      context_.collective->all_reduce_sum(kl_sum);
      if (context_.trust_region.stop_before_step(kl_sum.item<double>() /
                                                 static_cast<double>(rows.size)))
        return {.stopped = true, .mean_ratio = std::nullopt};
    }
    context_.optimizer.zero_grad();
    context_.collective->all_reduce_sum(context_.optimizer.gradients());
    context_.optimizer.clip_grad_norm(context_.ppo.max_grad_norm);
    context_.optimizer.step();
    return {};
  }

  LossSums loss_sums() override {
    const torch::Tensor zero = torch::zeros({});
    return reduce_sums(context_.collective, zero, zero, zero, zero);
  }

 private:
  StepContext context_;
};

}  // namespace

std::string_view minibatch_step_name(MinibatchStepKind kind) {
  switch (kind) {
    case MinibatchStepKind::kFused:
      return "fused";
    case MinibatchStepKind::kAutograd:
      return "autograd";
    case MinibatchStepKind::kEmptyShare:
      return "empty share";
    case MinibatchStepKind::kValue:
      return "value";
  }
  return "unknown";
}

std::int64_t share_offset(std::int64_t minibatch, const Collective* collective) {
  if (!collective) return 0;
  return minibatch * collective->rank() / collective->world_size();
}

std::int64_t share_size(std::int64_t minibatch, const Collective* collective) {
  if (!collective) return minibatch;
  return minibatch * (collective->rank() + 1) / collective->world_size() -
         share_offset(minibatch, collective);
}

MinibatchStepKind choose_minibatch_step(const StepContext& context, std::int64_t minibatch) {
  if (context.trust_region.natural_gradient()) return MinibatchStepKind::kValue;
  if (share_size(minibatch, context.collective) == 0) return MinibatchStepKind::kEmptyShare;
  if (fused_update_eligible(context.net, context.optimizer, context.trust_region, context.ppo,
                            world_size(context.collective)))
    return MinibatchStepKind::kFused;
  return MinibatchStepKind::kAutograd;
}

bool fused_reads_in_order(MinibatchStepKind kind, const StepContext& context) {
  if (kind == MinibatchStepKind::kFused) return true;
  // ValueStep takes the fused gradient exactly where this holds (its constructor).
  return kind == MinibatchStepKind::kValue &&
         fused_value_eligible(context.net, context.optimizer, context.ppo,
                              world_size(context.collective));
}

std::unique_ptr<MinibatchStep> make_minibatch_step(MinibatchStepKind kind,
                                                   const StepContext& context) {
  switch (kind) {
    case MinibatchStepKind::kFused:
      return std::make_unique<FusedStep>(context);
    case MinibatchStepKind::kAutograd:
      return std::make_unique<AutogradStep>(context);
    case MinibatchStepKind::kEmptyShare:
      return std::make_unique<EmptyShareStep>(context);
    case MinibatchStepKind::kValue:
      return std::make_unique<ValueStep>(context);
  }
  throw Error("unknown minibatch step kind");
}

}  // namespace trustrl::agents
