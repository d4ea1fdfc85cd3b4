#include "agents/policy_update.h"

#include <cmath>
#include <numeric>
#include <optional>

#include "agents/fused_update.h"
#include "agents/kl.h"
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
          "hand-written gradients for the common PPO case; false forces libtorch autograd");
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
  row.set("trust/epochs", epochs);
  row.set("trust/minibatches", minibatches);
  row.set("trust/backtracks", backtracks);
  row.set("trust/early_stopped", early_stopped ? 1.0 : 0.0);
  row.set("trust/first_ratio", first_ratio);
  row.set("charts/learning_rate", learning_rate);
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
    s.beta = std::max(s.beta, g.beta);
    s.epochs = std::max(s.epochs, g.epochs);
    s.minibatches += g.minibatches;
    s.backtracks = std::max(s.backtracks, g.backtracks);
    s.early_stopped = s.early_stopped || g.early_stopped;
    s.group_kl.push_back(g.kl_analytic);
    s.samples += g.samples;
  }
  s.learning_rate = groups.front().learning_rate;
  s.clip_epsilon = groups.front().clip_epsilon;
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

UpdateStats run_policy_update(ActorCriticImpl& net, FlatAdam& optimizer, TrustRegion& trust_region,
                              const PpoConfig& ppo, Rng& rng, const UpdateBatch& b,
                              double progress_remaining, Collective* collective) {
  const std::int64_t B = b.rows();
  UpdateStats stats;
  stats.samples = B;
  stats.learning_rate = ppo.learning_rate * (ppo.anneal_lr ? progress_remaining : 1.0);
  optimizer.set_learning_rate(stats.learning_rate);
  trust_region.begin_update(progress_remaining);
  stats.clip_epsilon = trust_region.clip_epsilon();
  if (B == 0) {
    stats.beta = trust_region.beta();
    return stats;  // every agent of the group was inactive
  }
  const std::int64_t mb = std::min(minibatch_size(ppo, B), B);

  // The behaviour policy over the whole batch, for analytic KL(old || new).
  Distribution old_dist;
  {
    torch::NoGradGuard no_grad;
    old_dist = net.distribution(b.obs).detach();
    stats.behaviour_kl =
        kl_k3(old_dist.log_prob(b.actions) - b.old_log_probs).mean().item<double>();
  }
  const torch::Tensor old_params =
      trust_region.has_bound() ? optimizer.parameters().clone() : torch::Tensor();

  auto kl_of = [&](const Distribution& old_d, const Distribution& new_d,
                   const torch::Tensor& log_ratio) {
    switch (trust_region.config().kl_measure) {
      case KlMeasure::kAnalytic:
        return kl_divergence(old_d, new_d);
      case KlMeasure::kK1:
        return kl_k1(log_ratio);
      case KlMeasure::kK2:
        return kl_k2(log_ratio);
      case KlMeasure::kK3:
        return kl_k3(log_ratio);
    }
    return torch::Tensor();
  };

  // The whole batch's KL(old || new) under the current parameters, in every form.
  auto measure = [&](UpdateStats* out) {
    torch::NoGradGuard no_grad;
    const Distribution d = net.distribution(b.obs);
    const torch::Tensor log_ratio = d.log_prob(b.actions) - b.old_log_probs;
    if (out) {
      out->kl_analytic = kl_divergence(old_dist, d).mean().item<double>();
      out->kl_k1 = kl_k1(log_ratio).mean().item<double>();
      out->kl_k2 = kl_k2(log_ratio).mean().item<double>();
      out->kl_k3 = kl_k3(log_ratio).mean().item<double>();
    }
    return kl_of(old_dist, d, log_ratio).mean().item<double>();
  };

  const bool critic_reads_obs = b.critic_inputs.is_same(b.obs);
  std::vector<std::int64_t> order(static_cast<std::size_t>(B));
  std::iota(order.begin(), order.end(), 0);
  // Sums kept as tensors so that the loop reads no scalar back until the end.
  torch::Tensor sum_pg = torch::zeros({}), sum_v = torch::zeros({}), sum_ent = torch::zeros({}),
                sum_clip = torch::zeros({});
  const bool needs_kl =
      trust_region.needs_kl_in_loss() || trust_region.config().target_kl.has_value();
  const std::int64_t world = collective ? collective->world_size() : 1;
  const std::int64_t rank = collective ? collective->rank() : 0;
  // The common case skips autograd (agents/fused_update.h); its sums are plain doubles.
  std::optional<FusedPpoGradient> fused;
  if (fused_update_eligible(net, optimizer, trust_region, ppo, world))
    fused.emplace(net, optimizer, ppo);
  double fused_pg = 0, fused_v = 0, fused_ent = 0, fused_clip = 0;
  bool stop = false;
  for (std::int64_t epoch = 0; epoch < ppo.update_epochs && !stop; ++epoch) {
    // Fisher-Yates with the learner's own RNG: the same shuffles after a resume. The batch is
    // permuted once per epoch; minibatches are then contiguous slices (views, no copies).
    for (std::int64_t i = B - 1; i > 0; --i)
      std::swap(order[static_cast<std::size_t>(i)],
                order[rng.below(static_cast<std::uint64_t>(i + 1))]);
    const torch::Tensor perm = torch::from_blob(order.data(), {B}, torch::kInt64);
    const torch::Tensor e_obs = b.obs.index_select(0, perm);
    const torch::Tensor e_critic = critic_reads_obs ? e_obs : b.critic_inputs.index_select(0, perm);
    const torch::Tensor e_actions = b.actions.index_select(0, perm);
    const torch::Tensor e_logp = b.old_log_probs.index_select(0, perm);
    const torch::Tensor e_values = b.old_values.index_select(0, perm);
    const torch::Tensor e_adv = b.advantages.index_select(0, perm);
    const torch::Tensor e_returns = b.returns.index_select(0, perm);
    const Distribution e_old = needs_kl ? old_dist.rows(perm) : Distribution();
    for (std::int64_t start = 0; start + mb <= B; start += mb) {
      // This learner's rows of the minibatch (all of it when alone): contiguous shares, so that
      // the learners' shares make up exactly the minibatch one learner would train on.
      const std::int64_t lo = start + mb * rank / world, m = start + mb * (rank + 1) / world - lo;
      if (m == 0) {  // more learners than rows: nothing to add but the others' gradients
        if (trust_region.config().target_kl) {
          torch::Tensor kl_sum = torch::zeros({1}, torch::kFloat32);
          collective->all_reduce_sum(kl_sum);
          if (trust_region.stop_before_step(kl_sum.item<double>() / static_cast<double>(mb))) {
            stop = true;
            stats.early_stopped = true;
            break;
          }
        }
        optimizer.zero_grad();
        collective->all_reduce_sum(optimizer.gradients());
        optimizer.clip_grad_norm(ppo.max_grad_norm);
        optimizer.step();
        ++stats.minibatches;
        continue;
      }
      if (fused) {  // alone and without a KL term: m == mb and there is no target_kl to check
        const FusedLosses l = fused->compute(
            {e_obs.narrow(0, lo, m), e_critic.narrow(0, lo, m), e_actions.narrow(0, lo, m),
             e_logp.narrow(0, lo, m), e_values.narrow(0, lo, m), e_adv.narrow(0, lo, m),
             e_returns.narrow(0, lo, m)},
            trust_region.clip_epsilon());
        if (epoch == 0 && start == 0) stats.first_ratio = l.mean_ratio;
        optimizer.clip_grad_norm(ppo.max_grad_norm);
        optimizer.step();
        fused_pg += l.policy_loss;
        fused_v += l.value_loss;
        fused_ent += l.entropy;
        fused_clip += l.clip_fraction;
        ++stats.minibatches;
        continue;
      }
      const Distribution dist = net.distribution(e_obs.narrow(0, lo, m));
      const torch::Tensor log_ratio =
          dist.log_prob(e_actions.narrow(0, lo, m)) - e_logp.narrow(0, lo, m);
      const torch::Tensor ratio = torch::exp(log_ratio);

      torch::Tensor kl;
      if (needs_kl) kl = kl_of(e_old.slice(lo, m), dist, log_ratio);
      if (trust_region.config().target_kl) {
        double minibatch_kl = 0;
        if (world == 1) {
          minibatch_kl = kl.mean().item<double>();
        } else {  // every learner decides on the whole minibatch's KL
          torch::Tensor kl_sum = kl.sum().reshape({1}).to(torch::kFloat32);
          collective->all_reduce_sum(kl_sum);
          minibatch_kl = kl_sum.item<double>() / static_cast<double>(mb);
        }
        if (trust_region.stop_before_step(minibatch_kl)) {
          stop = true;
          stats.early_stopped = true;
          break;
        }
      }
      if (epoch == 0 && start == 0) stats.first_ratio = ratio.mean().item<double>();

      // Advantages normalized over the whole minibatch, whichever share this learner trains on.
      torch::Tensor adv = e_adv.narrow(0, start, mb);
      if (ppo.norm_adv && mb > 1) adv = (adv - adv.mean()) / (adv.std() + 1e-8);
      if (world > 1) adv = adv.narrow(0, lo - start, m);
      const torch::Tensor pg_loss = trust_region.policy_loss(ratio, adv, kl);

      const torch::Tensor new_values = net.value(e_critic.narrow(0, lo, m));
      const torch::Tensor mb_returns = e_returns.narrow(0, lo, m);
      auto error_loss = [&](const torch::Tensor& err) {
        if (ppo.value_huber_delta) {
          const double d = *ppo.value_huber_delta;
          const torch::Tensor a = err.abs();
          return torch::where(a <= d, 0.5 * err * err, d * (a - 0.5 * d));
        }
        return 0.5 * err * err;
      };
      torch::Tensor v_loss;
      if (ppo.value_clip) {
        const torch::Tensor mb_old = e_values.narrow(0, lo, m);
        const torch::Tensor clipped =
            mb_old + torch::clamp(new_values - mb_old, -*ppo.value_clip, *ppo.value_clip);
        v_loss = torch::max(error_loss(new_values - mb_returns), error_loss(clipped - mb_returns))
                     .mean();
      } else {
        v_loss = error_loss(new_values - mb_returns).mean();
      }
      const torch::Tensor entropy = dist.entropy().mean();
      torch::Tensor loss = pg_loss - ppo.ent_coef * entropy + ppo.vf_coef * v_loss;
      // Each term is a mean over this share; weighted by share / minibatch, the learners' losses
      // add up to the whole minibatch's mean.
      if (world > 1) loss = loss * (static_cast<double>(m) / static_cast<double>(mb));

      optimizer.zero_grad();
      loss.backward();
      if (world > 1) collective->all_reduce_sum(optimizer.gradients());
      optimizer.clip_grad_norm(ppo.max_grad_norm);
      optimizer.step();

      {
        torch::NoGradGuard no_grad;
        sum_pg += pg_loss;
        sum_v += v_loss;
        sum_ent += entropy;
        if (trust_region.config().clip) sum_clip += trust_region.clip_fraction(ratio);
      }
      ++stats.minibatches;
    }
    if (!stop) ++stats.epochs;
    if (!stop && trust_region.checks_per_epoch() &&
        trust_region.stop_after_epoch(measure(nullptr))) {
      stop = true;
      stats.early_stopped = true;
    }
  }
  if (stats.epochs == 0 && stats.minibatches > 0) stats.epochs = 1;

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

  const double n = std::max(stats.minibatches, 1);
  if (world > 1) {  // the learners' shares, averaged
    torch::Tensor sums =
        torch::stack({sum_pg, sum_v, sum_ent, sum_clip}).to(torch::kFloat32).contiguous();
    collective->all_reduce_sum(sums);
    sums = sums / static_cast<double>(world);
    sum_pg = sums[0];
    sum_v = sums[1];
    sum_ent = sums[2];
    sum_clip = sums[3];
  }
  stats.policy_loss = (sum_pg.item<double>() + fused_pg) / n;
  stats.value_loss = (sum_v.item<double>() + fused_v) / n;
  stats.entropy = (sum_ent.item<double>() + fused_ent) / n;
  stats.clip_fraction = (sum_clip.item<double>() + fused_clip) / n;
  stats.beta = trust_region.beta();
  return stats;
}

}  // namespace trustrl::agents
