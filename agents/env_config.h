#pragma once
// Where a run's or a policy's envs come from: local copies of a registered env, or a remote env
// server. Free of libtorch: `trustrl eval` and actors read it too.

#include <cstdint>
#include <string>

#include "core/config.h"

namespace trustrl::agents {

/// env.threads: auto (envs::LocalVectorEnv::kAutoThreads).
inline constexpr std::int64_t kAutoEnvThreads = 0;

struct EnvConfig {
  /// A registered env id (`trustrl envs` lists them).
  std::string id;
  OptionMap options;
  std::int64_t num_envs = 4;
  /// Threads stepping the env copies (1: on the actor's thread); kAutoEnvThreads (`auto` in
  /// YAML): the vector env chooses from the measured cost of its first steps.
  std::int64_t threads = kAutoEnvThreads;
  /// host:port (or unix:/path) of a remote env server; empty means local copies of `id`.
  std::string remote;
  /// Token for the remote env server, if it asks for one.
  std::string token;
  /// PEM file of the CA to trust for TLS to the remote server; empty: plaintext.
  std::string tls_ca;
  double connect_timeout_s = 10.0;
  double request_timeout_s = 60.0;
  /// Failed reconnection attempts in a row before a run gives up on a remote server.
  std::int64_t max_reconnects = 5;

  void visit(ConfigVisitor& v);
};

/// env.threads from its YAML text: `auto` or 1..1024; throws ConfigError naming the key.
std::int64_t parse_env_threads(const std::string& text);

}  // namespace trustrl::agents
