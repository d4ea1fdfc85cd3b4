#include "agents/ppo.h"

#include "agents/gae.h"
#include "core/error.h"

namespace trustrl::agents {

PpoLearner::PpoLearner(const NetworkShape& shape, const PpoConfig& ppo,
                       const TrustRegionConfig& trust_region, const NetworkConfig& network,
                       const NormalizeConfig& normalize, std::uint64_t seed)
    : ppo_(ppo),
      shape_(shape),
      reward_scaler_(normalize.rewards, ppo.gamma, normalize.clip_reward, normalize.epsilon),
      rng_(Rng::derive(seed, 0x1EA2)) {
  if (shape.critic_input_dim != shape.obs_dim) throw Error("PPO's critic reads the observation");
  torch::manual_seed(seed);  // initial weights
  model_ =
      std::make_unique<GroupModel>(std::vector<int>{0}, shape, false, 1, CriticInput::kObservation,
                                   ppo, trust_region, network, normalize);
}

PolicySnapshot PpoLearner::snapshot() const { return PolicySnapshot{version_, {model_->policy()}}; }

torch::Tensor action_indices(const envs::Space& space, const std::int64_t* values,
                             std::int64_t rows, std::int64_t dim) {
  torch::Tensor t =
      torch::from_blob(const_cast<std::int64_t*>(values), {rows, dim}, torch::kInt64).clone();
  if (space.kind == envs::SpaceKind::kDiscrete && space.start != 0) t -= space.start;
  return t;
}

UpdateStats PpoLearner::update(const Rollout& rollout, double progress_remaining,
                               std::int64_t source) {
  if (rollout.num_agents != 1)
    throw Error("PPO takes single-agent rollouts; use algo: mappo for multi-agent envs");
  GroupModel& g = *model_;
  const std::int64_t B = rollout.rows();

  // Scale rewards (a copy; the rollout stays raw) and estimate advantages on values in reward
  // units (the actor denormalized them).
  std::vector<float> rewards = rollout.rewards;
  std::vector<std::uint8_t> dones(rollout.terminated.size());
  for (std::size_t i = 0; i < dones.size(); ++i)
    dones[i] = rollout.terminated[i] | rollout.truncated[i];
  reward_scaler_.scale(source, rollout.num_steps, rollout.num_envs, rewards.data(), dones.data());
  std::vector<float> advantages, returns;
  compute_gae({rollout.num_steps, rollout.num_envs, 1, rewards.data(), rollout.values.data(),
               rollout.terminated.data(), rollout.truncated.data(), rollout.final_values.data(),
               rollout.bootstrap_values.data(), ppo_.gamma, ppo_.gae_lambda},
              advantages, returns);
  const double ev = explained_variance(rollout.values, returns);

  // Value targets and old values in the critic's units.
  g.value_normalizer.update(returns.data(), B);
  std::vector<float> targets(returns.size()), old_values(rollout.values.size());
  for (std::size_t i = 0; i < returns.size(); ++i) {
    targets[i] = g.value_normalizer.normalize(returns[i]);
    old_values[i] = g.value_normalizer.normalize(rollout.values[i]);
  }

  // Observations normalized with the statistics the actor acted with.
  std::vector<float> obs(rollout.observations.size());
  g.obs_normalizer.normalize(rollout.observations.data(), B, obs.data());
  std::vector<float> log_probs = rollout.log_probs;
  UpdateBatch batch;
  batch.obs = torch::from_blob(obs.data(), {B, rollout.obs_dim}, torch::kFloat32);
  batch.critic_inputs = batch.obs;
  batch.actions = rollout.discrete_actions.empty()
                      ? torch::from_blob(const_cast<float*>(rollout.continuous_actions.data()),
                                         {B, rollout.action_dim}, torch::kFloat32)
                      : action_indices(shape_.action_space, rollout.discrete_actions.data(), B,
                                       rollout.action_dim);
  batch.old_log_probs = torch::from_blob(log_probs.data(), {B}, torch::kFloat32);
  batch.old_values = torch::from_blob(old_values.data(), {B}, torch::kFloat32);
  batch.advantages = torch::from_blob(advantages.data(), {B}, torch::kFloat32);
  batch.returns = torch::from_blob(targets.data(), {B}, torch::kFloat32);

  UpdateStats stats = run_policy_update(*g.net, *g.optimizer, g.trust_region, ppo_, rng_, batch,
                                        progress_remaining, collective_);
  stats.explained_variance = ev;

  // The statistics move only now, so this update saw exactly what the actor saw.
  g.obs_normalizer.update(rollout.observations.data(), B);
  g.critic_normalizer.update(rollout.observations.data(), B);
  ++version_;
  return UpdateStats::combine({stats});
}

void PpoLearner::save(ByteWriter& out) const {
  model_->save(out);
  reward_scaler_.save(out);
  out.put(rng_.state());
  out.put(version_);
}

void PpoLearner::load(ByteReader& in) {
  model_->load(in);
  reward_scaler_.load(in);
  rng_.set_state(in.get<Rng::State>());
  version_ = in.get<std::int64_t>();
}

}  // namespace trustrl::agents
