#include "agents/ppo.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "agents/critic_rows.h"
#include "agents/env_actor.h"
#include "agents/gae.h"
#include "agents/natural_gradient_step.h"
#include "core/error.h"

namespace trustrl::agents {

PpoLearner::PpoLearner(const PpoConfig& ppo, const NormalizeConfig& normalize, std::uint64_t seed,
                       int num_agents, bool plain_env)
    : ppo_(ppo),
      num_agents_(num_agents),
      plain_env_(plain_env),
      reward_scaler_(normalize.rewards, ppo.gamma, normalize.clip_reward, normalize.epsilon),
      rng_(Rng::derive(seed, 0x1EA2)) {}

PpoLearner::PpoLearner(const NetworkShape& shape, const PpoConfig& ppo,
                       const TrustRegionConfig& trust_region, const NetworkConfig& network,
                       const NormalizeConfig& normalize, std::uint64_t seed)
    : PpoLearner(ppo, normalize, seed, 1, /*plain_env=*/true) {
  if (shape.critic_input_dim != shape.obs_dim) throw Error("PPO's critic reads the observation");
  torch::manual_seed(seed);  // initial weights
  groups_.push_back(std::make_unique<GroupModel>(std::vector<int>{0}, shape, false, 1,
                                                 CriticInput::kObservation, ppo, trust_region,
                                                 network, normalize));
}

PpoLearner::PpoLearner(const envs::MultiAgentSpec& spec, const MappoConfig& mappo,
                       const PpoConfig& ppo, const TrustRegionConfig& trust_region,
                       const NetworkConfig& network, const NormalizeConfig& normalize,
                       std::uint64_t seed)
    : PpoLearner(ppo, normalize, seed, spec.num_agents(), /*plain_env=*/false) {
  if (mappo.critic_input != CriticInput::kObservation && spec.state_dim() == 0)
    throw ConfigError(
        "mappo.critic_input asks for a centralized critic on the global state, but " + spec.id +
        " has no global state; use mappo.critic_input: observation (independent PPO)");
  std::vector<envs::AgentGroup> groups = spec.agent_groups();
  if (!mappo.share_parameters) {  // one group per agent, in agent order
    groups.clear();
    for (int a = 0; a < spec.num_agents(); ++a)
      groups.push_back({{a},
                        spec.observation_spaces[static_cast<std::size_t>(a)],
                        spec.action_spaces[static_cast<std::size_t>(a)]});
  }
  // Sequential with shared policies: the shared policy takes one update per agent, each on that
  // agent's rows (HARL's share_param: true).
  if (mappo.update == MultiAgentUpdate::kSequential) update_mode_ = MultiAgentUpdate::kSequential;
  torch::manual_seed(seed);  // initial weights
  const int critic = EnvActor::critic_width(spec, mappo.critic_input, mappo.agent_id);
  for (const auto& group : groups) {
    NetworkShape shape;
    shape.obs_dim = group.observation_space.flat_dim() + (mappo.agent_id ? spec.num_agents() : 0);
    shape.critic_input_dim = critic;
    shape.action_space = group.action_space;
    groups_.push_back(std::make_unique<GroupModel>(group.agents, shape, mappo.agent_id,
                                                   spec.num_agents(), mappo.critic_input, ppo,
                                                   trust_region, network, normalize));
  }
}

void PpoLearner::set_reference(const PolicySnapshot& reference, const std::string& what) {
  if (reference.groups.size() != groups_.size())
    throw Error(what + " has " + std::to_string(reference.groups.size()) +
                " agent groups; the policy trained has " + std::to_string(groups_.size()));
  std::vector<FrozenPolicy> frozen;
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    const GroupModel& g = *groups_[i];
    const GroupPolicy& r = reference.groups[i];
    if (r.agents != g.agents || r.actor_input_dim() != g.net->shape().obs_dim ||
        !(r.weights.action_space == g.net->shape().action_space))
      throw Error(what + ": its agent group " + std::to_string(i) +
                  " differs from the trained policy's in agents, actor inputs (agent id "
                  "included) or action space");
    frozen.emplace_back(r, what);
  }
  references_ = std::move(frozen);
}

PolicySnapshot PpoLearner::snapshot() const {
  PolicySnapshot s;
  s.version = version_;
  for (const auto& g : groups_) s.groups.push_back(g->policy());
  return s;
}

