#include "cli/env_factory.h"

namespace trustrl::cli {

agents::VectorEnvFactory env_factory() { return agents::local_env_factory(); }

}  // namespace trustrl::cli
