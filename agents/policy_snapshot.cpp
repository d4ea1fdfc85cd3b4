#include "agents/policy_snapshot.h"

namespace trustrl::agents {

void PolicySnapshot::save(ByteWriter& out) const {
  out.put(version);
  weights.save(out);
  obs_normalizer.save(out);
}

void PolicySnapshot::load(ByteReader& in) {
  version = in.get<std::int64_t>();
  envs::Space space = weights.action_space;
  weights = PolicyWeights::load(in);
  weights.action_space = space;
  obs_normalizer.load(in);
}

}  // namespace trustrl::agents
