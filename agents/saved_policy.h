#pragma once
// policy.trustrl (older runs: policy.pt): everything `trustrl eval` needs to run a trained policy
// without its run: the env it was trained on and the policy (weights, frozen input and value
// statistics, per agent group).
// Written atomically, checksummed (core/section_file.h); checkpoints carry the same sections.

#include <filesystem>
#include <memory>
#include <string>

#include "agents/policy_snapshot.h"
#include "core/config.h"
#include "core/section_file.h"
#include "envs/vector_env.h"

namespace trustrl::agents {

struct SavedPolicy {
  std::string env_id;
  OptionMap env_options;
  bool multi_agent = false;
  PolicySnapshot snapshot;
  /// "policy file 'path'" (or "checkpoint file 'path'") for messages.
  std::string source = "in-memory policy";

  void write(const std::filesystem::path& path) const;
  /// Reads a policy file, or the policy inside a checkpoint. Throws Error with one line naming
  /// the file if it is missing, holds no policy, or is corrupt.
  static SavedPolicy read(const std::filesystem::path& path);

  /// Throw Error naming the file unless the policy acts for this env (spaces, widths, agents):
  /// a file that passed its checksum may still have been edited.
  void check_fits(const envs::EnvSpec& spec) const;
  void check_fits(const envs::MultiAgentSpec& spec) const;
  /// `copies` local copies of the env the policy names, as the registry defines it, checked
  /// with check_fits; Error names the file.
  std::unique_ptr<envs::LocalVectorEnv> make_env(int copies) const;
  std::unique_ptr<envs::LocalVectorEnv> make_multi_agent_env(int copies) const;

  /// The policy as sections of a checkpoint or policy file.
  void add_to(SectionFile& file) const;
  static SavedPolicy from(const SectionFile& file);
};

}  // namespace trustrl::agents
