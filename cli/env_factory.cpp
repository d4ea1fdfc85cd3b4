#include "cli/env_factory.h"

#include <iostream>

#include "core/error.h"
#include "envs/registry.h"
#include "server/env_protocol/convert.h"
#include "server/env_protocol/remote_vector_env.h"
#include "server/env_protocol/spec_hash.h"

namespace trustrl::cli {

namespace {

namespace wire = ::trustrl::env::v1;

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

// Warns or refuses (see SpecMismatch) when the served spec is not the local env's. Envs that are
// not registered here (a simulator of the user's own) have no local spec to compare with.
void check_spec(const agents::EnvConfig& env, const std::string& source,
                const std::optional<wire::EnvSpec>& local, const wire::EnvSpec& served,
                SpecMismatch on_mismatch) {
  if (!local) return;
  const std::optional<std::string> mismatch = spec_mismatch(env, source, *local, served);
  if (!mismatch) return;
  if (on_mismatch == SpecMismatch::kRefuse)
    throw Error(*mismatch + "; pass --allow-spec-mismatch to use it anyway");
  std::cerr << "warning: " << *mismatch << "\n";
}

// The wire spec of the registered env `env.id` here, in its own form (single- or multi-agent).
std::optional<wire::EnvSpec> local_spec(const agents::EnvConfig& env) {
  const envs::EnvRegistry& registry = envs::EnvRegistry::global();
  if (!registry.contains(env.id)) return std::nullopt;
  if (registry.is_multi_agent(env.id))
    return server::to_wire(envs::make_multi_agent(env.id, env.options)->spec());
  return server::to_wire(envs::make(env.id, env.options)->spec());
}

}  // namespace

std::optional<std::string> spec_mismatch(const agents::EnvConfig& env, const std::string& source,
                                         const wire::EnvSpec& local, const wire::EnvSpec& served) {
  const std::uint64_t want = server::spec_hash(local), got = server::spec_hash(served);
  if (want == got) return std::nullopt;
  return source + " serves " + served.id() + " with spec hash " + server::hash_text(got) +
         ", not the " + server::hash_text(want) + " of " + env.id + " here (" +
         server::spec_difference(local, served).value_or("no hashed field differs") + ")";
}

agents::VectorEnvFactory env_factory(SpecMismatch on_mismatch) {
  const agents::VectorEnvFactory local = agents::local_env_factory();
  return [local, on_mismatch](const agents::EnvConfig& env) -> std::unique_ptr<envs::VectorEnv> {
    if (env.remote.empty()) return local(env);
    auto remote = std::make_unique<server::RemoteVectorEnv>(remote_options(env));
    check_id(env, remote->source(), remote->spec().id);
    check_spec(env, remote->source(), local_spec(env), remote->server_info().spec(), on_mismatch);
    return remote;
  };
}

}  // namespace trustrl::cli
