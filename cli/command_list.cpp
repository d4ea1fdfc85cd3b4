#include "cli/command_list.h"

#include <array>
#include <stdexcept>

#include "cli/hand_over.h"

namespace trustrl::cli {

namespace {

constexpr std::array kCommands = {
    CommandInfo{"train", "Train an agent from a YAML config (prints the run directory at the end)",
                true},
    CommandInfo{"distill",
                "Distil one or more trained policies into a student (prints the run directory at "
                "the end)",
                true},
    CommandInfo{"eval", "Evaluate a saved policy: mean +- std return and length over N episodes"},
    CommandInfo{"export",
                "Write a saved policy as ONNX graphs for other runtimes (docs/DEPLOY.md)"},
    CommandInfo{"plot",
                "Plot runs' learning curves (seeds of one config as mean with a min-max band)"},
    CommandInfo{"envs", "List the built-in env ids with their spaces"},
    CommandInfo{"config", "Print a config as trustrl resolves it, or every key with its doc", true},
    CommandInfo{"bench", "Measure trustrl's speed"},
    CommandInfo{"env-server",
                "Serve a registered env (single- or multi-agent) over gRPC, N copies per session, "
                "until Ctrl-C"},
    CommandInfo{"check-env",
                "Check a remote simulator against the env protocol and the conformance suite"},
    CommandInfo{"learner",
                "Train from a YAML config with actors in other processes (trustrl actor)", true},
    CommandInfo{"actor", "Act for a learner (trustrl learner): step envs, push rollouts"},
};

const CommandInfo& info_of(std::string_view name) {
  for (const CommandInfo& c : kCommands)
    if (c.name == name) return c;
  throw std::logic_error("no command '" + std::string(name) + "' in cli/command_list.cpp");
}

}  // namespace

std::span<const CommandInfo> command_list() { return kCommands; }

std::string summary_of(std::string_view name) { return std::string(info_of(name).summary); }

bool is_training_command(std::string_view name) {
  for (const CommandInfo& c : kCommands)
    if (c.name == name) return c.trains;
  return false;
}

void add_commands(CLI::App& app, const std::map<std::string_view, CommandAdder>& adders,
                  char** argv) {
  for (const CommandInfo& c : kCommands) {
    if (const auto it = adders.find(c.name); it != adders.end()) {
      it->second(app);
    } else if (c.trains && argv != nullptr) {
      // Only for --help: main() hands a training command over before parsing. Kept accepting
      // anything, and handing over, should a command line reach it another way.
      auto* cmd = app.add_subcommand(std::string(c.name), std::string(c.summary));
      cmd->prefix_command();
      cmd->allow_extras();
      cmd->callback([argv] { hand_over_to_training(argv); });
    } else {
      throw std::logic_error("command '" + std::string(c.name) + "' has no adder in this binary");
    }
  }
}

}  // namespace trustrl::cli
