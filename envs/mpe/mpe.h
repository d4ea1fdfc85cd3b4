#pragma once
// The MPE family: registers simple_spread_v3 and simple_speaker_listener_v4.

#include "envs/multi_agent_registry.h"

namespace trustrl::envs {

void register_mpe(MultiAgentRegistry& registry);

}  // namespace trustrl::envs
