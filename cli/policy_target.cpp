#include "cli/policy_target.h"

#include "core/error.h"
#include "core/run_dir.h"

namespace trustrl::cli {

std::filesystem::path policy_file_of(const std::string& target, const std::string& command) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(target, ec)) throw Error("'" + target + "' does not exist");
  if (!fs::is_directory(target, ec)) return target;
  const RunDir run = RunDir::open(target);
  if (const auto saved = run.saved_policy()) return *saved;
  const auto checkpoints = run.checkpoints();
  if (checkpoints.empty())
    throw Error("run '" + target +
                "' has no saved policy yet (policy.trustrl): it has not finished a checkpoint");
  throw Error("run '" + target + "' has " + std::to_string(checkpoints.size()) +
              " checkpoint(s) but its policy.trustrl is missing (removed, or the run was stopped "
              "while writing it); use the newest checkpoint instead: trustrl " +
              command + " " + checkpoints.back().string());
}

}  // namespace trustrl::cli
