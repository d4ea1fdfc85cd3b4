#pragma once
// MAPPO's settings (Yu et al. 2021, "The Surprising Effectiveness of PPO in Cooperative
// Multi-Agent Games"). MAPPO is PpoLearner (ppo.h) with agent groups: each group's critic reads
// the global state (or the agent-specific global state), its value targets are normalized
// (ValueNorm), GAE runs per agent, and inactive (dead) agents' samples are left out of every loss
// (death masking). `critic_input: observation` turns it into independent PPO, for comparison.
//
// `update: sequential` is the heterogeneous-agent trust region (Kuba et al. ICLR 2022, "Trust
// Region Policy Optimisation in Multi-Agent Reinforcement Learning"; HARL's happo / hatrpo): the
// agents are updated one after another in a random order, each weighted by the ratios of the
// agents updated before it (docs/TRUST_REGIONS.md, "Sequential agent updates"); agents that share
// a policy update it in turn, each on its own samples (HARL's share_param).

#include "agents/policy_snapshot.h"
#include "core/config.h"

namespace trustrl::agents {

/// How the agent groups' policies are updated within one update.
enum class MultiAgentUpdate {
  /// Every group from the same batch, independently (MAPPO).
  kSimultaneous,
  /// One agent after another in a random order, each agent's advantages weighted by the product
  /// of the ratios pi_new / pi_old of the agents updated before it (HAPPO / HATRPO); a shared
  /// policy is updated once per agent, on that agent's samples.
  kSequential,
};

struct MappoConfig {
  CriticInput critic_input = CriticInput::kState;
  /// Append a one-hot agent id to the actor's and the critic's inputs.
  bool agent_id = false;
  MultiAgentUpdate update = MultiAgentUpdate::kSimultaneous;
  /// Agents with identical spaces share one policy (a group); false gives every agent its own.
  bool share_parameters = true;

  void visit(ConfigVisitor& v);
};

}  // namespace trustrl::agents
