#pragma once
// The whole configuration of a training run: one YAML file, every hyperparameter, validated.

#include <cstdint>
#include <string>

#include "agents/distributed_config.h"
#include "agents/env_config.h"
#include "agents/mappo.h"
#include "agents/network.h"
#include "agents/normalizer.h"
#include "agents/policy_update.h"
#include "agents/trust_region.h"
#include "core/config.h"

namespace trustrl::agents {

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
