#include "agents/mappo.h"

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

}  // namespace trustrl::agents