torch::Tensor action_indices(const envs::Space& space, const std::int64_t* values,
                             std::int64_t rows, std::int64_t dim) {
  torch::Tensor t =
      torch::from_blob(const_cast<std::int64_t*>(values), {rows, dim}, torch::kInt64).clone();
  if (space.kind == envs::SpaceKind::kDiscrete && space.start != 0) t -= space.start;
  return t;
}

void PpoLearner::check(const Rollout& r) const {
  if (plain_env_ && r.num_agents != 1)
    throw Error("PPO takes single-agent rollouts; use algo: mappo for multi-agent envs");
  // A plain env's rollouts may omit the active masks: its one agent is always live.
  if (r.num_agents != num_agents_ ||
      (r.active.empty() ? !plain_env_ : r.active.size() != static_cast<std::size_t>(r.rows())))
    throw Error("MAPPO needs rollouts of " + std::to_string(num_agents_) +
                " agents with their active masks");
  for (const auto& g : groups_) {
    // Without critic inputs in the rollout, the critic reads the actor's input.
    const NetworkShape& shape = g->net->shape();
    const std::int64_t own_obs = shape.obs_dim - (g->agent_id_input ? num_agents_ : 0);
    if (own_obs > r.obs_dim)
      throw Error("the rollout has " + std::to_string(r.obs_dim) +
                  " observation values per agent; the policy reads " + std::to_string(own_obs));
    const std::int64_t critic = r.critic_dim > 0 ? r.critic_dim : shape.obs_dim;
    if (critic != shape.critic_input_dim)
      throw Error("the rollout gives the critic " + std::to_string(critic) +
                  " inputs per agent; its network takes " + std::to_string(shape.critic_input_dim));
  }
}

UpdateStats PpoLearner::update(const Rollout& r, double progress_remaining, std::int64_t source) {
  check(r);
  const std::int64_t T = r.num_steps, N = r.num_envs, A = num_agents_, C = N * A;

  // Rewards scaled per (copy, agent) stream (a copy; the rollout stays raw); GAE per agent on
  // values in reward units (the actor denormalized them, and wrote zero values for dead agents,
  // so an agent that dies stops its own return there). Dead rows carry nothing: zero reward and
  // value, whatever they hold, so that no dead agent's data can reach a live sample's advantage.
  std::vector<float> rewards = r.rewards, values = r.values;
  if (!r.active.empty())
    for (std::size_t i = 0; i < rewards.size(); ++i)
      if (!r.active[i]) rewards[i] = values[i] = 0.0f;
  std::vector<std::uint8_t> dones(static_cast<std::size_t>(T * C));
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t c = 0; c < C; ++c)
      dones[static_cast<std::size_t>(t * C + c)] =
          r.terminated[static_cast<std::size_t>(t * N + c / A)] |
          r.truncated[static_cast<std::size_t>(t * N + c / A)];
  reward_scaler_.scale(source, T, C, rewards.data(), dones.data());
  std::vector<float> advantages, returns;
  compute_gae({T, C, A, rewards.data(), values.data(), r.terminated.data(), r.truncated.data(),
               r.final_values.data(), r.bootstrap_values.data(), ppo_.gamma, ppo_.gae_lambda},
              advantages, returns);

  if (update_mode_ == MultiAgentUpdate::kSequential) {
    UpdateStats::Sequential log;
    UpdateStats stats =
        UpdateStats::combine(update_sequentially(r, advantages, returns, progress_remaining, log));
    stats.sequential = std::move(log);
    ++version_;
    return stats;
  }
  std::vector<UpdateStats> group_stats;
  for (auto& g : groups_)
    group_stats.push_back(update_group(*g, r, advantages, returns, progress_remaining));
  ++version_;
  return UpdateStats::combine(group_stats);
}

