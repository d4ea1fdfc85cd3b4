#pragma once
// policy.pt: everything `trustrl eval` needs to run a trained policy without its run: the env it
// was trained on and the policy (weights, frozen input and value statistics, per agent group).
// Written atomically, checksummed (core/section_file.h); checkpoints carry the same sections.

#include <filesystem>
#include <string>

#include "agents/policy_snapshot.h"
#include "core/config.h"
#include "core/section_file.h"

namespace trustrl::agents {

struct SavedPolicy {
  std::string env_id;
  OptionMap env_options;
  bool multi_agent = false;
  PolicySnapshot snapshot;

  void write(const std::filesystem::path& path) const;
  /// Reads a policy file, or the policy inside a checkpoint. Throws Error with one line naming
  /// the file if it is missing, holds no policy, or is corrupt.
  static SavedPolicy read(const std::filesystem::path& path);

  /// The policy as sections of a checkpoint or policy file.
  void add_to(SectionFile& file) const;
  static SavedPolicy from(const SectionFile& file);
};

}  // namespace trustrl::agents
