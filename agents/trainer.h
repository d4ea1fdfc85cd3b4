#pragma once
// One-process training: an actor and a learner joined by a Rollout, metrics, checkpoints and
// resume. `trustrl train` runs this; `trustrl learner` / `trustrl actor` split the two roles
// over processes with the same Actor, Learner and Rollout.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "agents/actor.h"
#include "agents/learner.h"
#include "agents/train_config.h"
#include <filesystem>
#include "core/metrics.h"
#include "core/run_dir.h"
#include "envs/multi_agent_vector_env.h"
#include "envs/vector_env.h"

namespace trustrl::agents {

/// Makes the vector env a run trains on (local copies, or a remote server).
using VectorEnvFactory = std::function<std::unique_ptr<envs::VectorEnv>(const EnvConfig&)>;
using MultiAgentVectorEnvFactory = std::function<std::unique_ptr<envs::MultiAgentVectorEnv>(const EnvConfig&)>;
/// Local copies of a registered env.
VectorEnvFactory local_env_factory();
MultiAgentVectorEnvFactory local_multi_agent_env_factory();

/// The actor and learner a config asks for (PPO on a single-agent env, MAPPO on a multi-agent
/// one), with their envs made by `make_env` / `make_multi_agent_env`. Throws Error when the
/// algorithm and the env do not fit together.
struct Roles {
  std::unique_ptr<Actor> actor;
  std::unique_ptr<Learner> learner;
  bool multi_agent = false;
};
Roles make_roles(const TrainConfig& config, const VectorEnvFactory& make_env,
                 const MultiAgentVectorEnvFactory& make_multi_agent_env);

struct TrainingCounters {
  std::int64_t update = 0;
  std::int64_t global_step = 0;
  std::int64_t episodes = 0;
  double elapsed_seconds = 0;
};

struct TrainerOptions {
  VectorEnvFactory make_env = local_env_factory();
  MultiAgentVectorEnvFactory make_multi_agent_env = local_multi_agent_env_factory();
  /// Show a live progress line on stderr.
  bool progress = true;
  bool progress_is_terminal = false;
  /// Print plain status lines (start, resume, checkpoints, end) on stderr.
  bool verbose = true;
};

class Trainer {
 public:
  /// A new run: builds the env and the learner first, then creates `run_dir` and writes its
  /// config.yaml, so a bad config or env leaves no directory behind.
  static std::unique_ptr<Trainer> start(const TrainConfig& config, const std::filesystem::path& run_dir,
                                        TrainerOptions options = {});
  /// Continues the run in `run_dir` from its newest checkpoint: weights, optimizer, normalizers,
  /// schedules, counters, RNG streams and (where the envs allow) the envs themselves.
  static std::unique_ptr<Trainer> resume(RunDir run_dir, TrainerOptions options = {});

  /// Trains until total_steps (or `max_updates` more updates, or request_stop()), then writes a
  /// checkpoint and policy.pt.
  void run(std::optional<std::int64_t> max_updates = std::nullopt);
  /// Asks run() to stop after the current update; safe to call from a signal handler.
  void request_stop() { stop_requested_.store(true); }
  bool finished() const { return counters_.update >= config_.num_updates(); }

  const TrainConfig& config() const { return config_; }
  const TrainingCounters& counters() const { return counters_; }
  const RunDir& run_dir() const { return *run_dir_; }
  Learner& learner() { return *learner_; }
  Actor& actor() { return *actor_; }

  /// Writes a checkpoint of the current state and policy.pt.
  void checkpoint();

 private:
  Trainer(const TrainConfig& config, TrainerOptions options);
  void open_sinks(std::optional<std::int64_t> keep_rows);
  void log(const std::string& line);

  TrainConfig config_;
  std::string config_yaml_;
  std::optional<RunDir> run_dir_;
  TrainerOptions options_;
  std::unique_ptr<Learner> learner_;
  bool multi_agent_ = false;
  std::unique_ptr<Actor> actor_;
  MetricFanout sinks_;
  TrainingCounters counters_;
  std::atomic<bool> stop_requested_{false};
  std::unique_ptr<std::ofstream> log_file_;
};

}  // namespace trustrl::agents
