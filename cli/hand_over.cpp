#include "cli/hand_over.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "cli/command_list.h"
#include "core/error.h"

namespace trustrl::cli {

std::filesystem::path training_binary() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("cannot find this program's own path (/proc/self/exe): " + ec.message());
  return self.parent_path() / "trustrl-train";
}

void hand_over_to_training(char** argv) {
  const std::filesystem::path binary = training_binary();
  ::execv(binary.c_str(), argv);
  const int error = errno;
  const std::string command = argv[1] != nullptr ? argv[1] : "this command";
  std::string others;
  for (const CommandInfo& c : command_list())
    if (!c.trains) others += (others.empty() ? "" : ", ") + std::string(c.name);
  throw Error("'" + command + "' needs the training binary " + binary.string() + " (" +
              std::strerror(error) + "); this installation has only the commands without " +
              "libtorch (" + others + "): see docs/DEPLOY.md");
}

}  // namespace trustrl::cli
