#pragma once
// The multi-agent conformance suite: checks that any VectorEnv (built-in or remote)
// keeps the contract of multi_agent_env.h and vector_env.h: spec consistency,
// observations and states in their spaces with zero padding, finite rewards, active-mask
// semantics (inactive agents get no reward and never come back within an episode; a running
// episode has an active agent), episode statistics, truncation at the time limit, seeding, and
// refusal of bad joint actions. The gtest suite runs it on every registered multi-agent env.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "envs/conformance.h"
#include "envs/vector_env.h"

namespace trustrl::envs {

/// Runs every check; never throws (an exception inside a check fails that check).
std::vector<ConformanceCheck> run_multi_agent_conformance(const VectorEnvMaker& make,
                                                          const ConformanceOptions& options = {});

}  // namespace trustrl::envs
