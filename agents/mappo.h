#pragma once
// MAPPO's settings (Yu et al. 2021, "The Surprising Effectiveness of PPO in Cooperative
// Multi-Agent Games"). MAPPO is PpoLearner (ppo.h) with agent groups: each group's critic reads
// the global state (or the agent-specific global state), its value targets are normalized
// (ValueNorm), GAE runs per agent, and inactive (dead) agents' samples are left out of every loss
// (death masking). `critic_input: observation` turns it into independent PPO, for comparison.

#include "agents/policy_snapshot.h"
#include "core/config.h"

namespace trustrl::agents {

struct MappoConfig {
  CriticInput critic_input = CriticInput::kState;
  /// Append a one-hot agent id to the actor's and the critic's inputs.
  bool agent_id = false;

  void visit(ConfigVisitor& v);
};

}  // namespace trustrl::agents
