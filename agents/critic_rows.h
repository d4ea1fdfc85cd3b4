#pragma once
// MAPPO's centralized critic reads the same global-state row for every agent of an env step
// (mappo.critic_input: state without the agent id). A batch then holds each distinct row once and,
// per sample, the row it reads; a minibatch evaluates the critic on the distinct rows among its
// samples and gathers the values back, so each state costs one forward and one backward however
// many agents read it. By the chain rule the gradient is the per-sample one: a row's value
// gradient is the sum of its samples' (docs/DESIGN.md, "The centralized critic once per state").

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "agents/policy_snapshot.h"

namespace trustrl::agents {

/// A minibatch's critic inputs.
struct CriticRows {
  /// [u, critic_input], contiguous: each distinct row once, in order of first use.
  torch::Tensor inputs;
  /// [m] int64: sample i reads inputs[index[i]]. Undefined when inputs has a row per sample.
  torch::Tensor index;

  /// The critic's value of every sample from its values of `inputs` ([u] -> [m]); autograd
  /// carries the gradient back to the distinct rows.
  torch::Tensor per_sample(const torch::Tensor& values) const {
    return index.defined() ? values.index_select(0, index) : values;
  }
};

/// Picks a minibatch's distinct critic rows. Keeps its scratch between minibatches.
class CriticRowGather {
 public:
  /// Samples [start, start + count) of an epoch whose critic inputs are `table`: one row per
  /// sample when `index` is undefined, else the distinct rows, sample i reading
  /// table[index[i]] ([B] int64). Throws Error if an index is outside the table.
  CriticRows gather(const torch::Tensor& table, const torch::Tensor& index, std::int64_t start,
                    std::int64_t count);

 private:
  std::vector<std::int64_t> slot_;  // per table row: its place among the distinct rows, or -1
};

}  // namespace trustrl::agents
