#pragma once
// The vector envs the CLI can train and evaluate on: local copies of a registered env, or (when
// the config names one) a remote env server.

#include <optional>

#include "agents/trainer.h"

namespace trustrl::cli {

/// `expected_spec`, when set, is the spec a remote server must serve: the handshake refuses any
/// other (FAILED_PRECONDITION naming the field), as an actor's does.
agents::VectorEnvFactory env_factory(std::optional<envs::EnvSpec> expected_spec = std::nullopt);
/// The same for multi-agent envs: local copies, or a RemoteMultiAgentVectorEnv when env.remote
/// is set.
agents::MultiAgentVectorEnvFactory multi_agent_env_factory(
    std::optional<envs::MultiAgentSpec> expected_spec = std::nullopt);

}  // namespace trustrl::cli
