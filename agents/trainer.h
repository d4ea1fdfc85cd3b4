#pragma once
// The training loop: a learner fed by a RolloutChannel, with metrics, checkpoints and resume.
// `trustrl train` runs it with an actor in the same process (LocalRolloutChannel);
// `trustrl learner` runs the very same loop with actors in other processes (the channel is then
// server::LearnerService), and several learners run it data parallel through a Collective.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agents/actor.h"
#include "agents/collective.h"
#include "agents/flat_critic_watch.h"
#include "agents/learner.h"
#include "agents/rollout_channel.h"
#include "agents/train_config.h"
#include "agents/vector_env_factory.h"
#include "core/append_file.h"
#include "core/background_task.h"
#include "core/error.h"
#include "core/metrics.h"
#include "core/run_dir.h"
#include "envs/vector_env.h"

namespace trustrl::agents {

/// The env a run trains on, without its copies: what a learner builds its networks from.
struct RunEnv {
  std::string id;
  bool multi_agent = false;
  envs::EnvSpec spec;                     // single-agent envs
  envs::MultiAgentSpec multi_agent_spec;  // multi-agent envs
};

/// The learner a config asks for (PPO on a single-agent env, MAPPO on a multi-agent one).
/// Throws Error when the spaces do not fit it.
std::unique_ptr<Learner> make_learner(const TrainConfig& config, const RunEnv& env);
/// An actor on `env` (1..N agents), seeded with `seed` (copy i gets seed + i), acting with
/// `policy`.
std::unique_ptr<Actor> make_actor(std::unique_ptr<envs::VectorEnv> env, std::uint64_t seed,
                                  const PolicySnapshot& policy);
/// The run's env from a config: one copy is built (or the remote server asked) for its spec.
/// Throws Error when the algorithm and the env do not fit together.
RunEnv probe_env(const TrainConfig& config, const VectorEnvFactory& make_env);

/// The actor and learner a config asks for, with their env made by `make_env`.
struct Roles {
  std::unique_ptr<Actor> actor;
  std::unique_ptr<Learner> learner;
  RunEnv env;
};
Roles make_roles(const TrainConfig& config, const VectorEnvFactory& make_env);

struct TrainingCounters {
  std::int64_t update = 0;
  std::int64_t global_step = 0;
  std::int64_t episodes = 0;
  double elapsed_seconds = 0;
};

/// What a channel factory is told about the run it serves.
struct ChannelSetup {
  const TrainConfig& config;
  const RunEnv& env;
  /// This learner's rank and the number of learners (1 alone).
  int rank = 0;
  int world_size = 1;
  /// Env copies per batch this learner gathers: its share of env.num_envs.
  int batch_envs = 0;
};
using ChannelFactory = std::function<std::unique_ptr<RolloutChannel>(const ChannelSetup&)>;

struct TrainerOptions {
  /// The run's env, single- or multi-agent (one vector env type for both).
  VectorEnvFactory make_env = local_env_factory();
  /// Where batches come from. Empty: an actor in this process on `make_env` (trustrl train).
  ChannelFactory make_channel;
  /// Learners training data parallel with this one; null: alone. Rank 0 owns the run directory
  /// (config, metrics, checkpoints); the others keep none.
  std::shared_ptr<Collective> collective;
  /// Show a live progress line on stderr.
  bool progress = true;
  bool progress_is_terminal = false;
  /// Print plain status lines (start, resume, checkpoints, end) on stderr.
  bool verbose = true;
};

class Trainer {
 public:
  /// A new run: builds the env and the learner first, then creates `run_dir` and writes its
  /// config.yaml, so a bad config or env leaves no directory behind. With a collective, this is
  /// rank 0; the other ranks call follow().
  static std::unique_ptr<Trainer> start(const TrainConfig& config,
                                        const std::filesystem::path& run_dir,
                                        TrainerOptions options = {});
  /// Continues the run in `run_dir` from its newest checkpoint: weights, optimizer, normalizers,
  /// schedules, counters, RNG streams and (where the envs allow) the envs themselves.
  static std::unique_ptr<Trainer> resume(RunDir run_dir, TrainerOptions options = {});
  /// A data-parallel learner of rank > 0: takes the config and the state from rank 0 (which
  /// called start() or resume()). `own`, if given, must be the same config, or Error says so.
  static std::unique_ptr<Trainer> follow(const std::optional<TrainConfig>& own,
                                         TrainerOptions options);

