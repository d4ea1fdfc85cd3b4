// trustrl-train: every trustrl command, the training ones (which link libtorch) included.
// `trustrl train ...` becomes this binary (cli/hand_over.h); it can also be run by its own name.

#include "cli/app.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  auto commands = trustrl::cli::acting_commands();
  commands.insert({{"train", trustrl::cli::add_train_command},
                   {"distill", trustrl::cli::add_distill_command},
                   {"config", trustrl::cli::add_config_command},
                   {"learner", trustrl::cli::add_learner_command}});
  return trustrl::cli::run_cli(argc, argv, commands, /*hand_over=*/false);
}
