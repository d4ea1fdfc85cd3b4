#include "server/distributed/learner_convert.h"

#include <cmath>

#include "agents/rollout_columns.h"
#include "core/error.h"

namespace trustrl::server {

namespace {

template <class T, class Field>
std::vector<T> copy_field(const Field& field) {
  return std::vector<T>(field.begin(), field.end());
}

template <class Field, class T>
void put_field(Field* field, const std::vector<T>& values) {
  field->Reserve(static_cast<int>(values.size()));
  for (const T& v : values) field->Add(v);
}

void check_header(const char* name, std::int64_t got, std::int64_t want) {
  if (got != want)
    throw Error(std::string("rollout.") + name + " is " + std::to_string(got) +
                ", this run's rollouts have " + std::to_string(want));
}

// Whether `value` is a valid component `k` of an action from `space`.
bool in_space(const envs::Space& space, std::size_t k, std::int64_t value) {
  if (space.kind == envs::SpaceKind::kDiscrete)
    return value >= space.start && value < space.start + space.n;
  if (space.kind == envs::SpaceKind::kMultiDiscrete) return value >= 0 && value < space.nvec[k];
  return true;
}

}  // namespace

RolloutShape rollout_shape(const envs::EnvSpec& spec, int num_steps) {
  RolloutShape s;
  s.num_steps = num_steps;
  s.obs_dim = static_cast<int>(spec.observation_space.flat_dim());
  s.action_dim = static_cast<int>(spec.action_space.flat_dim());
  s.action_spaces = {spec.action_space};
  s.discrete = spec.action_space.is_discrete();
  s.continuous = !s.discrete;
  return s;
}

RolloutShape rollout_shape(const envs::MultiAgentSpec& spec, int num_steps, int critic_dim) {
  RolloutShape s;
  s.num_steps = num_steps;
  s.multi_agent = true;
  s.num_agents = spec.num_agents();
  s.obs_dim = static_cast<int>(spec.max_obs_dim());
  s.action_dim = static_cast<int>(spec.max_action_dim());
  s.critic_dim = critic_dim;
  s.action_spaces = spec.action_spaces;
  s.discrete = spec.has_discrete_actions();
  s.continuous = spec.has_continuous_actions();
  return s;
}

void to_wire(const agents::Rollout& r, learner_wire::Rollout* out) {
  out->set_num_steps(r.num_steps);
  out->set_num_envs(r.num_envs);
  out->set_num_agents(r.num_agents);
  out->set_obs_dim(r.obs_dim);
  out->set_action_dim(r.action_dim);
  out->set_critic_dim(r.critic_dim);
  out->set_policy_version(r.policy_version);
  put_field(out->mutable_observations(), r.observations);
  put_field(out->mutable_critic_inputs(), r.critic_inputs);
  put_field(out->mutable_discrete_actions(), r.discrete_actions);
  put_field(out->mutable_continuous_actions(), r.continuous_actions);
  put_field(out->mutable_log_probs(), r.log_probs);
  put_field(out->mutable_values(), r.values);
  put_field(out->mutable_rewards(), r.rewards);
  for (auto v : r.terminated) out->add_terminated(v != 0);
  for (auto v : r.truncated) out->add_truncated(v != 0);
  put_field(out->mutable_final_values(), r.final_values);
  put_field(out->mutable_bootstrap_values(), r.bootstrap_values);
  for (auto v : r.active) out->add_active(v != 0);
  for (const auto& e : r.episodes) {
    auto* episode = out->add_episodes();
    episode->set_episode_return(e.episode_return);
    episode->set_length(e.length);
    episode->set_team_return(e.team_return);
  }
}

agents::Rollout from_wire(const learner_wire::Rollout& m, const RolloutShape& shape, int num_envs) {
  check_header("num_steps", m.num_steps(), shape.num_steps);
  check_header("num_envs", m.num_envs(), num_envs);
  check_header("num_agents", m.num_agents(), shape.num_agents);
  check_header("obs_dim", m.obs_dim(), shape.obs_dim);
  check_header("action_dim", m.action_dim(), shape.action_dim);
  check_header("critic_dim", m.critic_dim(), shape.critic_dim);
  if (shape.discrete && m.discrete_actions().empty())
    throw Error("rollout.discrete_actions is empty; this run's env has discrete actions");
  if (!shape.discrete && !m.discrete_actions().empty())
    throw Error("rollout.discrete_actions is set; this run's env has no discrete actions");
  if (shape.continuous && m.continuous_actions().empty())
    throw Error("rollout.continuous_actions is empty; this run's env has continuous actions");
  if (!shape.continuous && !m.continuous_actions().empty())
    throw Error("rollout.continuous_actions is set; this run's env has no continuous actions");
  if (shape.multi_agent && m.active().empty())
    throw Error("rollout.active is empty; a multi-agent rollout needs it");
  if (!shape.multi_agent && !m.active().empty())
    throw Error("rollout.active is set in a single-agent rollout");

  agents::Rollout r;
  r.num_steps = m.num_steps();
  r.num_envs = m.num_envs();
  r.num_agents = m.num_agents();
  r.obs_dim = m.obs_dim();
  r.action_dim = m.action_dim();
  r.critic_dim = m.critic_dim();
  r.policy_version = m.policy_version();
  r.observations = copy_field<float>(m.observations());
  r.critic_inputs = copy_field<float>(m.critic_inputs());
  r.discrete_actions = copy_field<std::int64_t>(m.discrete_actions());
  r.continuous_actions = copy_field<float>(m.continuous_actions());
  r.log_probs = copy_field<float>(m.log_probs());
  r.values = copy_field<float>(m.values());
  r.rewards = copy_field<float>(m.rewards());
  r.terminated = copy_field<std::uint8_t>(m.terminated());
  r.truncated = copy_field<std::uint8_t>(m.truncated());
  r.final_values = copy_field<float>(m.final_values());
  r.bootstrap_values = copy_field<float>(m.bootstrap_values());
  r.active = copy_field<std::uint8_t>(m.active());
  for (const auto& e : m.episodes()) {
    if (!std::isfinite(e.episode_return()) || !std::isfinite(e.team_return()) || e.length() < 0)
      throw Error("rollout.episodes[" + std::to_string(r.episodes.size()) +
                  "] has a non-finite return or a negative length");
    r.episodes.push_back({e.episode_return(), e.length(), e.team_return()});
  }
  r.validate();  // sizes and finite values, naming the field

  // Discrete actions inside their spaces (of active agents: a dead agent's row is never used).
  if (!r.discrete_actions.empty()) {
    const auto rows = static_cast<std::size_t>(r.rows());
    const auto D = static_cast<std::size_t>(r.action_dim);
    for (std::size_t row = 0; row < rows; ++row) {
      if (!r.active.empty() && !r.active[row]) continue;
      const auto agent = row % static_cast<std::size_t>(r.num_agents);
      const envs::Space& space = shape.action_spaces[agent];
      if (!space.is_discrete()) continue;
      const auto dim = static_cast<std::size_t>(space.flat_dim());
      for (std::size_t k = 0; k < dim; ++k) {
        const std::int64_t value = r.discrete_actions[row * D + k];
        if (!in_space(space, k, value))
          throw Error("rollout.discrete_actions row " + std::to_string(row) + " (agent " +
                      std::to_string(agent) + ") is " + std::to_string(value) + ", outside " +
                      space.describe());
      }
    }
  }
  if (!agents::episodes_match_flags(r))
    throw Error("rollout.episodes has " + std::to_string(r.episodes.size()) +
                " records, but its terminated/truncated flags end a different number of episodes");
  return r;
}

std::int64_t max_rollout_bytes(const RolloutShape& s, int num_envs) {
  const std::int64_t rows = static_cast<std::int64_t>(s.num_steps) * num_envs * s.num_agents;
  const std::int64_t steps = static_cast<std::int64_t>(s.num_steps) * num_envs;
  // Packed floats take 4 bytes, int64 actions at most 10, bools 1, episodes about 25; doubled
  // for field tags and slack.
  const std::int64_t per_row =
      4 * (s.obs_dim + s.critic_dim + 5) + (s.discrete ? 10 : 4) * s.action_dim + 1;
  return 2 * (rows * per_row + steps * (2 + 25) +
              static_cast<std::int64_t>(num_envs) * s.num_agents * 4) +
         (1 << 16);
}

}  // namespace trustrl::server
