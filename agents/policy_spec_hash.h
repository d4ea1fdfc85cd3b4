#pragma once
// What a policy acts on, as one number: per agent group, its agents, the width of its own
// observation and its action space. A policy and an env with equal hashes fit each other, so
// `trustrl distill` and trust_region.reference can refuse a mismatch with both numbers in one line.

#include <cstdint>
#include <string>

#include "agents/policy_snapshot.h"
#include "envs/env.h"
#include "envs/multi_agent_env.h"

namespace trustrl::agents {

std::uint64_t policy_spec_hash(const PolicySnapshot& policy);
std::uint64_t policy_spec_hash(const envs::EnvSpec& spec);
std::uint64_t policy_spec_hash(const envs::MultiAgentSpec& spec);
/// "0x" and 16 hex digits.
std::string spec_hash_text(std::uint64_t hash);

}  // namespace trustrl::agents
