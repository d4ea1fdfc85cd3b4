#pragma once
// How a run or an evaluation gets its vector env from an EnvConfig (local copies, or a remote
// server: cli/env_factory.h adds those).

#include <functional>
#include <memory>

#include "agents/env_config.h"
#include "envs/vector_env.h"

namespace trustrl::agents {

/// Makes the vector env a run trains on (local copies, or a remote server).
using VectorEnvFactory = std::function<std::unique_ptr<envs::VectorEnv>(const EnvConfig&)>;
/// Local copies of a registered env (a plain one as one agent).
VectorEnvFactory local_env_factory();

}  // namespace trustrl::agents
