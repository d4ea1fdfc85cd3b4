#pragma once
// Random valid joint actions for N copies of an env, laid out as ActionBatch wants: the
// conformance suite, tests and `trustrl bench envs` step envs on them.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/rng.h"
#include "envs/multi_agent_env.h"
#include "envs/vector_env.h"

namespace trustrl::envs {

/// Fills [copies, agents, max_action_dim] rows: each active agent's row drawn from its own action
/// space (in row order, so a seed gives one sequence), every other value the no-action sentinel.
/// `active` is [copies, agents] as in StepBuffers; empty means every agent acts. A buffer is
/// empty when no agent has that kind of space.
void sample_joint_actions(const MultiAgentSpec& spec, int copies,
                          std::span<const std::uint8_t> active, Rng& rng,
                          std::vector<std::int64_t>& discrete, std::vector<float>& continuous);

/// Fresh random joint actions at every call, for the agents active now.
class RandomJointActions {
 public:
  RandomJointActions(MultiAgentSpec spec, int copies, std::uint64_t seed);
  /// Valid until the next call.
  ActionBatch next(std::span<const std::uint8_t> active = {});
  /// What the last next() drew, again (empty before the first).
  ActionBatch last() const { return {discrete_, continuous_}; }

 private:
  MultiAgentSpec spec_;
  int copies_;
  Rng rng_;
  std::vector<std::int64_t> discrete_;
  std::vector<float> continuous_;
};

/// `batches` joint-action batches drawn up front and cycled, so a benchmark times the env and not
/// the drawing. Every agent acts in every batch.
class ActionPool {
 public:
  ActionPool(const MultiAgentSpec& spec, int copies, int batches, std::uint64_t seed);
  /// Batch k modulo the pool's size.
  ActionBatch get(std::size_t k) const;
  /// Values per agent row (the spec's max_action_dim).
  std::size_t row_width() const { return width_; }

 private:
  std::size_t width_;
  std::size_t batch_ = 0;
  std::size_t count_;
  std::vector<std::int64_t> discrete_;
  std::vector<float> continuous_;
};

}  // namespace trustrl::envs
