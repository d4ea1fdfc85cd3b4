#include "envs/random_actions.h"

#include <algorithm>
#include <string>
#include <utility>

#include "core/error.h"

namespace trustrl::envs {

void sample_joint_actions(const MultiAgentSpec& spec, int copies,
                          std::span<const std::uint8_t> active, Rng& rng,
                          std::vector<std::int64_t>& discrete, std::vector<float>& continuous) {
  const auto agents = static_cast<std::size_t>(spec.num_agents());
  const auto width = static_cast<std::size_t>(spec.max_action_dim());
  const std::size_t rows = static_cast<std::size_t>(copies) * agents;
  if (!active.empty() && active.size() != rows)
    throw Error("sample_joint_actions: the active mask has " + std::to_string(active.size()) +
                " entries, the batch " + std::to_string(rows) + " agent rows");
  discrete.assign(spec.has_discrete_actions() ? rows * width : 0, kNoDiscreteAction);
  continuous.assign(spec.has_continuous_actions() ? rows * width : 0, kNoContinuousAction);
  for (std::size_t k = 0; k < rows; ++k) {
    if (!active.empty() && !active[k]) continue;
    const Space& space = spec.action_spaces[k % agents];
    const auto dim = static_cast<std::size_t>(space.flat_dim());
    if (space.is_discrete())
      space.sample(rng, std::span(discrete).subspan(k * width, dim));
    else
      space.sample(rng, std::span(continuous).subspan(k * width, dim));
  }
}

RandomJointActions::RandomJointActions(MultiAgentSpec spec, int copies, std::uint64_t seed)
    : spec_(std::move(spec)), copies_(copies), rng_(seed) {}

ActionBatch RandomJointActions::next(std::span<const std::uint8_t> active) {
  sample_joint_actions(spec_, copies_, active, rng_, discrete_, continuous_);
  return {discrete_, continuous_};
}

ActionPool::ActionPool(const MultiAgentSpec& spec, int copies, int batches, std::uint64_t seed)
    : width_(static_cast<std::size_t>(spec.max_action_dim())),
      count_(static_cast<std::size_t>(batches)) {
  if (batches < 1) throw Error("ActionPool: batches must be >= 1, got " + std::to_string(batches));
  Rng rng(seed);
  std::vector<std::int64_t> d;
  std::vector<float> c;
  for (std::size_t b = 0; b < count_; ++b) {
    sample_joint_actions(spec, copies, {}, rng, d, c);
    batch_ = std::max(d.size(), c.size());
    discrete_.insert(discrete_.end(), d.begin(), d.end());
    continuous_.insert(continuous_.end(), c.begin(), c.end());
  }
}

ActionBatch ActionPool::get(std::size_t k) const {
  const std::size_t off = (k % count_) * batch_;
  ActionBatch b;
  if (!discrete_.empty()) b.discrete = std::span(discrete_).subspan(off, batch_);
  if (!continuous_.empty()) b.continuous = std::span(continuous_).subspan(off, batch_);
  return b;
}

}  // namespace trustrl::envs
