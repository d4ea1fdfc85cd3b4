#pragma once
// The env conformance suite: checks that any VectorEnv of 1..N agents (a plain env as one agent,
// a multi-agent env, built-in, Box2D or remote) keeps the contract of vector_env.h and
// multi_agent_env.h: spec consistency, observations and states in their spaces with zero padding,
// finite rewards, active-mask semantics (inactive agents get no reward and never come back within
// an episode; a running episode has an active agent), episode statistics, truncation at the time
// limit, seeding, save/load, and refusal of bad actions leaving every copy unchanged. The gtest
// suite runs it on every registered env; `trustrl check-env` runs it against a remote simulator
// and prints the report. Messages name an agent only where the env has more than one.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "envs/check.h"
#include "envs/vector_env.h"

namespace trustrl::envs {

struct ConformanceOptions {
  /// Copies per vector env the suite makes.
  int num_envs = 3;
  /// Vector steps taken by the contract and determinism checks.
  int steps = 600;
  std::uint64_t seed = 12345;
};

/// Makes a fresh vector env. `time_limit`, when set, asks for that episode time limit (the suite
/// uses a short one to see truncation quickly); a maker that cannot honour it returns an env
/// with its own limit and the suite checks truncation against spec().max_episode_steps.
using VectorEnvMaker =
    std::function<std::unique_ptr<VectorEnv>(int num_envs, std::optional<int> time_limit)>;

/// Runs every check; never throws (an exception inside a check fails that check).
std::vector<ConformanceCheck> run_conformance(const VectorEnvMaker& make,
                                              const ConformanceOptions& options = {});

/// A maker for a registered env (plain or multi-agent), as LocalVectorEnv copies.
VectorEnvMaker local_env_maker(const std::string& id, const OptionMap& options = {},
                               int num_threads = 1);

}  // namespace trustrl::envs
