#include "agents/rollout.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace trustrl::agents {

void Rollout::allocate(int steps, int envs, int agents, int obs, int action, bool discrete,
                       int critic, bool continuous_too) {
  num_steps = steps;
  num_envs = envs;
  num_agents = agents;
  obs_dim = obs;
  action_dim = action;
  critic_dim = critic;
  const auto r = static_cast<std::size_t>(rows());
  const auto tn = static_cast<std::size_t>(env_steps());
  observations.assign(r * static_cast<std::size_t>(obs), 0.0f);
  critic_inputs.assign(r * static_cast<std::size_t>(critic), 0.0f);
  discrete_actions.assign(discrete ? r * static_cast<std::size_t>(action) : 0, 0);
  continuous_actions.assign(discrete && !continuous_too ? 0 : r * static_cast<std::size_t>(action),
                            0.0f);
  log_probs.assign(r, 0.0f);
  values.assign(r, 0.0f);
  rewards.assign(r, 0.0f);
  terminated.assign(tn, 0);
  truncated.assign(tn, 0);
  final_values.assign(r, 0.0f);
  bootstrap_values.assign(static_cast<std::size_t>(envs) * static_cast<std::size_t>(agents), 0.0f);
  active.assign(agents > 1 ? r : 0, 1);
  episodes.clear();
}

namespace {
void check_size(const char* name, std::size_t got, std::size_t want) {
  if (got != want)
    throw Error(std::string("rollout field '") + name + "' has " + std::to_string(got) +
                " values, expected " + std::to_string(want));
}
void check_finite(const char* name, const std::vector<float>& v) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      throw Error(std::string("rollout field '") + name + "' has a non-finite value at index " +
                  std::to_string(i));
}
}  // namespace

void Rollout::validate() const {
  if (num_steps < 1 || num_envs < 1 || num_agents < 1 || obs_dim < 1 || action_dim < 1 ||
      critic_dim < 0)
    throw Error("rollout header is invalid (steps, envs, agents and dims must be positive)");
  const auto r = static_cast<std::size_t>(rows());
  const auto tn = static_cast<std::size_t>(env_steps());
  check_size("observations", observations.size(), r * static_cast<std::size_t>(obs_dim));
  check_size("critic_inputs", critic_inputs.size(), r * static_cast<std::size_t>(critic_dim));
  if (discrete_actions.empty() && continuous_actions.empty())
    throw Error(
        "rollout carries no actions (discrete_actions and continuous_actions are both empty)");
  if (!discrete_actions.empty())
    check_size("discrete_actions", discrete_actions.size(),
               r * static_cast<std::size_t>(action_dim));
  if (!continuous_actions.empty())
    check_size("continuous_actions", continuous_actions.size(),
               r * static_cast<std::size_t>(action_dim));
  check_size("log_probs", log_probs.size(), r);
  check_size("values", values.size(), r);
  check_size("rewards", rewards.size(), r);
  check_size("terminated", terminated.size(), tn);
  check_size("truncated", truncated.size(), tn);
  check_size("final_values", final_values.size(), r);
  check_size("bootstrap_values", bootstrap_values.size(),
             static_cast<std::size_t>(num_envs) * static_cast<std::size_t>(num_agents));
  if (!active.empty()) check_size("active", active.size(), r);
  check_finite("observations", observations);
  check_finite("critic_inputs", critic_inputs);
  check_finite("continuous_actions", continuous_actions);
  check_finite("log_probs", log_probs);
  check_finite("values", values);
  check_finite("rewards", rewards);
  check_finite("final_values", final_values);
  check_finite("bootstrap_values", bootstrap_values);
}

}  // namespace trustrl::agents
