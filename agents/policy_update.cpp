#include "agents/policy_update.h"

#include <cmath>
#include <functional>
#include <future>
#include <memory>
#include <numeric>
#include <thread>

#include "agents/fused_update.h"
#include "agents/kl.h"
#include "agents/minibatch_step.h"
#include "agents/natural_gradient_step.h"
#include "core/error.h"

namespace trustrl::agents {

void PpoConfig::visit(ConfigVisitor& v) {
  v.field("num_steps", num_steps, "steps per env copy per update (rollout length)",
          Bounds::at_least(1));
  v.field("learning_rate", learning_rate, "Adam step size", Bounds::positive());
  v.field("anneal_lr", anneal_lr, "anneal the learning rate linearly to 0 over training");
  v.field("gamma", gamma, "discount factor", Bounds::closed(0, 1));
  v.field("gae_lambda", gae_lambda, "GAE lambda", Bounds::closed(0, 1));
  v.field("num_minibatches", num_minibatches, "minibatches per epoch (when minibatch_size is 0)",
          Bounds::at_least(1));
  v.field("minibatch_size", minibatch_size,
          "samples per minibatch; 0 derives it from num_minibatches", Bounds::at_least(0));
  v.field("update_epochs", update_epochs, "passes over each batch", Bounds::at_least(1));
  v.field("norm_adv", norm_adv, "normalize advantages per minibatch");
  v.field("ent_coef", ent_coef, "entropy bonus coefficient", Bounds::non_negative());
  v.field("vf_coef", vf_coef,
          "value loss coefficient (value loss is 0.5 * squared error, as CleanRL)",
          Bounds::non_negative());
  v.field("value_clip", value_clip,
          "clip the value update to +-value_clip around the old value; null is off",
          Bounds::positive());
  v.field("value_huber_delta", value_huber_delta,
          "Huber value loss with this delta; null uses the squared error", Bounds::positive());
  v.field("value_norm", value_norm,
          "normalize value targets by running statistics (MAPPO's ValueNorm)");
  v.field("max_grad_norm", max_grad_norm, "global gradient-norm clip", Bounds::positive());
  v.field("adam_eps", adam_eps, "Adam epsilon", Bounds::positive());
  v.field("fused_update", fused_update,
          "hand-written gradients for the common networks (PPO's minibatch step, TRPO's critic "
          "step and Fisher-vector products); false forces libtorch autograd");
}

std::int64_t minibatch_size(const PpoConfig& ppo, std::int64_t batch) {
  const std::int64_t size =
      ppo.minibatch_size > 0 ? ppo.minibatch_size : batch / ppo.num_minibatches;
  if (size < 1 || size > batch)
    throw ConfigError("ppo: a batch of " + std::to_string(batch) +
                      " samples cannot be split into minibatches of " + std::to_string(size) +
                      " (check ppo.minibatch_size / ppo.num_minibatches)");
  return size;
}

void UpdateStats::write(MetricRow& row) const {
  row.set("losses/policy_loss", policy_loss);
  row.set("losses/value_loss", value_loss);
  row.set("losses/entropy", entropy);
  row.set("losses/approx_kl", kl_k3);
  row.set("losses/old_approx_kl", kl_k1);
  row.set("losses/clipfrac", clip_fraction);
  row.set("losses/explained_variance", explained_variance);
  row.set("kl/analytic", kl_analytic);
  row.set("kl/k1", kl_k1);
  row.set("kl/k2", kl_k2);
  row.set("kl/k3", kl_k3);
  row.set("kl/behaviour", behaviour_kl);
  for (std::size_t g = 0; g < group_kl.size() && group_kl.size() > 1; ++g)
    row.set("kl/group_" + std::to_string(g), group_kl[g]);
  row.set("trust/beta", beta);
  row.set("trust/clip_epsilon", clip_epsilon);
  if (kl_delta) row.set("trust/kl_delta", *kl_delta);
  row.set("trust/epochs", epochs);
  row.set("trust/minibatches", minibatches);
  row.set("trust/backtracks", backtracks);
  row.set("trust/early_stopped", early_stopped ? 1.0 : 0.0);
  row.set("trust/first_ratio", first_ratio);
  row.set("charts/learning_rate", learning_rate);
  if (reference_kl) row.set("kl/reference", *reference_kl);
  if (reference_beta) row.set("trust/reference_beta", *reference_beta);
  if (natural_gradient) {
    const NaturalGradient& ng = *natural_gradient;
    row.set("trust/ng_stepped", ng.stepped);
    row.set("trust/ng_not_stepped", ng.not_stepped);
    row.set("trust/ng_refusal", ng.last_refusal);
    row.set("trust/ng_kl", ng.kl);
    row.set("trust/cg_iterations", ng.cg_iterations);
    row.set("trust/cg_residual", ng.cg_residual);
    row.set("trust/line_search_steps", ng.line_search_steps);
    row.set("trust/expected_improvement", ng.expected_improvement);
    row.set("trust/actual_improvement", ng.actual_improvement);
  }
  if (sequential) {
    for (std::size_t m = 0; m < sequential->order.size(); ++m)
      row.set("seq/order_" + std::to_string(m), sequential->order[m]);
    for (std::size_t g = 0; g < sequential->factor_mean.size(); ++g) {
      row.set("seq/factor_mean_" + std::to_string(g), sequential->factor_mean[g]);
      row.set("seq/factor_min_" + std::to_string(g), sequential->factor_min[g]);
      row.set("seq/factor_max_" + std::to_string(g), sequential->factor_max[g]);
    }
  }
}

UpdateStats UpdateStats::combine(const std::vector<UpdateStats>& groups) {
  if (groups.size() == 1) {
    UpdateStats s = groups.front();
    s.group_kl = {s.kl_analytic};
    return s;
  }
  UpdateStats s;
  s.first_ratio = 0;
  double total = 0;
  for (const auto& g : groups) total += static_cast<double>(g.samples);
  for (const auto& g : groups) {
    const double w = total > 0 ? static_cast<double>(g.samples) / total
                               : 1.0 / static_cast<double>(groups.size());
    s.policy_loss += w * g.policy_loss;
    s.value_loss += w * g.value_loss;
    s.entropy += w * g.entropy;
    s.kl_analytic += w * g.kl_analytic;
    s.kl_k1 += w * g.kl_k1;
    s.kl_k2 += w * g.kl_k2;
    s.kl_k3 += w * g.kl_k3;
    s.clip_fraction += w * g.clip_fraction;
    s.explained_variance += w * g.explained_variance;
    s.first_ratio += w * g.first_ratio;
    s.behaviour_kl += w * g.behaviour_kl;
    if (g.reference_kl) s.reference_kl = s.reference_kl.value_or(0.0) + w * *g.reference_kl;
    if (g.reference_beta)
      s.reference_beta = std::max(s.reference_beta.value_or(0.0), *g.reference_beta);
    s.beta = std::max(s.beta, g.beta);
    s.epochs = std::max(s.epochs, g.epochs);
    s.minibatches += g.minibatches;
    s.backtracks = std::max(s.backtracks, g.backtracks);
    s.early_stopped = s.early_stopped || g.early_stopped;
    s.group_kl.push_back(g.kl_analytic);
    s.samples += g.samples;
    if (g.natural_gradient) {
      // Counts add up; the KL is the largest group's (each group has its own bound); the other
      // measures are weighted like the losses.
      if (!s.natural_gradient) s.natural_gradient.emplace();
      UpdateStats::NaturalGradient& ng = *s.natural_gradient;
      const UpdateStats::NaturalGradient& gn = *g.natural_gradient;
      ng.stepped += gn.stepped;
      ng.not_stepped += gn.not_stepped;
      if (gn.not_stepped) ng.last_refusal = gn.last_refusal;
      ng.kl = std::max(ng.kl, gn.kl);
      ng.cg_residual += w * gn.cg_residual;
      ng.expected_improvement += w * gn.expected_improvement;
      ng.actual_improvement += w * gn.actual_improvement;
      ng.cg_iterations = std::max(ng.cg_iterations, gn.cg_iterations);
      ng.line_search_steps = std::max(ng.line_search_steps, gn.line_search_steps);
    }
  }
  s.learning_rate = groups.front().learning_rate;
  s.clip_epsilon = groups.front().clip_epsilon;
  s.kl_delta = groups.front().kl_delta;
  return s;
}

double explained_variance(const std::vector<float>& predicted, const std::vector<float>& target) {
  double mean_t = 0, mean_d = 0;
  const auto n = static_cast<double>(target.size());
  if (target.empty()) return NAN;
  for (std::size_t i = 0; i < target.size(); ++i) {
    mean_t += target[i];
    mean_d += target[i] - predicted[i];
  }
  mean_t /= n;
  mean_d /= n;
  double var_t = 0, var_d = 0;
  for (std::size_t i = 0; i < target.size(); ++i) {
    var_t += (target[i] - mean_t) * (target[i] - mean_t);
    const double d = target[i] - predicted[i] - mean_d;
    var_d += d * d;
  }
  return var_t == 0 ? NAN : 1.0 - var_d / var_t;
}

namespace {

// The batch's rows in the order `perm`, with the behaviour policy's when `old_dist` is given; the
// critic's fields alone when `critic_only`.
EpochBatch permuted(const UpdateBatch& b, const torch::Tensor& perm, const Distribution* old_dist,
                    bool critic_only) {
  EpochBatch e;
  if (!critic_only) e.obs = b.obs.index_select(0, perm);
  if (b.critic_input_index.defined()) {  // the distinct rows stay as they are; samples permute
    e.critic_inputs = b.critic_inputs;
    e.critic_input_index = b.critic_input_index.index_select(0, perm);
  } else {
    e.critic_inputs = b.critic_inputs.is_same(b.obs) && e.obs.defined()
                          ? e.obs
                          : b.critic_inputs.index_select(0, perm);
  }
  e.old_values = b.old_values.index_select(0, perm);
  e.returns = b.returns.index_select(0, perm);
  // The value step (the natural-gradient mode's 15 epochs of it) reads no more than that.
  if (critic_only) return e;
  e.actions = b.actions.index_select(0, perm);
  e.old_log_probs = b.old_log_probs.index_select(0, perm);
  e.advantages = b.advantages.index_select(0, perm);
  if (old_dist) e.old_dist = old_dist->rows(perm);
  if (b.reference) e.reference = b.reference->rows(perm);
  return e;
}

// The batch's rows as they are, with the epoch's order for the fused step to read by.
EpochBatch in_order(const UpdateBatch& b, const torch::Tensor& perm) {
  EpochBatch e;
  e.obs = b.obs;
  e.critic_inputs = b.critic_inputs;
  e.critic_input_index = b.critic_input_index;
  e.actions = b.actions;
  e.old_log_probs = b.old_log_probs;
  e.old_values = b.old_values;
  e.advantages = b.advantages;
  e.returns = b.returns;
  e.order = perm;
  return e;
}

// TRPO's step on the policy (agents/natural_gradient_step.h), advantages normalized over the
// whole batch where ppo.norm_adv asks; a step the line search refuses leaves the policy as it was.
UpdateStats::NaturalGradient natural_gradient_policy_step(
    ActorCriticImpl& net, const TrustRegion& trust_region, const PpoConfig& ppo,
    const UpdateBatch& b, const Distribution& old_dist, bool fused_forward,
    Collective* collective) {
  const TrustRegionConfig& tr = trust_region.config();
  NaturalGradientConfig config;
  config.fused_forward = fused_forward;
  config.delta = *trust_region.kl_delta();
  config.backtrack_coef = tr.kl_bound.backtrack_coef;
  config.max_backtracks = tr.kl_bound.max_backtracks;
  config.cg_iters = tr.natural_gradient.cg_iters;
  config.cg_damping = tr.natural_gradient.cg_damping;
  config.accept_ratio = tr.natural_gradient.accept_ratio;
  config.ent_coef = ppo.ent_coef;
  config.fisher_method = ppo.fused_update ? FisherMethod::kAuto : FisherMethod::kDoubleBackward;
  if (b.reference) {
    config.reference = &*b.reference;
    config.reference_beta = trust_region.reference_beta();
    config.reference_direction = tr.reference.direction;
  }
  torch::Tensor adv = b.advantages;
  if (ppo.norm_adv && b.rows() > 1) adv = (adv - adv.mean()) / (adv.std() + 1e-8);
  const NaturalGradientStats s = natural_gradient_step(
      net, {b.obs, b.actions, b.old_log_probs, adv}, old_dist, config, collective);
  UpdateStats::NaturalGradient ng;
  ng.stepped = s.stepped() ? 1 : 0;
  ng.not_stepped = s.stepped() ? 0 : 1;
  ng.last_refusal = static_cast<int>(s.outcome);
  ng.kl = s.kl;
  ng.cg_residual = s.cg_residual;
  ng.cg_iterations = s.cg_iterations;
  ng.line_search_steps = s.backtracks;
  ng.expected_improvement = s.expected_improvement;
  ng.actual_improvement = s.actual_improvement;
  ng.surrogate = s.surrogate;
  return ng;
}

// The update's epochs of `step`s over b, reshuffled each epoch with the learner's RNG (the same
// shuffles after a resume); `measure` gives the whole batch's KL for the trust region's
// per-epoch check. Counts epochs and minibatches into `stats`.
void run_epochs(MinibatchStep& step, MinibatchStepKind kind, const StepContext& context,
                const UpdateBatch& b, std::int64_t mb, Rng& rng, const Distribution* old_dist,
                const std::function<double()>& measure, UpdateStats& stats) {
  const TrustRegion& trust_region = context.trust_region;
  const std::int64_t B = b.rows();
  const bool in_order_epochs = fused_reads_in_order(kind, context);
  const std::int64_t share_start = share_offset(mb, context.collective),
                     share = share_size(mb, context.collective);
  std::vector<std::int64_t> order(static_cast<std::size_t>(B));
  std::iota(order.begin(), order.end(), 0);
  bool stop = false;
  for (std::int64_t epoch = 0; epoch < context.ppo.update_epochs && !stop; ++epoch) {
    // Fisher-Yates. The batch is permuted once per epoch; minibatches are then contiguous slices
    // (views, no copies).
    for (std::int64_t i = B - 1; i > 0; --i)
      std::swap(order[static_cast<std::size_t>(i)],
                order[rng.below(static_cast<std::uint64_t>(i + 1))]);
    const torch::Tensor perm = torch::from_blob(order.data(), {B}, torch::kInt64);
    const EpochBatch e =
        in_order_epochs ? in_order(b, perm)
                        : permuted(b, perm, trust_region.needs_minibatch_kl() ? old_dist : nullptr,
                                   kind == MinibatchStepKind::kValue);
    for (std::int64_t start = 0; start + mb <= B; start += mb) {
      const StepResult r =
          step.step(e, {start, mb, start + share_start, share, /*first=*/epoch == 0 && start == 0});
      if (r.stopped) {
        stop = true;
        stats.early_stopped = true;
        break;
      }
      if (r.mean_ratio) stats.first_ratio = *r.mean_ratio;
      ++stats.minibatches;
    }
    if (!stop) ++stats.epochs;
    if (!stop && trust_region.checks_per_epoch() && trust_region.stop_after_epoch(measure())) {
      stop = true;
      stats.early_stopped = true;
    }
  }
  if (stats.epochs == 0 && stats.minibatches > 0) stats.epochs = 1;
}

// UpdateParts::kCritic: the natural-gradient mode's value epochs on their own, into `stats`
// (samples and learning rate already set).
UpdateStats train_critic_alone(const StepContext& context, Rng& rng, const UpdateBatch& b,
                               UpdateStats stats) {
  if (b.rows() == 0) return stats;
  const std::int64_t mb = std::min(minibatch_size(context.ppo, b.rows()), b.rows());
  const MinibatchStepKind kind = choose_minibatch_step(context, mb);
  const std::unique_ptr<MinibatchStep> step = make_minibatch_step(kind, context);
  run_epochs(
      *step, kind, context, b, mb, rng, nullptr, [] { return 0.0; }, stats);
  stats.value_loss = step->loss_sums().value_loss / std::max(stats.minibatches, 1);
  return stats;
}

}  // namespace

UpdateStats run_policy_update(ActorCriticImpl& net, FlatAdam& optimizer, TrustRegion& trust_region,
                              const PpoConfig& ppo, Rng& rng, const UpdateBatch& b,
                              double progress_remaining, Collective* collective,
                              UpdateParts parts) {
  if (parts != UpdateParts::kPolicyAndCritic && !trust_region.natural_gradient())
    throw Error(
        "policy update: only trust_region.mode natural_gradient trains the policy and the critic "
        "apart (the other modes train both in the same minibatches)");
  const std::int64_t B = b.rows();
  UpdateStats stats;
  stats.samples = B;
  stats.learning_rate = ppo.learning_rate * (ppo.anneal_lr ? progress_remaining : 1.0);
  optimizer.set_learning_rate(stats.learning_rate);
  const StepContext context{net, optimizer, trust_region, ppo, collective};
  if (parts == UpdateParts::kCritic) return train_critic_alone(context, rng, b, stats);
  trust_region.begin_update(progress_remaining);
  stats.clip_epsilon = trust_region.clip_epsilon();
  stats.kl_delta = trust_region.kl_delta();
  if (trust_region.has_reference() != b.reference.has_value())
    throw Error(trust_region.has_reference()
                    ? "policy update: trust_region.reference is set but the batch carries no "
                      "reference distribution"
                    : "policy update: the batch carries a reference distribution but "
                      "trust_region.reference is not set");
  if (trust_region.has_reference()) stats.reference_beta = trust_region.reference_beta();
  if (B == 0) {
    stats.beta = trust_region.beta();
    return stats;  // every agent of the group was inactive
  }
  const std::int64_t mb = std::min(minibatch_size(ppo, B), B);

  // One kind of minibatch step for the whole update (agents/minibatch_step.h).
  const MinibatchStepKind kind = choose_minibatch_step(context, mb);
  const std::int64_t world = collective ? collective->world_size() : 1;

  // The policy over the whole batch without a graph. Where the steps are fused, so is this
  // forward (the same values to float rounding, a fraction of libtorch's per-op cost on small
  // layers); elsewhere libtorch's, as the steps compute it.
  const bool fused_forward =
      fused_forward_supported(net) &&
      (kind == MinibatchStepKind::kFused ||
       (kind == MinibatchStepKind::kValue && fused_value_eligible(net, optimizer, ppo, world)));
  auto policy_at = [&](const torch::Tensor& obs) {
    return fused_forward ? fused_distribution(net, obs) : net.distribution(obs);
  };

  // The behaviour policy over the whole batch, for analytic KL(old || new).
  Distribution old_dist;
  {
    torch::NoGradGuard no_grad;
    old_dist = policy_at(b.obs).detach();
    stats.behaviour_kl =
        kl_k3(old_dist.log_prob(b.actions) - b.old_log_probs).mean().item<double>();
  }
  const torch::Tensor old_params =
      trust_region.has_bound() ? optimizer.parameters().clone() : torch::Tensor();

  // The whole batch's KL(old || new) under the current parameters: every form into `out`, and
  // the trust region's own measure returned.
  auto measure = [&](UpdateStats* out) {
    torch::NoGradGuard no_grad;
    const Distribution d = policy_at(b.obs);
    const torch::Tensor log_ratio = d.log_prob(b.actions) - b.old_log_probs;
    if (out) {
      out->kl_analytic = kl_divergence(old_dist, d).mean().item<double>();
      out->kl_k1 = kl_k1(log_ratio).mean().item<double>();
      out->kl_k2 = kl_k2(log_ratio).mean().item<double>();
      out->kl_k3 = kl_k3(log_ratio).mean().item<double>();
    }
    return trust_region.kl(old_dist, d, log_ratio).mean().item<double>();
  };

  // The natural-gradient mode moves the policy here, on the whole batch; the epochs below then
  // train the critic alone (unless the critic is trained apart: UpdateParts::kPolicy). The two
  // read and write disjoint parameters, so where the critic's steps are fused (no autograd graph
  // whose saved parameters the policy step's writes would invalidate), nothing reads the policy
  // between epochs, and there is no collective to keep in one order, the policy step runs on a
  // thread of its own beside the critic's epochs: the same numbers, in the longer one's time.
  const bool overlap = trust_region.natural_gradient() && parts == UpdateParts::kPolicyAndCritic &&
                       world == 1 && kind == MinibatchStepKind::kValue &&
                       fused_value_eligible(net, optimizer, ppo, world) &&
                       !trust_region.checks_per_epoch() && std::thread::hardware_concurrency() > 1;
  std::future<UpdateStats::NaturalGradient> policy_step;
  if (trust_region.natural_gradient()) {
    const auto policy_step_now = [&] {
      return natural_gradient_policy_step(net, trust_region, ppo, b, old_dist, fused_forward,
                                          collective);
    };
    if (overlap)
      policy_step = std::async(std::launch::async, policy_step_now);
    else
      stats.natural_gradient = policy_step_now();
  }

  std::unique_ptr<MinibatchStep> step;
  if (parts == UpdateParts::kPolicyAndCritic) {
    step = make_minibatch_step(kind, context);
    run_epochs(
        *step, kind, context, b, mb, rng, &old_dist, [&] { return measure(nullptr); }, stats);
  }
  // Rethrows what the policy step threw (a non-finite quantity) once both are done.
  if (policy_step.valid()) {
    stats.natural_gradient = policy_step.get();
    stats.natural_gradient->beside_critic = true;
  }

  // Hard bound, then the final KL of the update as it stands. Only the policy's step is scaled
  // back: the search starts from the old policy with the critic already at its new values.
  if (trust_region.has_bound()) {
    const torch::Tensor new_params = optimizer.parameters().clone();
    const torch::Tensor policy = net.policy_parameter_mask();
    const torch::Tensor start = policy * old_params + (1 - policy) * new_params;
    stats.backtracks =
        trust_region.enforce_bound([&](const torch::Tensor& p) { optimizer.set_parameters(p); },
                                   start, new_params, [&] { return measure(nullptr); });
  }
  trust_region.end_update(measure(&stats));
  if (b.reference) {
    torch::NoGradGuard no_grad;
    stats.reference_kl =
        trust_region.reference_kl(*b.reference, policy_at(b.obs)).mean().item<double>();
    trust_region.end_reference_update(*stats.reference_kl);
  }

  // The minibatches' mean losses (with several learners, their shares' averaged).
  const LossSums sums = step ? step->loss_sums() : LossSums{};
  const double n = std::max(stats.minibatches, 1);
  stats.policy_loss = sums.policy_loss / n;
  stats.value_loss = sums.value_loss / n;
  stats.entropy = sums.entropy / n;
  stats.clip_fraction = sums.clip_fraction / n;
  if (stats.natural_gradient) {  // the epochs trained the critic alone
    stats.policy_loss = -stats.natural_gradient->surrogate;
    torch::NoGradGuard no_grad;
    stats.entropy = old_dist.entropy().mean().item<double>();
  }
  stats.beta = trust_region.beta();
  return stats;
}

}  // namespace trustrl::agents
