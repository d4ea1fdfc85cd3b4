#include "cli/run_options.h"

#include <filesystem>
#include <utility>

#include "cli/option_checks.h"
#include "core/error.h"
#include "core/run_dir.h"

namespace trustrl::cli {

void add_run_options(CLI::App& cmd, RunOptions& options) {
  cmd.add_option("config", options.config, "YAML config file (configs/ has ready ones)");
  cmd.add_option("--set", options.overrides,
                 "override a config key: --set ppo.learning_rate=1e-3 (repeatable)");
  cmd.add_option("--run-dir", options.run_dir, "run directory (default runs/<config>-<time>)")
      ->check(non_empty("a directory"));
  cmd.add_option("--seed", options.seed, "seed (overrides the config's)")
      ->check(whole_number_up_to(kMaxSeed));
  cmd.add_option("--resume", options.resume,
                 "continue the run in this directory from its last checkpoint");
}

agents::TrainConfig load_run_config(const RunOptions& options) {
  std::vector<std::string> overrides = options.overrides;
  if (options.seed >= 0) overrides.push_back("seed=" + std::to_string(options.seed));
  return agents::load_train_config(options.config, overrides);
}

std::unique_ptr<agents::Trainer> start_or_resume(const RunOptions& options,
                                                 const std::string& command,
                                                 agents::TrainerOptions trainer_options) {
  if (!options.resume.empty()) {
    if (!options.config.empty() || !options.overrides.empty() || options.seed >= 0 ||
        !options.run_dir.empty())
      throw Error(
          "--resume continues a run as it was configured; drop CONFIG, --set, --seed and "
          "--run-dir");
    return agents::Trainer::resume(RunDir::open(options.resume), std::move(trainer_options));
  }
  if (options.config.empty()) throw Error(command + " needs a CONFIG file (or --resume RUN_DIR)");
  const agents::TrainConfig config = load_run_config(options);
  const std::filesystem::path dir =
      options.run_dir.empty()
          ? RunDir::default_path(std::filesystem::path(options.config).stem().string())
          : std::filesystem::path(options.run_dir);
  return agents::Trainer::start(config, dir, std::move(trainer_options));
}

}  // namespace trustrl::cli
