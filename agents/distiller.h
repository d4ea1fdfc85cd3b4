#pragma once
// `trustrl distill`: a student policy trained to match one or more teachers' action
// distributions by the distillation loss (agents/distill_loss.h) on states collected by the
// teacher, the student or a mix (agents/distill_config.h). Writes a run directory as `trustrl
// train` does (config.yaml, metrics.csv, TensorBoard, checkpoints, policy.trustrl), so `trustrl
// eval` runs the student unchanged; resumes from its newest checkpoint.
//
// The student reads its inputs normalized with the first teacher's frozen statistics (they are
// the student policy file's statistics too); each teacher reads them with its own. Its critic is
// left as initialized: a policy file needs one, and nothing here uses it. Several teachers: the
// loss is the mean of the losses to each (for forward KL, the student matches their mean
// distribution); collect: teacher rolls out with teacher u mod n in update u.
//
// Multi-agent teachers: the student has the first teacher's agent groups (every teacher must
// group the agents alike), one student network and optimizer per group, each trained on its
// group's live agent rows; the logged KL is the mean over all of them.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agents/distill_config.h"
#include "agents/env_actor.h"
#include "agents/flat_adam.h"
#include "agents/frozen_policy.h"
#include "agents/network.h"
#include "agents/saved_policy.h"
#include "core/metrics.h"
#include "core/rng.h"
#include "core/run_dir.h"

namespace trustrl::agents {

struct DistillOptions {
  /// Print plain status lines (start, end) on stderr.
  bool verbose = true;
};

/// What one update measured.
struct DistillStats {
  /// Mean KL between teacher and student at T = 1 in the configured direction, over the update's
  /// samples after its steps (the mean over teachers).
  double kl = 0;
  /// Mean distillation loss of the steps (tempered and scaled).
  double loss = 0;
  /// The student's mean deterministic return when this update evaluated it, else NaN.
  double student_return = 0;
  bool teacher_collected = false;
  double learning_rate = 0;
};

class Distiller {
 public:
  /// Reads and checks the teachers and builds the student first, then creates `run_dir`, so a
  /// bad teacher or config leaves no directory behind. Throws Error with one line naming the key
  /// and the file.
  static std::unique_ptr<Distiller> start(const DistillConfig& config,
                                          const std::filesystem::path& run_dir,
                                          DistillOptions options = {});
  /// Continues the run in `run_dir` from its newest checkpoint.
  static std::unique_ptr<Distiller> resume(RunDir run_dir, DistillOptions options = {});

  /// Distils until total_steps (or `max_updates` more updates), then checkpoints and writes
  /// policy.trustrl.
  void run(std::optional<std::int64_t> max_updates = std::nullopt);
  void checkpoint();
  bool finished() const { return update_ >= config_.num_updates(); }

  const DistillConfig& config() const { return config_; }
  std::int64_t update() const { return update_; }
  std::int64_t global_step() const { return global_step_; }
  const RunDir& run_dir() const { return *run_dir_; }
  const DistillStats& last_stats() const { return last_; }
  /// The student as actors and `trustrl eval` run it.
  PolicySnapshot student() const;
  SavedPolicy student_policy() const;

 private:
  Distiller(const DistillConfig& config, DistillOptions options);
  DistillStats step();
  struct GroupStep {
    double loss_sum = 0;  // over the group's gradient steps
    int steps = 0;
    double kl_mean = 0;     // after the steps, over the group's rows (mean over teachers)
    std::int64_t rows = 0;  // live agent rows of the group in the rollout
  };
  // The group's epochs of minibatch steps on rollout `r`.
  GroupStep step_group(std::size_t g, const Rollout& r);
  double evaluate_student() const;
  void log(const std::string& line);

  DistillConfig config_;
  std::string config_yaml_;
  DistillOptions options_;
  std::vector<SavedPolicy> teachers_;
  std::vector<std::vector<FrozenPolicy>> frozen_;  // [teacher][agent group]
  std::vector<ActorCritic> students_;              // one per agent group
  std::vector<std::unique_ptr<FlatAdam>> optimizers_;
  std::unique_ptr<EnvActor> actor_;
  Rng rng_;
  std::int64_t update_ = 0, global_step_ = 0;
  DistillStats last_;
  std::optional<RunDir> run_dir_;
  MetricFanout sinks_;
};

}  // namespace trustrl::agents
