#pragma once
// The `trustrl` command line, shared by its two binaries: trustrl (no libtorch) and
// trustrl-train (every command). main() of each is one call to run_cli().

#include <map>
#include <string_view>

#include "cli/command_list.h"

namespace trustrl::cli {

/// The adders of the commands that never train (eval, export, plot, envs, bench, env-server,
/// check-env, actor): what the libtorch-free binary runs itself.
std::map<std::string_view, CommandAdder> acting_commands();

/// Parses `argv` into the commands of `adders` and runs the chosen one; returns the exit code.
/// With `hand_over`, a training command this binary lacks (and --help-all, which prints them)
/// goes to trustrl-train by execv() before anything else happens.
int run_cli(int argc, char** argv, const std::map<std::string_view, CommandAdder>& adders,
            bool hand_over);

}  // namespace trustrl::cli
