#pragma once
// The `trustrl` subcommands. Each lives in its own file and registers itself on the app.

#include <CLI/CLI.hpp>

namespace trustrl::cli {

void add_bench_command(CLI::App& app);
/// `bench policy`, a subcommand of `bench`.
void add_bench_policy_command(CLI::App& bench);
void add_config_command(CLI::App& app);
void add_distill_command(CLI::App& app);
void add_envs_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_plot_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_env_server_command(CLI::App& app);
void add_check_env_command(CLI::App& app);
void add_learner_command(CLI::App& app);
void add_actor_command(CLI::App& app);

}  // namespace trustrl::cli
