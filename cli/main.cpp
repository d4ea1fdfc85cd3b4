// trustrl: evaluate, export, plot and serve, and act for a learner, without libtorch; the commands
// that train are handed to trustrl-train (cli/hand_over.h).

#include "cli/app.h"

int main(int argc, char** argv) {
  return trustrl::cli::run_cli(argc, argv, trustrl::cli::acting_commands(), /*hand_over=*/true);
}
