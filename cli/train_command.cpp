// `trustrl train CONFIG [--set key=value ...] [--run-dir DIR] [--seed N]`, or
// `trustrl train --resume RUN_DIR`.

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>

#include "agents/trainer.h"
#include "cli/command_list.h"
#include "cli/commands.h"
#include "cli/env_factory.h"
#include "cli/run_options.h"
#include "cli/signals.h"
#include "core/error.h"

namespace trustrl::cli {

namespace {

struct TrainArgs {
  RunOptions run;
  bool quiet = false;
};

void run_train(const TrainArgs& args) {
  int stopped_by = 0;  // the signal that stopped the run before its end, if one did
  {
    StopSignals signals;  // before the env threads start, which inherit the blocked mask
    agents::TrainerOptions options;
    options.make_env = env_factory();
    options.progress = !args.quiet;
    options.progress_is_terminal = ::isatty(STDERR_FILENO) != 0;
    options.verbose = !args.quiet;

    std::unique_ptr<agents::Trainer> trainer = start_or_resume(args.run, "train", options);
    if (trainer->finished()) {
      std::cerr << "run " << trainer->run_dir().root().string() << " is already complete\n";
      return;
    }
    agents::Trainer* t = trainer.get();
    // First Ctrl-C: finish the update, checkpoint, exit. A second one kills.
    signals.start([t](const char*) { t->request_stop(); });
    trainer->run();
    std::cout << trainer->run_dir().root().string() << std::endl;
    if (!trainer->finished()) stopped_by = signals.received();
  }  // the trainer's files closed, its threads joined, the signals' default action back
  // A run the signal stopped ends by that signal, as an unhandled one would end it: a script's
  // `trustrl train ... && trustrl eval ...` stops there, and the shell says 130 (or 143).
  if (stopped_by != 0) end_by_signal(stopped_by);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train", summary_of("train"));
  add_run_options(*cmd, args->run);
  cmd->add_flag("--quiet", args->quiet, "no progress line or status messages");
  cmd->callback([args] { run_train(*args); });
}

}  // namespace trustrl::cli
