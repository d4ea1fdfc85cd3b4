#pragma once
// A policy that a config names by a policy file or a run directory (trust_region.reference, the
// teachers of `trustrl distill`), read and checked against the env it is to act in before any
// training starts. Errors are one line naming the config key and the file.

#include <string>

#include "agents/saved_policy.h"
#include "envs/env.h"
#include "envs/multi_agent_env.h"

namespace trustrl::agents {

/// Reads the policy file `target`, or the policy of the run directory `target`. Throws Error
/// starting with `key` if it is missing, corrupt or holds no policy.
SavedPolicy read_policy_source(const std::string& target, const std::string& key);

/// Throws Error starting with `key`, naming the file, both env ids and both spec hashes
/// (policy_spec_hash.h), unless `policy` acts in `spec`.
void check_policy_source(const SavedPolicy& policy, const envs::EnvSpec& spec,
                         const std::string& key);
void check_policy_source(const SavedPolicy& policy, const envs::MultiAgentSpec& spec,
                         const std::string& key);

}  // namespace trustrl::agents
