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

agents::VectorEnvFactory env_factory(std::optional<envs::EnvSpec> expected_spec) {
  const agents::VectorEnvFactory local = agents::local_env_factory();
  return [local, expected_spec](const agents::EnvConfig& env) -> std::unique_ptr<envs::VectorEnv> {
    if (env.remote.empty()) return local(env);
    server::RemoteEnvOptions options = remote_options(env);
    options.expected_spec = expected_spec;
    auto remote = std::make_unique<server::RemoteVectorEnv>(options);
    check_id(env, remote->source(), remote->spec().id);
    return remote;
  };
}

agents::MultiAgentVectorEnvFactory multi_agent_env_factory(
    std::optional<envs::MultiAgentSpec> expected_spec) {
  const agents::MultiAgentVectorEnvFactory local = agents::local_multi_agent_env_factory();
  return [local, expected_spec](
             const agents::EnvConfig& env) -> std::unique_ptr<envs::MultiAgentVectorEnv> {
    if (env.remote.empty()) return local(env);
    auto remote =
        std::make_unique<server::RemoteMultiAgentVectorEnv>(remote_options(env), expected_spec);
    check_id(env, remote->source(), remote->spec().id);
    return remote;
  };
}

}  // namespace trustrl::cli
