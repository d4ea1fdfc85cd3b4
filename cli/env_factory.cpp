#include "cli/env_factory.h"

#include "core/error.h"
#include "server/remote_multi_agent_vector_env.h"
#include "server/remote_vector_env.h"

namespace trustrl::cli {

namespace {

server::RemoteEnvOptions remote_options(const agents::EnvConfig& env) {
  server::RemoteEnvOptions options;
  options.address = env.remote;
  options.token = env.token;
  options.tls_ca_file = env.tls_ca;
  options.num_envs = static_cast<int>(env.num_envs);
  options.connect_timeout_s = env.connect_timeout_s;
  options.request_timeout_s = env.request_timeout_s;
  options.max_reconnects = static_cast<int>(env.max_reconnects);
  return options;
}

void check_id(const agents::EnvConfig& env, const std::string& source, const std::string& served) {
  if (!env.id.empty() && served != env.id)
    throw Error("env.id is '" + env.id + "' but " + source + " serves '" + served + "'");
}

}  // namespace

agents::VectorEnvFactory env_factory() {
  const agents::VectorEnvFactory local = agents::local_env_factory();
  return [local](const agents::EnvConfig& env) -> std::unique_ptr<envs::VectorEnv> {
    if (env.remote.empty()) return local(env);
    auto remote = std::make_unique<server::RemoteVectorEnv>(remote_options(env));
    check_id(env, remote->source(), remote->spec().id);
    return remote;
  };
}

agents::MultiAgentVectorEnvFactory multi_agent_env_factory() {
  const agents::MultiAgentVectorEnvFactory local = agents::local_multi_agent_env_factory();
  return [local](const agents::EnvConfig& env) -> std::unique_ptr<envs::MultiAgentVectorEnv> {
    if (env.remote.empty()) return local(env);
    auto remote = std::make_unique<server::RemoteMultiAgentVectorEnv>(remote_options(env));
    check_id(env, remote->source(), remote->spec().id);
    return remote;
  };
}

}  // namespace trustrl::cli
