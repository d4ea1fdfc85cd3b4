#include "cli/app.h"

#include <filesystem>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "cli/hand_over.h"
#include "core/error.h"
#include "trustrl/version.h"

namespace trustrl::cli {

namespace {

// Whether this command line goes to trustrl-train: a training command (always the first
// argument, as the only options before a command are --help, --help-all and --version), or
// --help-all, which prints every command's options, when trustrl-train is installed.
bool goes_to_training(int argc, char** argv,
                      const std::map<std::string_view, CommandAdder>& adders) {
  if (argc < 2) return false;
  const std::string_view first = argv[1];
  if (is_training_command(first)) return !adders.contains(first);
  if (first == "--help-all") {
    std::error_code ec;
    return std::filesystem::exists(training_binary(), ec);
  }
  return false;
}

}  // namespace

std::map<std::string_view, CommandAdder> acting_commands() {
  return {{"eval", add_eval_command},           {"export", add_export_command},
          {"plot", add_plot_command},           {"envs", add_envs_command},
          {"bench", add_bench_command},         {"env-server", add_env_server_command},
          {"check-env", add_check_env_command}, {"actor", add_actor_command}};
}

int run_cli(int argc, char** argv, const std::map<std::string_view, CommandAdder>& adders,
            bool hand_over) {
  try {
    if (hand_over && goes_to_training(argc, argv, adders)) hand_over_to_training(argv);
    CLI::App app{"trustrl: PPO and MAPPO with KL trust regions, on built-in or remote envs"};
    app.require_subcommand(1);
    app.set_help_all_flag("--help-all", "Print help for every subcommand");
    app.set_version_flag("--version", "trustrl " + std::string(trustrl::kVersion));
    add_commands(app, adders, hand_over ? argv : nullptr);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      // --help and the like print as CLI11 has them; a refused flag is one line, as other errors.
      if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
      std::cerr << "trustrl: error: " << e.what() << " (see --help)\n";
      return e.get_exit_code();
    }
  } catch (const trustrl::Error& e) {
    std::cerr << "trustrl: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "trustrl: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace trustrl::cli
