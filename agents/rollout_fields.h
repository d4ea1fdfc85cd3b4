#pragma once
// Every buffer of a Rollout, listed once (as a config's visit lists its keys): allocate,
// validate, slice, merge and the byte form walk this list instead of naming the buffers.
// A buffer is [outer, N, per_copy] with the copy axis N second: outer is T (or 1 for the
// bootstrap values), per_copy is A x width (or 1 for the per-copy flags).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "agents/rollout.h"

namespace trustrl::agents {

enum class ColumnShape {
  kRows,       // [T, N, A, width]
  kEnvSteps,   // [T, N]
  kBootstrap,  // [N, A, width]
};

template <class T>
struct RolloutColumn {
  using value_type = T;
  const char* name;
  std::vector<T> Rollout::*member;
  ColumnShape shape;
  /// The header field giving the width of a row; null for one value per row.
  std::int32_t Rollout::*width = nullptr;
  /// May be empty (the action kind a rollout does not carry; single-agent active masks).
  bool optional = false;

  std::size_t outer(const Rollout& r) const {
    return shape == ColumnShape::kBootstrap ? 1 : static_cast<std::size_t>(r.num_steps);
  }
  std::size_t per_copy(const Rollout& r) const {
    if (shape == ColumnShape::kEnvSteps) return 1;
    return static_cast<std::size_t>(r.num_agents) *
           (width ? static_cast<std::size_t>(r.*width) : std::size_t{1});
  }
  /// The size the header asks for.
  std::size_t size(const Rollout& r) const {
    return outer(r) * static_cast<std::size_t>(r.num_envs) * per_copy(r);
  }
};

/// Calls f(column) for every buffer, in the order of the byte form (episodes, not per row, are
/// the callers' own).
template <class F>
void for_each_rollout_column(F&& f) {
  f(RolloutColumn<float>{"observations", &Rollout::observations, ColumnShape::kRows,
                         &Rollout::obs_dim});
  f(RolloutColumn<float>{"critic_inputs", &Rollout::critic_inputs, ColumnShape::kRows,
                         &Rollout::critic_dim});
  f(RolloutColumn<std::int64_t>{"discrete_actions", &Rollout::discrete_actions, ColumnShape::kRows,
                                &Rollout::action_dim, /*optional=*/true});
  f(RolloutColumn<float>{"continuous_actions", &Rollout::continuous_actions, ColumnShape::kRows,
                         &Rollout::action_dim, /*optional=*/true});
  f(RolloutColumn<float>{"log_probs", &Rollout::log_probs, ColumnShape::kRows});
  f(RolloutColumn<float>{"values", &Rollout::values, ColumnShape::kRows});
  f(RolloutColumn<float>{"rewards", &Rollout::rewards, ColumnShape::kRows});
  f(RolloutColumn<std::uint8_t>{"terminated", &Rollout::terminated, ColumnShape::kEnvSteps});
  f(RolloutColumn<std::uint8_t>{"truncated", &Rollout::truncated, ColumnShape::kEnvSteps});
  f(RolloutColumn<float>{"final_values", &Rollout::final_values, ColumnShape::kRows});
  f(RolloutColumn<float>{"bootstrap_values", &Rollout::bootstrap_values, ColumnShape::kBootstrap});
  f(RolloutColumn<std::uint8_t>{"active", &Rollout::active, ColumnShape::kRows, nullptr,
                                /*optional=*/true});
}

/// Calls f(name, member) for every header field, in the order of the byte form.
template <class F>
void for_each_rollout_header(F&& f) {
  f("num_steps", &Rollout::num_steps);
  f("num_envs", &Rollout::num_envs);
  f("num_agents", &Rollout::num_agents);
  f("obs_dim", &Rollout::obs_dim);
  f("action_dim", &Rollout::action_dim);
  f("critic_dim", &Rollout::critic_dim);
  f("policy_version", &Rollout::policy_version);
}

}  // namespace trustrl::agents
