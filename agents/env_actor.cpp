#include "agents/env_actor.h"

#include <algorithm>
#include <cmath>

#include "agents/policy_snapshot.h"
#include "core/error.h"

namespace trustrl::agents {

EnvActor::EnvActor(std::unique_ptr<envs::VectorEnv> env, std::uint64_t seed, std::uint64_t stream)
    : env_(std::move(env)), stream_(stream), rng_(Rng::derive(seed, stream)) {
  env_->reset(seed);
}

int EnvActor::critic_width(const envs::MultiAgentSpec& spec, CriticInput input, bool agent_id) {
  int width = 0;
  if (input != CriticInput::kObservation) width += static_cast<int>(spec.state_dim());
  if (input != CriticInput::kState) width += static_cast<int>(spec.max_obs_dim());
  if (agent_id) width += spec.num_agents();
  return width;
}

void EnvActor::write_critic_input(const envs::MultiAgentSpec& spec, CriticInput input,
                                  bool agent_id, const float* state, const float* observation,
                                  int agent, float* out) {
  if (input != CriticInput::kObservation) out = std::copy(state, state + spec.state_dim(), out);
  if (input != CriticInput::kState)
    out = std::copy(observation, observation + spec.max_obs_dim(), out);
  if (agent_id) {
    std::fill(out, out + spec.num_agents(), 0.0f);
    out[agent] = 1.0f;
  }
}

void check_policy_fits(const PolicySnapshot& snapshot, const envs::MultiAgentSpec& spec) {
  std::vector<int> group_of;
  group_of.assign(static_cast<std::size_t>(spec.num_agents()), -1);
  for (std::size_t g = 0; g < snapshot.groups.size(); ++g)
    for (int a : snapshot.groups[g].agents) {
      if (a < 0 || a >= spec.num_agents() || group_of[static_cast<std::size_t>(a)] != -1)
        throw Error("the policy's agent groups do not fit " + spec.id + "'s " +
                    std::to_string(spec.num_agents()) + " agents");
      group_of[static_cast<std::size_t>(a)] = static_cast<int>(g);
    }
  for (int a = 0; a < spec.num_agents(); ++a)
    if (group_of[static_cast<std::size_t>(a)] < 0)
      throw Error("the policy has no group for agent " +
                  spec.agent_names[static_cast<std::size_t>(a)]);
  for (const auto& g : snapshot.groups) {
    if (g.num_agents != spec.num_agents())
      throw Error("the policy was trained for " + std::to_string(g.num_agents) + " agents; " +
                  spec.id + " has " + std::to_string(spec.num_agents()));
    if (g.critic_input_dim() != EnvActor::critic_width(spec, g.critic_input, g.agent_id_input))
      throw Error("the policy's critic takes " + std::to_string(g.critic_input_dim()) +
                  " inputs; " + spec.id + " gives " +
                  std::to_string(EnvActor::critic_width(spec, g.critic_input, g.agent_id_input)));
    for (const int a : g.agents) {
      const std::string& name = spec.agent_names[static_cast<std::size_t>(a)];
      if (g.obs_dim() != spec.obs_dim(a))
        throw Error("the policy takes " + std::to_string(g.obs_dim()) +
                    " observation values for agent " + name + "; " + spec.id + " gives " +
                    std::to_string(spec.obs_dim(a)));
      if (!(g.weights.action_space == spec.action_spaces[static_cast<std::size_t>(a)]))
        throw Error("the policy acts in " + g.weights.action_space.describe() + " for agent " +
                    name + "; " + spec.id + " takes " +
                    spec.action_spaces[static_cast<std::size_t>(a)].describe());
    }
  }
}

void EnvActor::set_policy(const PolicySnapshot& snapshot) {
  const envs::MultiAgentSpec& spec = env_->spec();
  if (env_->single_agent()) check_policy_fits(snapshot, env_->single_agent_spec());
  check_policy_fits(snapshot, spec);
  group_of_.assign(static_cast<std::size_t>(spec.num_agents()), -1);
  for (std::size_t g = 0; g < snapshot.groups.size(); ++g)
    for (int a : snapshot.groups[g].agents)
      group_of_[static_cast<std::size_t>(a)] = static_cast<int>(g);
  groups_ = snapshot.groups;
  version_ = snapshot.version;
  policies_.clear();
  for (const auto& g : groups_) policies_.emplace_back(g.weights);
  exploration_.assign(groups_.size(), {});
}

void EnvActor::group_values(std::size_t g, const float* critic_rows, int rows, float* out) {
  const GroupPolicy& group = groups_[g];
  normalized_critic_.resize(static_cast<std::size_t>(rows) *
                            static_cast<std::size_t>(group.critic_input_dim()));
  group.critic_normalizer.normalize(critic_rows, rows, normalized_critic_.data());
  policies_[g].values(normalized_critic_.data(), rows, out);
  for (int i = 0; i < rows; ++i) out[i] = group.value_normalizer.denormalize(out[i]);
}

void EnvActor::act(bool deterministic, Rollout* out, int t) {
  const envs::MultiAgentSpec& spec = env_->spec();
  const envs::StepBuffers& b = env_->buffers();
  const int n = env_->num_envs(), agents = spec.num_agents();
  const auto max_obs = static_cast<std::size_t>(spec.max_obs_dim());
  const auto max_act = static_cast<std::size_t>(spec.max_action_dim());
  const auto state_dim = static_cast<std::size_t>(spec.state_dim());
  joint_discrete_.assign(
      spec.has_discrete_actions() ? static_cast<std::size_t>(n * agents) * max_act : 0,
      envs::kNoDiscreteAction);
  joint_continuous_.assign(
      spec.has_continuous_actions() ? static_cast<std::size_t>(n * agents) * max_act : 0,
      envs::kNoContinuousAction);
  const std::size_t step_rows = static_cast<std::size_t>(t) * static_cast<std::size_t>(n * agents);

  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const GroupPolicy& group = groups_[g];
    const int members = static_cast<int>(group.agents.size());
    const int rows = n * members;
    const auto in_dim = static_cast<std::size_t>(group.actor_input_dim());
    const auto critic_dim = static_cast<std::size_t>(group.critic_input_dim());
    // The global state alone is one critic row per copy for all the group's agents: valued once.
    const bool shared = critic_row_per_step(group.critic_input, group.agent_id_input);
    auto critic_row = [&](int i, std::size_t r) {
      return shared ? static_cast<std::size_t>(i) : r;
    };
    const int critic_rows = shared ? n : rows;
    inputs_.resize(static_cast<std::size_t>(rows) * in_dim);
    critic_rows_.resize(static_cast<std::size_t>(critic_rows) * critic_dim);
    for (int i = 0; i < n; ++i)
      for (int m = 0; m < members; ++m) {
        const int a = group.agents[static_cast<std::size_t>(m)];
        const auto r = static_cast<std::size_t>(i * members + m);
        const float* obs = &b.observations[(static_cast<std::size_t>(i * agents + a)) * max_obs];
        write_actor_input(group, obs, a, &inputs_[r * in_dim]);
        if (out && (!shared || m == 0))  // the critic's rows serve the rollout only
          write_critic_input(spec, group.critic_input, group.agent_id_input,
                             b.states.data() + static_cast<std::size_t>(i) * state_dim, obs, a,
                             &critic_rows_[critic_row(i, r) * critic_dim]);
      }
    // gSDE's noise is drawn at the start of every rollout and, if asked, every few steps (SB3).
    const PolicyWeights& w = group.weights;
    const bool explore = out && w.gsde;
    if (explore && (t == 0 || (w.gsde_sample_freq > 0 && t % w.gsde_sample_freq == 0)))
      policies_[g].draw_exploration(rows, rng_, exploration_[g]);
    group.obs_normalizer.normalize(inputs_.data(), rows, inputs_.data());
    policies_[g].act(inputs_.data(), rows, deterministic, rng_, act_,
                     explore ? exploration_[g].data() : nullptr);
    if (out) {
      values_.resize(static_cast<std::size_t>(critic_rows));
      group_values(g, critic_rows_.data(), critic_rows, values_.data());
    }
    const envs::Space& space = group.weights.action_space;
    const auto dim = static_cast<std::size_t>(space.flat_dim());
    for (int i = 0; i < n; ++i)
      for (int m = 0; m < members; ++m) {
        const int a = group.agents[static_cast<std::size_t>(m)];
        const auto r = static_cast<std::size_t>(i * members + m);
        const auto slot = static_cast<std::size_t>(i * agents + a);
        const bool active = b.active[slot] != 0;
        if (out) {
          const std::size_t c = critic_row(i, r);
          if (out->critic_dim > 0)
            std::copy(&critic_rows_[c * critic_dim], &critic_rows_[c * critic_dim] + critic_dim,
                      &out->critic_inputs[(step_rows + slot) * critic_dim]);
          // Inactive agents contribute nothing: zero log-prob, value and action.
          out->log_probs[step_rows + slot] = active ? act_.log_probs[r] : 0.0f;
          out->values[step_rows + slot] = active ? values_[c] : 0.0f;
        }
        if (!active) continue;
        if (space.is_discrete()) {
          std::copy_n(&act_.discrete_actions[r * dim], dim, &joint_discrete_[slot * max_act]);
          if (out)
            std::copy_n(&act_.discrete_actions[r * dim], dim,
                        &out->discrete_actions[(step_rows + slot) * max_act]);
        } else {
          if (out)
            std::copy_n(&act_.continuous_actions[r * dim], dim,
                        &out->continuous_actions[(step_rows + slot) * max_act]);
          // Clipped only at the env boundary; the rollout keeps the sample.
          for (std::size_t k = 0; k < dim; ++k)
            joint_continuous_[slot * max_act + k] =
                std::clamp(act_.continuous_actions[r * dim + k], space.low[k], space.high[k]);
          std::fill(&joint_continuous_[slot * max_act + dim],
                    &joint_continuous_[slot * max_act + max_act], 0.0f);
        }
      }
  }
}

