#pragma once
// The whole configuration of a training run: one YAML file, every hyperparameter, validated.

#include <cstdint>
#include <string>

#include "agents/distributed_config.h"
#include "agents/mappo.h"
#include "agents/network.h"
#include "agents/normalizer.h"
#include "agents/policy_update.h"
#include "agents/trust_region.h"
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

struct RunConfig {
  /// Write a checkpoint every this many updates (and at the end).
  std::int64_t checkpoint_every = 10;
  std::int64_t keep_checkpoints = 3;
  bool tensorboard = true;
  /// Intra-op threads for libtorch; 1 is fastest for small MLPs (docs/BENCHMARKS.md).
  std::int64_t torch_threads = 1;
  /// An update that leaves a non-finite parameter is undone (the learner goes back to its state
  /// before it); after this many in a row the run stops with an error.
  std::int64_t max_rollbacks = 3;

  void visit(ConfigVisitor& v);
};

enum class Algorithm { kPpo, kMappo };

struct TrainConfig {
  Algorithm algo = Algorithm::kPpo;
  std::uint64_t seed = 1;
  std::int64_t total_steps = 100000;
  EnvConfig env;
  PpoConfig ppo;
  MappoConfig mappo;
  TrustRegionConfig trust_region;
  NetworkConfig network;
  NormalizeConfig normalize;
  RunConfig run;
  DistributedConfig distributed;

  void visit(ConfigVisitor& v);
  /// Cross-field checks; throws ConfigError naming the fields.
  void validate() const;
  /// Env steps per update (num_envs x num_steps) and the number of updates.
  std::int64_t batch_steps() const { return env.num_envs * ppo.num_steps; }
  std::int64_t num_updates() const { return total_steps / batch_steps(); }
};

/// Reads and validates a config file with overrides; throws ConfigError naming the problem.
TrainConfig load_train_config(const std::string& path,
                              const std::vector<std::string>& overrides = {});
TrainConfig parse_train_config(const std::string& yaml,
                               const std::vector<std::string>& overrides = {});

}  // namespace trustrl::agents
