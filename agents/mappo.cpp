#include "agents/mappo.h"

#include "agents/env_actor.h"
#include "agents/gae.h"
#include "agents/ppo.h"
#include "core/error.h"

namespace trustrl::agents {

void MappoConfig::visit(ConfigVisitor& v) {
  v.choice("critic_input", critic_input,
           {{"state", CriticInput::kState},
            {"state_and_observation", CriticInput::kStateAndObservation},
            {"observation", CriticInput::kObservation}},
           "what the critic reads: the global state (MAPPO), the state and the agent's observation "
           "(agent-specific state), or the observation alone (independent PPO)");
  v.field("agent_id", agent_id, "append a one-hot agent id to actor and critic inputs");
}

MappoLearner::MappoLearner(const envs::MultiAgentSpec& spec, const MappoConfig& mappo,
                           const PpoConfig& ppo, const TrustRegionConfig& trust_region,
                           const NetworkConfig& network, const NormalizeConfig& normalize,
                           std::uint64_t seed)
    : spec_(spec),
      mappo_(mappo),
      ppo_(ppo),
      reward_scaler_(normalize.rewards, ppo.gamma, normalize.clip_reward, normalize.epsilon),
      rng_(Rng::derive(seed, 0x1EA2)) {
  if (mappo.critic_input != CriticInput::kObservation && spec.state_dim() == 0)
    throw ConfigError(
        "mappo.critic_input asks for a centralized critic on the global state, but " + spec.id +
        " has no global state; use mappo.critic_input: observation (independent PPO)");
  torch::manual_seed(seed);
  const int critic = EnvActor::critic_width(spec, mappo.critic_input, mappo.agent_id);
  for (const auto& group : spec.agent_groups()) {
    NetworkShape shape;
    shape.obs_dim = group.observation_space.flat_dim() + (mappo.agent_id ? spec.num_agents() : 0);
    shape.critic_input_dim = critic;
    shape.action_space = group.action_space;
    groups_.push_back(std::make_unique<GroupModel>(group.agents, shape, mappo.agent_id,
                                                   spec.num_agents(), mappo.critic_input, ppo,
                                                   trust_region, network, normalize));
  }
}

PolicySnapshot MappoLearner::snapshot() const {
  PolicySnapshot s;
  s.version = version_;
  for (const auto& g : groups_) s.groups.push_back(g->policy());
  return s;
}

UpdateStats MappoLearner::update(const Rollout& r, double progress_remaining, std::int64_t source) {
  const int A = spec_.num_agents();
  if (r.num_agents != A || r.active.size() != static_cast<std::size_t>(r.rows()))
    throw Error("MAPPO needs rollouts of " + std::to_string(A) + " agents with their active masks");
  const std::int64_t T = r.num_steps, N = r.num_envs, C = N * A;

  // Rewards scaled per (copy, agent) stream; GAE per agent on values in reward units. The actor
  // wrote zero values for dead agents, so an agent that dies stops its own return there.
  // Dead rows carry nothing: zero reward and value, whatever they hold, so that no dead agent's
  // data can reach a live sample's advantage (the env already gives dead agents 0 reward).
  std::vector<float> rewards = r.rewards, row_values = r.values;
  for (std::size_t i = 0; i < rewards.size(); ++i)
    if (!r.active[i]) rewards[i] = row_values[i] = 0.0f;
  std::vector<std::uint8_t> column_dones(static_cast<std::size_t>(T * C));
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t c = 0; c < C; ++c)
      column_dones[static_cast<std::size_t>(t * C + c)] =
          r.terminated[static_cast<std::size_t>(t * N + c / A)] |
          r.truncated[static_cast<std::size_t>(t * N + c / A)];
  reward_scaler_.scale(source, T, C, rewards.data(), column_dones.data());
  std::vector<float> advantages, returns;
  compute_gae({T, C, A, rewards.data(), row_values.data(), r.terminated.data(), r.truncated.data(),
               r.final_values.data(), r.bootstrap_values.data(), ppo_.gamma, ppo_.gae_lambda},
              advantages, returns);

