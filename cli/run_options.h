#pragma once
// What `trustrl train` and `trustrl learner` share: the options that start a run or resume one,
// and the start-or-resume rule itself.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agents/trainer.h"

namespace trustrl::cli {

struct RunOptions {
  std::string config;
  std::vector<std::string> overrides;
  std::string run_dir;
  std::string resume;
  std::int64_t seed = -1;
};

/// Adds CONFIG, --set, --run-dir, --seed and --resume to `cmd`.
void add_run_options(CLI::App& cmd, RunOptions& options);

/// The config of CONFIG with the --set overrides and --seed applied.
agents::TrainConfig load_run_config(const RunOptions& options);

/// Resumes the run of --resume, or starts CONFIG's run in --run-dir (default runs/<config>-<time>).
/// `command` names the subcommand in the error for a missing CONFIG.
std::unique_ptr<agents::Trainer> start_or_resume(const RunOptions& options,
                                                 const std::string& command,
                                                 agents::TrainerOptions trainer_options);

}  // namespace trustrl::cli
