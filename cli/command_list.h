#pragma once
// Every `trustrl` subcommand with its --help line, in --help's order, and which of them train.
// The training ones link libtorch and live in the trustrl-train binary, which `trustrl` hands them
// to (cli/hand_over.h); both binaries list every command from this one table.

#include <CLI/CLI.hpp>
#include <map>
#include <span>
#include <string>
#include <string_view>

namespace trustrl::cli {

struct CommandInfo {
  std::string_view name;
  /// The line --help shows next to the name.
  std::string_view summary;
  /// Needs libtorch: only trustrl-train runs it.
  bool trains = false;
};

/// Every subcommand, in --help's order.
std::span<const CommandInfo> command_list();

/// The --help line of `name`; throws std::logic_error for a name not in command_list().
std::string summary_of(std::string_view name);

/// Whether `name` is a command that only trustrl-train runs.
bool is_training_command(std::string_view name);

/// Registers a subcommand on the app (the add_*_command functions of cli/commands.h).
using CommandAdder = void (*)(CLI::App&);

/// Adds every command of command_list() to `app` in order: those in `adders` by their adder, and,
/// when `argv` is given, the training ones this binary lacks as a stand-in that hands `argv` to
/// trustrl-train. Throws std::logic_error for a command that has neither.
void add_commands(CLI::App& app, const std::map<std::string_view, CommandAdder>& adders,
                  char** argv);

}  // namespace trustrl::cli
