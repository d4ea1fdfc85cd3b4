#pragma once
// The multi-agent conformance suite: checks that any MultiAgentVectorEnv (built-in or remote)
// keeps the contract of multi_agent_env.h and multi_agent_vector_env.h: spec consistency,
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
#include "envs/multi_agent_vector_env.h"

namespace trustrl::envs {

/// Makes a fresh multi-agent vector env; `time_limit` as in VectorEnvMaker (conformance.h).
using MultiAgentVectorEnvMaker = std::function<std::unique_ptr<MultiAgentVectorEnv>(
    int num_envs, std::optional<int> time_limit)>;

/// Runs every check; never throws (an exception inside a check fails that check).
std::vector<ConformanceCheck> run_multi_agent_conformance(const MultiAgentVectorEnvMaker& make,
                                                          const ConformanceOptions& options = {});

/// A maker for a registered multi-agent env, as LocalMultiAgentVectorEnv copies.
MultiAgentVectorEnvMaker local_multi_agent_env_maker(const std::string& id,
                                                     const OptionMap& options = {},
                                                     int num_threads = 1);

}  // namespace trustrl::envs