  std::vector<UpdateStats> group_stats;
  for (auto& gp : groups_) {
    GroupModel& g = *gp;
    const GroupPolicy policy = g.policy();
    const envs::Space& space = policy.weights.action_space;
    const auto in_dim = static_cast<std::size_t>(policy.actor_input_dim());
    const auto critic_dim = static_cast<std::size_t>(r.critic_dim);
    const auto act_dim = static_cast<std::size_t>(space.flat_dim());

    // The group's live samples (death masking: inactive rows are left out of every loss).
    std::vector<std::size_t> rows;
    for (std::int64_t i = 0; i < T * N; ++i)
      for (int a : g.agents) {
        const auto row = static_cast<std::size_t>(i * A + a);
        if (r.active[row]) rows.push_back(row);
      }
    const auto B = static_cast<std::int64_t>(rows.size());
    std::vector<float> raw_obs(rows.size() * in_dim), obs(rows.size() * in_dim),
        raw_critic(rows.size() * critic_dim), critic(rows.size() * critic_dim),
        log_probs(rows.size()), values(rows.size()), adv(rows.size()), rets(rows.size()),
        targets(rows.size()), old_values(rows.size());
    std::vector<std::int64_t> discrete(space.is_discrete() ? rows.size() * act_dim : 0);
    std::vector<float> continuous(space.is_discrete() ? 0 : rows.size() * act_dim);
    for (std::size_t k = 0; k < rows.size(); ++k) {
      const std::size_t row = rows[k];
      const int agent = static_cast<int>(row % static_cast<std::size_t>(A));
      write_actor_input(policy, &r.observations[row * static_cast<std::size_t>(r.obs_dim)], agent,
                        &raw_obs[k * in_dim]);
      std::copy_n(&r.critic_inputs[row * critic_dim], critic_dim, &raw_critic[k * critic_dim]);
      if (space.is_discrete())
        std::copy_n(&r.discrete_actions[row * static_cast<std::size_t>(r.action_dim)], act_dim,
                    &discrete[k * act_dim]);
      else
        std::copy_n(&r.continuous_actions[row * static_cast<std::size_t>(r.action_dim)], act_dim,
                    &continuous[k * act_dim]);
      log_probs[k] = r.log_probs[row];
      values[k] = r.values[row];
      adv[k] = advantages[row];
      rets[k] = returns[row];
    }
    g.obs_normalizer.normalize(raw_obs.data(), B, obs.data());
    g.critic_normalizer.normalize(raw_critic.data(), B, critic.data());
    g.value_normalizer.update(rets.data(), B);
    for (std::size_t k = 0; k < rows.size(); ++k) {
      targets[k] = g.value_normalizer.normalize(rets[k]);
      old_values[k] = g.value_normalizer.normalize(values[k]);
    }

    UpdateBatch batch;
    batch.obs =
        torch::from_blob(obs.data(), {B, static_cast<std::int64_t>(in_dim)}, torch::kFloat32);
    batch.critic_inputs = torch::from_blob(
        critic.data(), {B, static_cast<std::int64_t>(critic_dim)}, torch::kFloat32);
    batch.actions =
        space.is_discrete()
            ? action_indices(space, discrete.data(), B, static_cast<std::int64_t>(act_dim))
            : torch::from_blob(continuous.data(), {B, static_cast<std::int64_t>(act_dim)},
                               torch::kFloat32);
    batch.old_log_probs = torch::from_blob(log_probs.data(), {B}, torch::kFloat32);
    batch.old_values = torch::from_blob(old_values.data(), {B}, torch::kFloat32);
    batch.advantages = torch::from_blob(adv.data(), {B}, torch::kFloat32);
    batch.returns = torch::from_blob(targets.data(), {B}, torch::kFloat32);
    UpdateStats stats = run_policy_update(*g.net, *g.optimizer, g.trust_region, ppo_, rng_, batch,
                                          progress_remaining, collective_);
    stats.explained_variance = explained_variance(values, rets);
    group_stats.push_back(stats);

    g.obs_normalizer.update(raw_obs.data(), B);
    g.critic_normalizer.update(raw_critic.data(), B);
  }
  ++version_;
  return UpdateStats::combine(group_stats);
}

void MappoLearner::save(ByteWriter& out) const {
  out.put<std::uint32_t>(static_cast<std::uint32_t>(groups_.size()));
  for (const auto& g : groups_) g->save(out);
  reward_scaler_.save(out);
  out.put(rng_.state());
  out.put(version_);
}

void MappoLearner::load(ByteReader& in) {
  if (in.get<std::uint32_t>() != groups_.size())
    throw Error("the checkpoint has a different number of agent groups");
  for (auto& g : groups_) g->load(in);
  reward_scaler_.load(in);
  rng_.set_state(in.get<Rng::State>());
  version_ = in.get<std::int64_t>();
}

}  // namespace trustrl::agents
