#include "agents/rollout.h"

#include <cmath>
#include <string>
#include <string_view>
#include <type_traits>

#include "agents/rollout_fields.h"
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
  for_each_rollout_column([&](const auto& column) {
    using T = typename std::decay_t<decltype(column)>::value_type;
    const std::string_view name = column.name;
    bool present = true;
    if (name == "discrete_actions") present = discrete;
    if (name == "continuous_actions") present = !discrete || continuous_too;
    if (name == "active") present = agents > 1;  // everyone alive until the env says otherwise
    (this->*column.member).assign(present ? column.size(*this) : 0, T(name == "active" ? 1 : 0));
  });
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
  if (discrete_actions.empty() && continuous_actions.empty())
    throw Error(
        "rollout carries no actions (discrete_actions and continuous_actions are both empty)");
  for_each_rollout_column([&](const auto& column) {
    const auto& buffer = this->*column.member;
    if (!(column.optional && buffer.empty()))
      check_size(column.name, buffer.size(), column.size(*this));
  });
  for_each_rollout_column([&](const auto& column) {
    using T = typename std::decay_t<decltype(column)>::value_type;
    if constexpr (std::is_same_v<T, float>) check_finite(column.name, this->*column.member);
  });
}

}  // namespace trustrl::agents
