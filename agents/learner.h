#pragma once
// The learner role: consumes Rollouts, updates its networks, publishes versioned policies.

#include <cstdint>

#include "agents/collective.h"
#include "agents/policy_snapshot.h"
#include "agents/policy_update.h"
#include "agents/rollout.h"
#include "core/bytes.h"

namespace trustrl::agents {

class Learner {
 public:
  virtual ~Learner() = default;

  /// One update on `rollout`. `progress_remaining` goes from 1 to 0 over training (LR and clip
  /// annealing); `source` names the actor the rollout came from (its reward-scaling streams).
  virtual UpdateStats update(const Rollout& rollout, double progress_remaining,
                             std::int64_t source = 0) = 0;
  /// The current policy; its version increases with every update.
  virtual PolicySnapshot snapshot() const = 0;
  virtual std::int64_t version() const = 0;

  /// Trains data parallel with the other learners of `collective` (not owned; null: alone). Every
  /// learner must then be given the same whole batch in update() (docs/DISTRIBUTED.md).
  virtual void set_collective(Collective* collective) = 0;

  /// Everything that makes the next update identical after a restart.
  virtual void save(ByteWriter& out) const = 0;
  virtual void load(ByteReader& in) = 0;
};

}  // namespace trustrl::agents
