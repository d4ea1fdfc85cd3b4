#pragma once
// The vector envs the CLI can train and evaluate on: local copies of a registered env, or (when
// the config names one) a remote env server.

#include "agents/trainer.h"

namespace trustrl::cli {

agents::VectorEnvFactory env_factory();
/// The same for multi-agent envs: local copies, or a RemoteMultiAgentVectorEnv when env.remote
/// is set.
agents::MultiAgentVectorEnvFactory multi_agent_env_factory();

}  // namespace trustrl::cli