  /// Trains until total_steps (or `max_updates` more updates, or request_stop()), then writes a
  /// checkpoint and policy.trustrl.
  void run(std::optional<std::int64_t> max_updates = std::nullopt);
  /// Asks run() to stop after the current update. Safe to call from a signal handler when the
  /// channel is a LocalRolloutChannel; otherwise call it from a thread.
  void request_stop();
  bool finished() const { return counters_.update >= config_.num_updates(); }

  const TrainConfig& config() const { return config_; }
  const TrainingCounters& counters() const { return counters_; }
  /// Rank 0 (or a learner alone) only.
  const RunDir& run_dir() const;
  Learner& learner() { return *learner_; }
  RolloutChannel& channel() { return *channel_; }
  /// The in-process actor of `trustrl train`; throws Error for other channels.
  Actor& actor();

  /// Writes a checkpoint of the current state and policy.trustrl (rank 0; others do nothing);
  /// both are on disk when it returns.
  void checkpoint();

 private:
  Trainer(const TrainConfig& config, TrainerOptions options);
  // start's and resume's first part: the trainer of rank 0, its config sent to the other ranks.
  static std::unique_ptr<Trainer> lead(const TrainConfig& config, TrainerOptions options);
  void open_sinks(std::optional<std::int64_t> keep_rows);
  void log(const std::string& line);
  // Rethrows a failure to write the run's files with where the run stopped and how to go on.
  [[noreturn]] void stopped_by(const Error& e);
  // A checkpoint taken now, to write now or on checkpoint_writes_.
  struct PendingCheckpoint;
  PendingCheckpoint capture_checkpoint();
  void write_checkpoint(const PendingCheckpoint& checkpoint);
  // checkpoint(), with the writes (and their fsyncs) on checkpoint_writes_'s thread while
  // training goes on; a failure stops the run at the next checkpoint or at the end.
  void checkpoint_in_background();
  int rank() const { return options_.collective ? options_.collective->rank() : 0; }
  int world_size() const { return options_.collective ? options_.collective->world_size() : 1; }
  // Puts the learner back to `before` (its saved state) after an update that left a non-finite
  // parameter or met a non-finite quantity (`what` says which, naming the update); throws Error
  // once more than run.max_rollbacks happened in a row.
  void undo_update(const std::vector<std::uint8_t>& before, const std::string& what,
                   std::int64_t& in_a_row);
  // Rank 0 sends the counters and learner state; the others receive them.
  void share_state();
  // Logs a warning when the critic has been flat for FlatCriticWatch's updates, and its return.
  void warn_of_a_flat_critic(double explained_variance);

  TrainConfig config_;
  std::string config_yaml_;
  std::optional<RunDir> run_dir_;
  TrainerOptions options_;
  RunEnv env_;
  std::unique_ptr<Learner> learner_;
  std::unique_ptr<RolloutChannel> channel_;
  int batch_envs_ = 0;
  MetricFanout sinks_;
  TrainingCounters counters_;
  std::atomic<bool> stop_requested_{false};
  std::unique_ptr<AppendFile> log_file_;
  std::atomic<std::int64_t> last_checkpoint_update_{0};  // written by checkpoint_writes_ too
  // Declared after the sinks and the log, which its jobs sync: destroyed (and waited for) first.
  BackgroundTask checkpoint_writes_;
  std::int64_t unstable_steps_logged_ = 0;  // the channel's count at the last warning
  bool env_threads_logged_ = false;         // the channel's env_threads_report is in train.log
  FlatCriticWatch flat_critic_;             // warns in train.log of a critic stuck at a constant
};

}  // namespace trustrl::agents
