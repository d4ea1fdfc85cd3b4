#include "agents/ppo.h"

#include <cmath>
#include <numeric>
#include <sstream>

#include "agents/gae.h"
#include "agents/kl.h"
#include "core/error.h"

namespace trustrl::agents {

void PpoConfig::visit(ConfigVisitor& v) {
  v.field("num_steps", num_steps, "steps per env copy per update (rollout length)", Bounds::at_least(1));
  v.field("learning_rate", learning_rate, "Adam step size", Bounds::positive());
  v.field("anneal_lr", anneal_lr, "anneal the learning rate linearly to 0 over training");
  v.field("gamma", gamma, "discount factor", Bounds::closed(0, 1));
  v.field("gae_lambda", gae_lambda, "GAE lambda", Bounds::closed(0, 1));
  v.field("num_minibatches", num_minibatches, "minibatches per epoch (when minibatch_size is 0)", Bounds::at_least(1));
  v.field("minibatch_size", minibatch_size, "samples per minibatch; 0 derives it from num_minibatches",
          Bounds::at_least(0));
  v.field("update_epochs", update_epochs, "passes over each batch", Bounds::at_least(1));
  v.field("norm_adv", norm_adv, "normalize advantages per minibatch");
  v.field("ent_coef", ent_coef, "entropy bonus coefficient", Bounds::non_negative());
  v.field("vf_coef", vf_coef, "value loss coefficient (value loss is 0.5 * squared error, as CleanRL)",
          Bounds::non_negative());
  v.field("value_clip", value_clip, "clip the value update to +-value_clip around the old value; null is off",
          Bounds::positive());
  v.field("max_grad_norm", max_grad_norm, "global gradient-norm clip", Bounds::positive());
  v.field("adam_eps", adam_eps, "Adam epsilon", Bounds::positive());
}

void NormalizeConfig::visit(ConfigVisitor& v) {
  v.field("observations", observations, "normalize observations by running mean/std (saved with the policy)");
  v.field("rewards", rewards, "scale rewards by the running std of the discounted return");
  v.field("clip_obs", clip_obs, "clip normalized observations to +-clip_obs", Bounds::positive());
  v.field("clip_reward", clip_reward, "clip scaled rewards to +-clip_reward", Bounds::positive());
  v.field("epsilon", epsilon, "added to variances before the square root", Bounds::positive());
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
  row.set("trust/beta", beta);
  row.set("trust/clip_epsilon", clip_epsilon);
  row.set("trust/epochs", epochs);
  row.set("trust/minibatches", minibatches);
  row.set("trust/backtracks", backtracks);
  row.set("trust/early_stopped", early_stopped ? 1.0 : 0.0);
  row.set("charts/learning_rate", learning_rate);
}

std::int64_t minibatch_size(const PpoConfig& ppo, std::int64_t batch) {
  const std::int64_t size = ppo.minibatch_size > 0 ? ppo.minibatch_size : batch / ppo.num_minibatches;
  if (size < 1 || size > batch)
    throw ConfigError("ppo: a batch of " + std::to_string(batch) + " samples cannot be split into minibatches of " +
                      std::to_string(size) + " (check ppo.minibatch_size / ppo.num_minibatches)");
  return size;
}

PpoLearner::PpoLearner(const NetworkShape& shape, const PpoConfig& ppo, const TrustRegionConfig& trust_region,
                       const NetworkConfig& network, const NormalizeConfig& normalize, std::uint64_t seed)
    : ppo_(ppo),
      normalize_(normalize),
      shape_(shape),
      trust_region_(trust_region),
      obs_norm_(static_cast<int>(shape.obs_dim), normalize.observations, normalize.clip_obs, normalize.epsilon),
      reward_scaler_(normalize.rewards, ppo.gamma, normalize.clip_reward, normalize.epsilon),
      rng_(Rng::derive(seed, 0x1EA2)) {
  torch::manual_seed(seed);  // initial weights
  net_ = ActorCritic(shape, network);
  optimizer_ = std::make_unique<FlatAdam>(*net_, ppo.learning_rate, 0.9, 0.999, ppo.adam_eps);
}

PolicySnapshot PpoLearner::snapshot() {
  PolicySnapshot s;
  s.version = version_;
  s.weights = export_weights(*net_);
  s.obs_normalizer = obs_norm_;
  return s;
}

namespace {

torch::Tensor as_tensor(std::vector<float>& v, std::int64_t rows, std::int64_t cols = -1) {
  auto t = torch::from_blob(v.data(), {static_cast<std::int64_t>(v.size())}, torch::kFloat32);
  return cols < 0 ? t : t.view({rows, cols});
}

double explained_variance(const std::vector<float>& predicted, const std::vector<float>& target) {
  double mean_t = 0, mean_d = 0;
  const auto n = static_cast<double>(target.size());
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

}  // namespace

UpdateStats PpoLearner::update(const Rollout& rollout, double progress_remaining, std::int64_t source) {
  const std::int64_t B = rollout.rows();
  const std::int64_t obs_dim = rollout.obs_dim;
  const bool discrete = !rollout.discrete_actions.empty();
  const std::int64_t mb = minibatch_size(ppo_, B);

  UpdateStats stats;
  stats.learning_rate = ppo_.learning_rate * (ppo_.anneal_lr ? progress_remaining : 1.0);
  optimizer_->set_learning_rate(stats.learning_rate);
  trust_region_.begin_update(progress_remaining);

  // Scale rewards (copy; the rollout stays raw) and estimate advantages.
  std::vector<float> rewards = rollout.rewards;
  {
    std::vector<std::uint8_t> dones(rollout.terminated.size());
    for (std::size_t i = 0; i < dones.size(); ++i) dones[i] = rollout.terminated[i] | rollout.truncated[i];
    reward_scaler_.scale(source, rollout.num_steps, rollout.num_envs, rewards.data(), dones.data());
  }
  std::vector<float> advantages, returns;
  GaeInput gae{rollout.num_steps, static_cast<std::int64_t>(rollout.num_envs) * rollout.num_agents, rollout.num_agents,
               rewards.data(), rollout.values.data(), rollout.terminated.data(), rollout.truncated.data(),
               rollout.final_values.data(), rollout.bootstrap_values.data(), ppo_.gamma, ppo_.gae_lambda};
  compute_gae(gae, advantages, returns);
  stats.explained_variance = explained_variance(rollout.values, returns);

  // Flatten the batch into tensors; observations normalized with the statistics the actor used.
  std::vector<float> obs(rollout.observations.size());
  obs_norm_.normalize(rollout.observations.data(), B, obs.data());
  std::vector<float> old_log_probs = rollout.log_probs, old_values = rollout.values;
  const torch::Tensor b_obs = as_tensor(obs, B, obs_dim);
  const torch::Tensor b_logp = as_tensor(old_log_probs, B);
  const torch::Tensor b_values = as_tensor(old_values, B);
  const torch::Tensor b_adv = as_tensor(advantages, B);
  const torch::Tensor b_returns = as_tensor(returns, B);
  torch::Tensor b_actions;
  if (discrete) {
    b_actions = torch::from_blob(const_cast<std::int64_t*>(rollout.discrete_actions.data()),
                                 {B, rollout.action_dim}, torch::kInt64)
                    .clone();
    if (shape_.action_space.kind == envs::SpaceKind::kDiscrete && shape_.action_space.start != 0)
      b_actions -= shape_.action_space.start;  // env values to class indices
  } else {
    b_actions = torch::from_blob(const_cast<float*>(rollout.continuous_actions.data()), {B, rollout.action_dim},
                                 torch::kFloat32);
  }

  // The behaviour policy over the whole batch, for analytic KL(old || new).
  Distribution old_dist;
  {
    torch::NoGradGuard no_grad;
    old_dist = net_->distribution(b_obs).detach();
  }
  const torch::Tensor old_params = trust_region_.has_bound() ? optimizer_->parameters().clone() : torch::Tensor();

  auto kl_of = [&](const Distribution& old_d, const Distribution& new_d, const torch::Tensor& log_ratio) {
    switch (trust_region_.config().kl_measure) {
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
    const Distribution d = net_->distribution(b_obs);
    const torch::Tensor log_ratio = d.log_prob(b_actions) - b_logp;
    const double analytic = kl_divergence(old_dist, d).mean().item<double>();
    if (out) {
      out->kl_analytic = analytic;
      out->kl_k1 = kl_k1(log_ratio).mean().item<double>();
      out->kl_k2 = kl_k2(log_ratio).mean().item<double>();
      out->kl_k3 = kl_k3(log_ratio).mean().item<double>();
    }
    return kl_of(old_dist, d, log_ratio).mean().item<double>();
  };

  std::vector<std::int64_t> order(static_cast<std::size_t>(B));
  std::iota(order.begin(), order.end(), 0);
  // Sums kept as tensors so that the loop reads no scalar back until the end.
  torch::Tensor sum_pg = torch::zeros({}), sum_v = torch::zeros({}), sum_ent = torch::zeros({}),
                sum_clip = torch::zeros({});
  const bool needs_kl = trust_region_.needs_kl_in_loss() || trust_region_.config().target_kl.has_value();
  bool stop = false;
  for (std::int64_t epoch = 0; epoch < ppo_.update_epochs && !stop; ++epoch) {
    // Fisher-Yates with the learner's own RNG: the same shuffles after a resume. The batch is
    // permuted once per epoch; minibatches are then contiguous slices (views, no copies).
    for (std::int64_t i = B - 1; i > 0; --i)
      std::swap(order[static_cast<std::size_t>(i)], order[rng_.below(static_cast<std::uint64_t>(i + 1))]);
    const torch::Tensor perm = torch::from_blob(order.data(), {B}, torch::kInt64);
    const torch::Tensor e_obs = b_obs.index_select(0, perm);
    const torch::Tensor e_actions = b_actions.index_select(0, perm);
    const torch::Tensor e_logp = b_logp.index_select(0, perm);
    const torch::Tensor e_values = b_values.index_select(0, perm);
    const torch::Tensor e_adv = b_adv.index_select(0, perm);
    const torch::Tensor e_returns = b_returns.index_select(0, perm);
    const Distribution e_old = needs_kl ? old_dist.rows(perm) : Distribution();
    for (std::int64_t start = 0; start + mb <= B; start += mb) {
      const torch::Tensor mb_obs = e_obs.narrow(0, start, mb);
      const Distribution dist = net_->distribution(mb_obs);
      const torch::Tensor log_ratio = dist.log_prob(e_actions.narrow(0, start, mb)) - e_logp.narrow(0, start, mb);
      const torch::Tensor ratio = torch::exp(log_ratio);

      torch::Tensor kl;
      if (needs_kl) kl = kl_of(e_old.slice(start, mb), dist, log_ratio);
      if (trust_region_.config().target_kl && trust_region_.stop_before_step(kl.mean().item<double>())) {
        stop = true;
        stats.early_stopped = true;
        break;
      }
      if (epoch == 0 && start == 0) stats.first_ratio = ratio.mean().item<double>();

      torch::Tensor adv = e_adv.narrow(0, start, mb);
      if (ppo_.norm_adv) adv = (adv - adv.mean()) / (adv.std() + 1e-8);
      const torch::Tensor pg_loss = trust_region_.policy_loss(ratio, adv, kl);

      const torch::Tensor new_values = net_->value(mb_obs);
      const torch::Tensor mb_returns = e_returns.narrow(0, start, mb);
      torch::Tensor v_loss;
      if (ppo_.value_clip) {
        const torch::Tensor mb_old = e_values.narrow(0, start, mb);
        const torch::Tensor clipped = mb_old + torch::clamp(new_values - mb_old, -*ppo_.value_clip, *ppo_.value_clip);
        v_loss = 0.5 * torch::max((new_values - mb_returns).pow(2), (clipped - mb_returns).pow(2)).mean();
      } else {
        v_loss = 0.5 * (new_values - mb_returns).pow(2).mean();
      }
      const torch::Tensor entropy = dist.entropy().mean();
      const torch::Tensor loss = pg_loss - ppo_.ent_coef * entropy + ppo_.vf_coef * v_loss;

      optimizer_->zero_grad();
      loss.backward();
      optimizer_->clip_grad_norm(ppo_.max_grad_norm);
      optimizer_->step();

      {
        torch::NoGradGuard no_grad;
        sum_pg += pg_loss;
        sum_v += v_loss;
        sum_ent += entropy;
        if (trust_region_.config().clip) sum_clip += trust_region_.clip_fraction(ratio);
      }
      ++stats.minibatches;
    }
    if (!stop) ++stats.epochs;
    if (!stop && trust_region_.checks_per_epoch() && trust_region_.stop_after_epoch(measure(nullptr))) {
      stop = true;
      stats.early_stopped = true;
    }
  }
  if (stats.epochs == 0 && stats.minibatches > 0) stats.epochs = 1;

  // Hard bound, then the final KL of the update as it stands.
  if (trust_region_.has_bound()) {
    const torch::Tensor new_params = optimizer_->parameters().clone();
    stats.backtracks = trust_region_.enforce_bound([&](const torch::Tensor& p) { optimizer_->set_parameters(p); },
                                                   old_params, new_params, [&] { return measure(nullptr); });
  }
  const double final_kl = measure(&stats);
  trust_region_.end_update(final_kl);

  const double n = std::max(stats.minibatches, 1);
  stats.policy_loss = sum_pg.item<double>() / n;
  stats.value_loss = sum_v.item<double>() / n;
  stats.entropy = sum_ent.item<double>() / n;
  stats.clip_fraction = sum_clip.item<double>() / n;
  stats.beta = trust_region_.beta();
  stats.clip_epsilon = trust_region_.clip_epsilon();

  // The statistics move only now, so this update saw exactly what the actor saw.
  obs_norm_.update(rollout.observations.data(), B);
  ++version_;
  return stats;
}

void PpoLearner::save(ByteWriter& out) const {
  optimizer_->save(out);
  obs_norm_.save(out);
  reward_scaler_.save(out);
  trust_region_.save(out);
  out.put(rng_.state());
  out.put(version_);
}

void PpoLearner::load(ByteReader& in) {
  optimizer_->load(in);
  obs_norm_.load(in);
  reward_scaler_.load(in);
  trust_region_.load(in);
  rng_.set_state(in.get<Rng::State>());
  version_ = in.get<std::int64_t>();
}

}  // namespace trustrl::agents
