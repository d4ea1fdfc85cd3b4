#pragma once
// A saved policy's action distribution, for reading it rather than training it: the reference of
// trust_region.reference and the teachers of `trustrl distill`. Inputs are normalized with the
// statistics the policy was trained with and the actor runs on the plain C++ path (inference.h).

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "agents/distribution.h"
#include "agents/inference.h"
#include "agents/policy_snapshot.h"

namespace trustrl::agents {

class FrozenPolicy {
 public:
  /// Throws Error naming `what` for a gSDE policy (its std depends on noise drawn per rollout).
  FrozenPolicy(GroupPolicy group, const std::string& what);

  const GroupPolicy& group() const { return group_; }
  int actor_input_dim() const { return group_.actor_input_dim(); }

  /// The distribution at `rows` raw actor inputs (as write_actor_input lays them out), float32,
  /// without a graph.
  Distribution distribution(const float* raw_inputs, std::int64_t rows);

 private:
  GroupPolicy group_;
  PolicyInference inference_;
  std::vector<float> normalized_, outputs_;
};

}  // namespace trustrl::agents