std::vector<UpdateStats> PpoLearner::update_sequentially(const Rollout& r,
                                                         const std::vector<float>& advantages,
                                                         const std::vector<float>& returns,
                                                         double progress_remaining,
                                                         UpdateStats::Sequential& log) {
  // A fresh random order of the agents every update (Kuba et al. 2022, algorithm 1), drawn from
  // the learner's RNG so that a resumed run draws the same orders.
  const auto A = static_cast<std::size_t>(num_agents_);
  std::vector<std::size_t> group_of(A);
  for (std::size_t g = 0; g < groups_.size(); ++g)
    for (const int a : groups_[g]->agents) group_of[static_cast<std::size_t>(a)] = g;
  log.order.resize(A);
  std::iota(log.order.begin(), log.order.end(), 0);
  for (std::size_t i = A - 1; i > 0; --i)
    std::swap(log.order[i], log.order[rng_.below(static_cast<std::uint64_t>(i + 1))]);
  log.factor_mean.assign(A, 1.0);
  log.factor_min.assign(A, 1.0);
  log.factor_max.assign(A, 1.0);

  // M per env step: the product over the agents updated so far of pi_new / pi_old of their own
  // actions at that step (detached; an agent that is not live took no action and contributes 1).
  const auto steps = static_cast<std::size_t>(r.env_steps());
  std::vector<float> factor(steps, 1.0f), ratio(steps);
  std::vector<UpdateStats> stats(A);
  std::vector<PendingInputs> pending(groups_.size());
  // The natural-gradient mode trains a group's critic once, after its last agent in the order.
  std::vector<std::size_t> last_of_group(groups_.size());
  for (std::size_t m = 0; m < A; ++m)
    last_of_group[group_of[static_cast<std::size_t>(log.order[m])]] = m;
  for (std::size_t m = 0; m < A; ++m) {
    const int agent = log.order[m];
    const auto a = static_cast<std::size_t>(agent);
    const std::size_t g = group_of[a];
    GroupModel& group = *groups_[g];
    const bool critic_apart = group.trust_region.natural_gradient();
    SequentialWeights weights{factor, ratio};
    stats[a] = update_group(group, r, advantages, returns, progress_remaining, &weights,
                            std::span(&agent, 1), &pending[g],
                            critic_apart ? UpdateParts::kPolicy : UpdateParts::kPolicyAndCritic);
    if (critic_apart && last_of_group[g] == m) {
      const UpdateStats critic = update_group(group, r, advantages, returns, progress_remaining,
                                              nullptr, {}, nullptr, UpdateParts::kCritic);
      // Each of the group's agents reports its critic's loss; the minibatches are counted once.
      for (const int b : group.agents) {
        stats[static_cast<std::size_t>(b)].value_loss = critic.value_loss;
        stats[static_cast<std::size_t>(b)].explained_variance = critic.explained_variance;
        stats[static_cast<std::size_t>(b)].epochs = critic.epochs;
      }
      stats[a].minibatches = critic.minibatches;
    }
    log.factor_mean[a] = weights.factor_mean;
    log.factor_min[a] = weights.factor_min;
    log.factor_max[a] = weights.factor_max;
    for (std::size_t i = 0; i < steps; ++i) {
      factor[i] *= ratio[i];
      if (!std::isfinite(factor[i]))
        throw NonFiniteStepError("mappo.update sequential: the weight M after agent " +
                                 std::to_string(agent) + "'s update is " +
                                 std::to_string(factor[i]) + " at env step " + std::to_string(i) +
                                 " (its ratio pi_new / pi_old is not finite)");
    }
  }
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    PendingInputs& p = pending[g];
    groups_[g]->obs_normalizer.update(p.obs.data(), p.rows);
    groups_[g]->critic_normalizer.update(p.critic.data(), p.rows);
  }
  return stats;
}

