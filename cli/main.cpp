// trustrl: train, evaluate and serve reinforcement-learning agents.

#include <iostream>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "trustrl/version.h"

int main(int argc, char** argv) {
  CLI::App app{"trustrl: PPO and MAPPO with KL trust regions, on built-in or remote envs"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for every subcommand");
  app.set_version_flag("--version", "trustrl " + std::string(trustrl::kVersion));
  trustrl::cli::add_train_command(app);
  trustrl::cli::add_distill_command(app);
  trustrl::cli::add_eval_command(app);
  trustrl::cli::add_export_command(app);
  trustrl::cli::add_plot_command(app);
  trustrl::cli::add_envs_command(app);
  trustrl::cli::add_config_command(app);
  trustrl::cli::add_bench_command(app);
  trustrl::cli::add_env_server_command(app);
  trustrl::cli::add_check_env_command(app);
  trustrl::cli::add_learner_command(app);
  trustrl::cli::add_actor_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and the like print as CLI11 has them; a refused flag is one line, as other errors.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::cerr << "trustrl: error: " << e.what() << " (see --help)\n";
    return e.get_exit_code();
  } catch (const trustrl::Error& e) {
    std::cerr << "trustrl: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "trustrl: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
