#include "agents/vector_env_factory.h"

#include "core/error.h"

namespace trustrl::agents {

VectorEnvFactory local_env_factory() {
  return [](const EnvConfig& env) -> std::unique_ptr<envs::VectorEnv> {
    if (!env.remote.empty())
      throw Error("env.remote is set to '" + env.remote +
                  "' but this program was built without remote envs");
    return envs::LocalVectorEnv::make(env.id, env.options, static_cast<int>(env.num_envs),
                                      static_cast<int>(env.threads));
  };
}

}  // namespace trustrl::agents
