#pragma once
// What a learner publishes and an actor acts with: a version number and, per agent group, the
// policy's weights with the input and value statistics they were trained with.
//
// Single-agent PPO has one group holding agent 0. MAPPO has one group per set of agents with
// identical spaces; agents of a group share the group's actor and critic (parameter sharing).

#include <cstdint>
#include <string>
#include <vector>

#include "agents/inference.h"
#include "agents/normalizer.h"
#include "core/bytes.h"
#include "envs/env.h"

namespace trustrl::agents {

/// What a group's critic reads, per agent row.
enum class CriticInput {
  /// The agent's own observation (PPO; independent PPO in multi-agent envs).
  kObservation,
  /// The env's global state (MAPPO's centralized critic).
  kState,
  /// The global state followed by the agent's own observation (MAPPO's agent-specific state).
  kStateAndObservation,
};

/// Whether all the agents of an env step give a group's critic the same input row: it reads the
/// global state alone (no observation, no agent id); agents/critic_rows.h evaluates it once.
inline bool critic_row_per_step(CriticInput input, bool agent_id_input) {
  return input == CriticInput::kState && !agent_id_input;
}

struct GroupPolicy {
  /// The agents this group acts for, ascending.
  std::vector<int> agents;
  /// Actor and critic weights; the actor's input is the agent's observation (its own obs_dim
  /// values), followed by a one-hot agent id of `num_agents` values when `agent_id_input`.
  PolicyWeights weights;
  bool agent_id_input = false;
  int num_agents = 1;
  CriticInput critic_input = CriticInput::kObservation;
  /// Statistics of the actor's and the critic's raw inputs.
  ObsNormalizer obs_normalizer;
  ObsNormalizer critic_normalizer;
  /// The critic predicts normalized values; actors denormalize with this.
  ValueNormalizer value_normalizer;

  int actor_input_dim() const { return weights.actor.front().in; }
  int critic_input_dim() const { return weights.critic.front().in; }
  /// Width of the agent's own observation within the actor input.
  int obs_dim() const { return actor_input_dim() - (agent_id_input ? num_agents : 0); }
};

/// The most agents a saved policy may act for.
inline constexpr int kMaxAgents = 4096;

/// Throws Error("<what> <problem>") unless the group is whole: agents ascending within
/// num_agents, input statistics as wide as the networks' inputs, the actor as wide as its action
/// space needs, and log std values for each Gaussian component.
void check_group(const GroupPolicy& group, const std::string& what);

struct PolicySnapshot {
  std::int64_t version = 0;
  std::vector<GroupPolicy> groups;

  void save(ByteWriter& out) const;
  /// Reads what save() wrote; throws Error if it is inconsistent.
  static PolicySnapshot load(ByteReader& in);
};

/// Throws Error("the policy does not fit <env id>: ...") unless `policy` acts for this
/// single-agent env: one group, the env's observation width and exactly its action space.
void check_policy_fits(const PolicySnapshot& policy, const envs::EnvSpec& spec);

/// Writes agent `agent`'s actor input row: its first obs_dim() observation values, then the
/// one-hot id if the group uses one.
void write_actor_input(const GroupPolicy& group, const float* observation, int agent, float* out);

}  // namespace trustrl::agents
