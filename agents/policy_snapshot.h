#pragma once
// What a learner publishes and an actor acts with: a version number, the policy's weights and
// the observation statistics they were trained with.

#include <cstdint>

#include "agents/inference.h"
#include "agents/normalizer.h"
#include "core/bytes.h"

namespace trustrl::agents {

struct PolicySnapshot {
  std::int64_t version = 0;
  PolicyWeights weights;
  ObsNormalizer obs_normalizer;

  void save(ByteWriter& out) const;
  /// `obs_dim` and the normalizer settings come from the reader's own config.
  void load(ByteReader& in);
};

}  // namespace trustrl::agents
