#pragma once
// The vector envs the CLI can train and evaluate on: local copies of a registered env, or (when
// the config names one) a remote env server.

#include "agents/trainer.h"

namespace trustrl::cli {

agents::VectorEnvFactory env_factory();

}  // namespace trustrl::cli
