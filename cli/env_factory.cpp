#include "cli/env_factory.h"

#include "core/error.h"
#include "server/remote_vector_env.h"

namespace trustrl::cli {

agents::VectorEnvFactory env_factory() {
  const agents::VectorEnvFactory local = agents::local_env_factory();
  return [local](const agents::EnvConfig& env) -> std::unique_ptr<envs::VectorEnv> {
    if (env.remote.empty()) return local(env);
    server::RemoteEnvOptions options;
    options.address = env.remote;
    options.token = env.token;
    options.tls_ca_file = env.tls_ca;
    options.num_envs = static_cast<int>(env.num_envs);
    options.connect_timeout_s = env.connect_timeout_s;
    options.request_timeout_s = env.request_timeout_s;
    options.max_reconnects = static_cast<int>(env.max_reconnects);
    auto remote = std::make_unique<server::RemoteVectorEnv>(options);
    if (!env.id.empty() && remote->spec().id != env.id)
      throw Error("env.id is '" + env.id + "' but " + remote->source() + " serves '" + remote->spec().id + "'");
    return remote;
  };
}

}  // namespace trustrl::cli
