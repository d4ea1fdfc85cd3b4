// `trustrl train CONFIG [--set key=value ...] [--run-dir DIR] [--seed N]`, or
// `trustrl train --resume RUN_DIR`.

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>

#include "agents/trainer.h"
#include "cli/commands.h"
#include "cli/env_factory.h"
#include "cli/option_checks.h"
#include "cli/signals.h"
#include "core/error.h"

namespace trustrl::cli {

namespace {

struct TrainArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::string run_dir;
  std::string resume;
  std::int64_t seed = -1;
  bool quiet = false;
};

void run_train(const TrainArgs& args) {
  StopSignals signals;  // before the env threads start, which inherit the blocked mask
  agents::TrainerOptions options;
  options.make_env = env_factory();
  options.progress = !args.quiet;
  options.progress_is_terminal = ::isatty(STDERR_FILENO) != 0;
  options.verbose = !args.quiet;

  std::unique_ptr<agents::Trainer> trainer;
  if (!args.resume.empty()) {
    if (!args.config.empty() || !args.overrides.empty() || args.seed >= 0 || !args.run_dir.empty())
      throw Error(
          "--resume continues a run as it was configured; drop CONFIG, --set, --seed and "
          "--run-dir");
    trainer = agents::Trainer::resume(RunDir::open(args.resume), options);
  } else {
    if (args.config.empty()) throw Error("train needs a CONFIG file (or --resume RUN_DIR)");
    std::vector<std::string> overrides = args.overrides;
    if (args.seed >= 0) overrides.push_back("seed=" + std::to_string(args.seed));
    const agents::TrainConfig config = agents::load_train_config(args.config, overrides);
    const std::filesystem::path dir =
        args.run_dir.empty()
            ? RunDir::default_path(std::filesystem::path(args.config).stem().string())
            : std::filesystem::path(args.run_dir);
    trainer = agents::Trainer::start(config, dir, options);
  }
  if (trainer->finished()) {
    std::cerr << "run " << trainer->run_dir().root().string() << " is already complete\n";
    return;
  }
  agents::Trainer* t = trainer.get();
  // First Ctrl-C: finish the update, checkpoint, exit. A second one kills.
  signals.start([t](const char*) { t->request_stop(); });
  trainer->run();
  std::cout << trainer->run_dir().root().string() << "\n";
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand(
      "train", "Train an agent from a YAML config (prints the run directory at the end)");
  cmd->add_option("config", args->config, "YAML config file (configs/ has ready ones)");
  cmd->add_option("--set", args->overrides,
                  "override a config key: --set ppo.learning_rate=1e-3 (repeatable)");
  cmd->add_option("--run-dir", args->run_dir, "run directory (default runs/<config>-<time>)")
      ->check(non_empty("a directory"));
  cmd->add_option("--seed", args->seed, "seed (overrides the config's)")
      ->check(whole_number_up_to(kMaxSeed));
  cmd->add_option("--resume", args->resume,
                  "continue the run in this directory from its last checkpoint");
  cmd->add_flag("--quiet", args->quiet, "no progress line or status messages");
  cmd->callback([args] { run_train(*args); });
}

}  // namespace trustrl::cli
