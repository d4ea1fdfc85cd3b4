// `trustrl config [CONFIG] [--set key=value ...] [--keys]`: the resolved config, or every key.

#include <iostream>

#include "agents/train_config.h"
#include "cli/command_list.h"
#include "cli/commands.h"

namespace trustrl::cli {

void add_config_command(CLI::App& app) {
  struct Args {
    std::string config;
    std::vector<std::string> overrides;
    bool keys = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("config", summary_of("config"));
  cmd->add_option("config", args->config, "YAML config file (default: all defaults)");
  cmd->add_option("--set", args->overrides, "override a config key (repeatable)");
  cmd->add_flag("--keys", args->keys, "list every key with its default, bounds and doc");
  cmd->callback([args] {
    agents::TrainConfig c;
    if (args->config.empty())
      read_config(c, "", args->overrides);  // the defaults, which name no env yet
    else
      c = agents::load_train_config(args->config, args->overrides);
    std::cout << (args->keys ? describe_config(c) : write_config(c));
  });
}

}  // namespace trustrl::cli
