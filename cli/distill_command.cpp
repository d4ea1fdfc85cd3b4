// `trustrl distill CONFIG [--set key=value ...] [--run-dir DIR] [--seed N]`, or
// `trustrl distill --resume RUN_DIR`: a student policy from one or more teachers
// (docs/DISTILLATION.md).

#include <filesystem>
#include <iostream>

#include "agents/distiller.h"
#include "cli/command_list.h"
#include "cli/commands.h"
#include "cli/run_options.h"
#include "core/error.h"
#include "core/run_dir.h"

namespace trustrl::cli {

namespace {

struct DistillArgs {
  RunOptions run;
  bool quiet = false;
};

void run_distill(const DistillArgs& args) {
  agents::DistillOptions options;
  options.verbose = !args.quiet;
  std::unique_ptr<agents::Distiller> d;
  const RunOptions& o = args.run;
  if (!o.resume.empty()) {
    if (!o.config.empty() || !o.overrides.empty() || o.seed >= 0 || !o.run_dir.empty())
      throw Error(
          "--resume continues a run as it was configured; drop CONFIG, --set, --seed and "
          "--run-dir");
    d = agents::Distiller::resume(RunDir::open(o.resume), options);
  } else {
    if (o.config.empty()) throw Error("distill needs a CONFIG file (or --resume RUN_DIR)");
    std::vector<std::string> overrides = o.overrides;
    if (o.seed >= 0) overrides.push_back("seed=" + std::to_string(o.seed));
    const agents::DistillConfig config = agents::load_distill_config(o.config, overrides);
    const std::filesystem::path dir =
        o.run_dir.empty() ? RunDir::default_path(std::filesystem::path(o.config).stem().string())
                          : std::filesystem::path(o.run_dir);
    d = agents::Distiller::start(config, dir, options);
  }
  if (d->finished()) {
    std::cerr << "run " << d->run_dir().root().string() << " is already complete\n";
    return;
  }
  d->run();
  std::cout << d->run_dir().root().string() << "\n";
}

}  // namespace

void add_distill_command(CLI::App& app) {
  auto args = std::make_shared<DistillArgs>();
  auto* cmd = app.add_subcommand("distill", summary_of("distill"));
  add_run_options(*cmd, args->run);
  cmd->add_flag("--quiet", args->quiet, "no status messages");
  cmd->callback([args] { run_distill(*args); });
}

}  // namespace trustrl::cli
