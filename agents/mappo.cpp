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
  v.choice("update", update,
           {{"simultaneous", MultiAgentUpdate::kSimultaneous},
            {"sequential", MultiAgentUpdate::kSequential}},
           "simultaneous: every agent group from the same batch (MAPPO); sequential: one agent "
           "after another in a random order, weighted by the ratios of those updated before "
           "(HAPPO with trust_region clip, HATRPO with mode natural_gradient; a shared policy "
           "is updated once per agent, on that agent's samples)");
  v.field("share_parameters", share_parameters,
          "agents with identical spaces share one policy; false gives every agent its own");
}

}  // namespace trustrl::agents