UpdateStats PpoLearner::update_group(GroupModel& g, const Rollout& r,
                                     const std::vector<float>& advantages,
                                     const std::vector<float>& returns, double progress_remaining,
                                     SequentialWeights* sequential, std::span<const int> agents,
                                     PendingInputs* pending, UpdateParts parts) {
  if (agents.empty()) agents = g.agents;
  const std::size_t A = static_cast<std::size_t>(num_agents_);
  const NetworkShape& shape = g.net->shape();
  const envs::Space& space = shape.action_space;
  const GroupPolicy layout = g.policy();
  const auto in_dim = static_cast<std::size_t>(shape.obs_dim);
  // Without critic inputs in the rollout the critic reads the actor's input (PPO).
  const bool own_critic_inputs = r.critic_dim > 0;
  const auto critic_dim = static_cast<std::size_t>(r.critic_dim);
  const auto act_dim = static_cast<std::size_t>(space.flat_dim());

  // The group's live samples (death masking: inactive rows are left out of every loss).
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < static_cast<std::size_t>(r.env_steps()); ++i)
    for (const int a : agents) {
      const std::size_t row = i * A + static_cast<std::size_t>(a);
      if (r.active.empty() || r.active[row]) rows.push_back(row);
    }
  const auto B = static_cast<std::int64_t>(rows.size());
  // A critic on the global state alone reads one row for all the group's agents of an env step:
  // the batch holds it once per step and each sample its index (agents/critic_rows.h).
  const bool shared_critic = own_critic_inputs &&
                             critic_row_per_step(g.critic_input, g.agent_id_input) &&
                             agents.size() > 1;
  std::vector<std::int64_t> critic_index(shared_critic ? rows.size() : 0);
  std::vector<float> raw_obs(rows.size() * in_dim), obs(rows.size() * in_dim),
      raw_critic(rows.size() * critic_dim), distinct_critic, log_probs(rows.size()),
      values(rows.size()), adv(rows.size()), rets(rows.size()), targets(rows.size()),
      old_values(rows.size());
  std::vector<std::int64_t> discrete(space.is_discrete() ? rows.size() * act_dim : 0);
  std::vector<float> continuous(space.is_discrete() ? 0 : rows.size() * act_dim);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const std::size_t row = rows[k];
    const int agent = static_cast<int>(row % A);
    write_actor_input(layout, &r.observations[row * static_cast<std::size_t>(r.obs_dim)], agent,
                      &raw_obs[k * in_dim]);
    const float* critic_row = r.critic_inputs.data() + row * critic_dim;
    std::copy_n(critic_row, critic_dim, raw_critic.data() + k * critic_dim);
    if (shared_critic) {
      if (k == 0 || row / A != rows[k - 1] / A) {
        distinct_critic.insert(distinct_critic.end(), critic_row, critic_row + critic_dim);
      } else if (!std::equal(critic_row, critic_row + critic_dim,
                             distinct_critic.end() - static_cast<std::ptrdiff_t>(critic_dim))) {
        throw Error("the rollout's critic inputs differ between agents of env step " +
                    std::to_string(row / A) +
                    " though the critic reads the global state alone (mappo.critic_input: state)");
      }
      critic_index[k] = static_cast<std::int64_t>(distinct_critic.size() / critic_dim) - 1;
    }
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
  // Inputs normalized with the statistics the actor acted with; value targets and old values in
  // the critic's units.
  g.obs_normalizer.normalize(raw_obs.data(), B, obs.data());
  const std::vector<float>& critic_rows = shared_critic ? distinct_critic : raw_critic;
  const auto S = static_cast<std::int64_t>(critic_dim ? critic_rows.size() / critic_dim : 0);
  std::vector<float> critic(critic_rows.size());
  if (own_critic_inputs) g.critic_normalizer.normalize(critic_rows.data(), S, critic.data());
  // Only a pass that trains the critic moves its target statistics (once per update and group).
  if (parts != UpdateParts::kPolicy) g.value_normalizer.update(rets.data(), B);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    targets[k] = g.value_normalizer.normalize(rets[k]);
    old_values[k] = g.value_normalizer.normalize(values[k]);
  }

  UpdateBatch batch;
  batch.obs = torch::from_blob(obs.data(), {B, static_cast<std::int64_t>(in_dim)}, torch::kFloat32);
  batch.critic_inputs =
      own_critic_inputs
          ? torch::from_blob(critic.data(), {S, static_cast<std::int64_t>(critic_dim)},
                             torch::kFloat32)
          : batch.obs;
  if (shared_critic)
    batch.critic_input_index = torch::from_blob(critic_index.data(), {B}, torch::kInt64);
  batch.actions =
      space.is_discrete()
          ? action_indices(space, discrete.data(), B, static_cast<std::int64_t>(act_dim))
          : torch::from_blob(continuous.data(), {B, static_cast<std::int64_t>(act_dim)},
                             torch::kFloat32);
  batch.old_log_probs = torch::from_blob(log_probs.data(), {B}, torch::kFloat32);
  batch.old_values = torch::from_blob(old_values.data(), {B}, torch::kFloat32);
  batch.advantages = torch::from_blob(adv.data(), {B}, torch::kFloat32);
  batch.returns = torch::from_blob(targets.data(), {B}, torch::kFloat32);
  if (!references_.empty() && parts != UpdateParts::kCritic) {
    std::size_t index = 0;
    while (groups_[index].get() != &g) ++index;
    batch.reference = references_[index].distribution(raw_obs.data(), B);
  }
  UpdateStats stats = sequential
                          ? update_weighted(g, batch, rows, progress_remaining, *sequential, parts)
                          : run_policy_update(*g.net, *g.optimizer, g.trust_region, ppo_, rng_,
                                              batch, progress_remaining, collective_, parts);
  if (parts != UpdateParts::kPolicy) stats.explained_variance = explained_variance(values, rets);
  if (parts == UpdateParts::kCritic) return stats;

  // The statistics move only now, so this update saw exactly what the actor saw.
  const std::vector<float>& critic_seen = own_critic_inputs ? raw_critic : raw_obs;
  if (pending != nullptr) {
    pending->obs.insert(pending->obs.end(), raw_obs.begin(), raw_obs.end());
    pending->critic.insert(pending->critic.end(), critic_seen.begin(), critic_seen.end());
    pending->rows += B;
    return stats;
  }
  g.obs_normalizer.update(raw_obs.data(), B);
  g.critic_normalizer.update(critic_seen.data(), B);
  return stats;
}