void EnvActor::step(bool deterministic) {
  act(deterministic, nullptr, 0);
  env_->step({joint_discrete_, joint_continuous_});
  env_steps_ += env_->num_envs();
}

void EnvActor::collect(int steps, Rollout& out) {
  if (groups_.empty()) throw Error("actor has no policy yet");
  const envs::MultiAgentSpec& spec = env_->spec();
  const int n = env_->num_envs(), agents = spec.num_agents();
  const auto max_obs = static_cast<std::size_t>(spec.max_obs_dim());
  const auto state_dim = static_cast<std::size_t>(spec.state_dim());
  const int critic_dim = groups_.front().critic_input_dim();
  for (const auto& g : groups_)
    if (g.critic_input_dim() != critic_dim)
      throw Error("agent groups must share one critic input width");
  // A plain env's rollout is PPO's: the critic reads the observation rows (critic_dim 0) and
  // the one agent is always active (no mask).
  const bool plain = env_->single_agent();
  out.allocate(steps, n, agents, static_cast<int>(max_obs), static_cast<int>(spec.max_action_dim()),
               spec.has_discrete_actions(), plain ? 0 : critic_dim, spec.has_continuous_actions());
  if (!plain) out.active.assign(static_cast<std::size_t>(out.rows()), 1);
  out.policy_version = version_;
  std::vector<float> row(static_cast<std::size_t>(critic_dim));
  // V of agent `a` of one copy from the copy's state and the agent's observation. A group whose
  // critic reads the state alone values it once per copy: call forget_copy() between copies.
  std::vector<float> copy_value(groups_.size());
  std::vector<std::uint8_t> valued(groups_.size());
  auto forget_copy = [&] { std::fill(valued.begin(), valued.end(), 0); };
  auto value_of = [&](int a, const float* state, const float* observation) {
    const std::size_t g = static_cast<std::size_t>(group_of_[static_cast<std::size_t>(a)]);
    const GroupPolicy& group = groups_[g];
    if (!valued[g] || !critic_row_per_step(group.critic_input, group.agent_id_input)) {
      write_critic_input(spec, group.critic_input, group.agent_id_input, state, observation, a,
                         row.data());
      group_values(g, row.data(), 1, &copy_value[g]);
      valued[g] = 1;
    }
    return copy_value[g];
  };

  for (int t = 0; t < steps; ++t) {
    const envs::StepBuffers& b = env_->buffers();
    const std::size_t step_rows =
        static_cast<std::size_t>(t) * static_cast<std::size_t>(n * agents);
    std::copy(b.observations.begin(), b.observations.end(),
              out.observations.begin() + static_cast<std::ptrdiff_t>(step_rows * max_obs));
    if (!plain)
      std::copy(b.active.begin(), b.active.end(),
                out.active.begin() + static_cast<std::ptrdiff_t>(step_rows));
    act(false, &out, t);
    env_->step({joint_discrete_, joint_continuous_});
    env_steps_ += n;

    const envs::StepBuffers& s = env_->buffers();
    for (int i = 0; i < n; ++i) {
      const auto k = static_cast<std::size_t>(i);
      out.terminated[static_cast<std::size_t>(t * n + i)] = s.terminated[k];
      out.truncated[static_cast<std::size_t>(t * n + i)] = s.truncated[k];
      for (int a = 0; a < agents; ++a) {
        const auto slot = k * static_cast<std::size_t>(agents) + static_cast<std::size_t>(a);
        out.rewards[step_rows + slot] = static_cast<float>(s.rewards[slot]);
      }
      if (!s.done(i)) continue;
      double mean = 0;
      for (int a = 0; a < agents; ++a)
        mean += s.agent_episode_returns[k * static_cast<std::size_t>(agents) +
                                        static_cast<std::size_t>(a)];
      out.episodes.push_back({mean / agents, s.episode_lengths[k], s.episode_returns[k]});
      // Bootstrap a cut episode's agents that were still alive at its end.
      if (s.truncated[k] && !s.terminated[k]) {
        forget_copy();
        for (int a = 0; a < agents; ++a) {
          const auto slot = k * static_cast<std::size_t>(agents) + static_cast<std::size_t>(a);
          if (!s.final_active[slot]) continue;
          out.final_values[step_rows + slot] = value_of(a, s.final_states.data() + k * state_dim,
                                                        &s.final_observations[slot * max_obs]);
        }
      }
    }
  }
  // V(s_T) of the agents alive after the last step.
  const envs::StepBuffers& b = env_->buffers();
  for (int i = 0; i < n; ++i) {
    forget_copy();
    for (int a = 0; a < agents; ++a) {
      const auto slot = static_cast<std::size_t>(i * agents + a);
      if (!b.active[slot]) continue;
      out.bootstrap_values[slot] =
          value_of(a, b.states.data() + static_cast<std::size_t>(i) * state_dim,
                   &b.observations[slot * max_obs]);
    }
  }
}

void EnvActor::save(ByteWriter& out) const {
  env_->save(out);
  out.put(rng_.state());
  out.put(env_steps_);
}

void EnvActor::load(ByteReader& in) {
  env_->load(in);
  rng_.set_state(in.get<Rng::State>());
  env_steps_ = in.get<std::int64_t>();
}

void EnvActor::restart(std::uint64_t seed) {
  env_->reset(seed);
  rng_.reseed(Rng::derive(seed, stream_));
}

}  // namespace trustrl::agents
