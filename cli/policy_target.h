#pragma once
// What `trustrl eval` and `trustrl export` take: a run directory, a policy file (policy.trustrl,
// or an older run's policy.pt) or a checkpoint file.

#include <filesystem>
#include <string>

namespace trustrl::cli {

/// The file to read for `target`: a run's saved policy (policy.trustrl, else policy.pt), or
/// `target` itself if it is a file. Throws Error naming what is missing and what to use instead.
std::filesystem::path policy_file_of(const std::string& target, const std::string& command);

}  // namespace trustrl::cli