UpdateStats PpoLearner::update_weighted(GroupModel& g, const UpdateBatch& batch,
                                        const std::vector<std::size_t>& rows,
                                        double progress_remaining, SequentialWeights& sequential,
                                        UpdateParts parts) {
  const std::size_t A = static_cast<std::size_t>(num_agents_);
  const std::int64_t B = batch.rows();

  // Sequential (HARL's happo / hatrpo): advantages normalized over the group's whole batch, then
  // multiplied by M, which the clipped or natural-gradient surrogate then reads as it is (so the
  // update's own per-minibatch normalization is off). M is detached: plain numbers here.
  std::vector<float> row_factor(rows.size());
  std::vector<std::size_t> row_step(rows.size());
  for (std::size_t k = 0; k < rows.size(); ++k) {
    row_step[k] = rows[k] / A;
    row_factor[k] = sequential.factor[row_step[k]];
  }
  const torch::Tensor factor = torch::from_blob(row_factor.data(), {B}, torch::kFloat32);
  if (B > 0) {
    sequential.factor_mean = factor.mean().item<double>();
    sequential.factor_min = factor.min().item<double>();
    sequential.factor_max = factor.max().item<double>();
  }
  torch::Tensor weighted = batch.advantages;
  if (ppo_.norm_adv && B > 1) weighted = (weighted - weighted.mean()) / (weighted.std() + 1e-8);
  weighted = (weighted * factor).contiguous();
  UpdateBatch weighted_batch = batch;
  weighted_batch.advantages = weighted;
  PpoConfig ppo = ppo_;
  ppo.norm_adv = false;

  // pi_old is this group's policy before its update, evaluated now (as HARL does), so that the
  // ratio is the update's own and not the actor's staleness.
  torch::Tensor before;
  if (B > 0) {
    torch::NoGradGuard no_grad;
    before = g.net->distribution(batch.obs).log_prob(batch.actions);
  }
  UpdateStats stats = run_policy_update(*g.net, *g.optimizer, g.trust_region, ppo, rng_,
                                        weighted_batch, progress_remaining, collective_, parts);
  std::fill(sequential.ratio.begin(), sequential.ratio.end(), 1.0f);
  if (B > 0) {
    torch::NoGradGuard no_grad;
    const torch::Tensor ratio =
        torch::exp(g.net->distribution(batch.obs).log_prob(batch.actions) - before).contiguous();
    const float* p = ratio.data_ptr<float>();
    for (std::size_t k = 0; k < rows.size(); ++k) sequential.ratio[row_step[k]] *= p[k];
  }
  return stats;
}

void PpoLearner::save(ByteWriter& out) const {
  if (!plain_env_) out.put<std::uint32_t>(static_cast<std::uint32_t>(groups_.size()));
  for (const auto& g : groups_) g->save(out);
  reward_scaler_.save(out);
  out.put(rng_.state());
  out.put(version_);
}

void PpoLearner::load(ByteReader& in) {
  if (!plain_env_ && in.get<std::uint32_t>() != groups_.size())
    throw Error("the checkpoint has a different number of agent groups");
  for (auto& g : groups_) g->load(in);
  reward_scaler_.load(in);
  rng_.set_state(in.get<Rng::State>());
  version_ = in.get<std::int64_t>();
}

}  // namespace trustrl::agents
