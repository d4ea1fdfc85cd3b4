#pragma once
// Evaluation: run a policy for a fixed number of episodes and report returns and lengths.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "agents/policy_snapshot.h"
#include "envs/frame.h"
#include "envs/vector_env.h"

namespace trustrl::agents {

struct EvalResult {
  /// Per episode: the return (multi-agent: the mean over agents of each agent's return).
  std::vector<double> returns;
  std::vector<std::int32_t> lengths;
  /// Multi-agent: rewards summed over agents, per episode.
  std::vector<double> team_returns;

  double mean_return() const;
  double std_return() const;
  double mean_length() const;
  double std_length() const;
};

/// Runs `episodes` episodes of `policy` on `env` (reset with `seed`): copy i plays episodes
/// i, i + N, i + 2N, ..., so the episode count per copy is fixed in advance and short episodes
/// are not over-represented. Inputs are normalized with the policy's frozen statistics.
/// `on_frame`, if set, receives copy 0's frames while it plays its episodes.
EvalResult evaluate(std::unique_ptr<envs::VectorEnv> env, const PolicySnapshot& policy,
                    int episodes, bool deterministic, std::uint64_t seed,
                    const std::function<void(const envs::Frame&)>& on_frame = {});

}  // namespace trustrl::agents
