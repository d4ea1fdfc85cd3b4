#pragma once
// The actor role: owns a VectorEnv and a policy snapshot, and produces Rollouts.

#include <cstdint>
#include <memory>

#include "agents/inference.h"
#include "agents/policy_snapshot.h"
#include "agents/rollout.h"
#include "core/bytes.h"
#include "core/rng.h"
#include "envs/vector_env.h"

namespace trustrl::agents {

class Actor {
 public:
  /// `seed` seeds the envs (copy i gets seed + i) and the action sampling.
  Actor(std::unique_ptr<envs::VectorEnv> env, std::uint64_t seed);

  /// Acts with `snapshot` from now on (a copy is kept).
  void set_policy(const PolicySnapshot& snapshot);
  std::int64_t policy_version() const { return snapshot_.version; }

  /// Steps every env copy `steps` times with the current policy and fills `out`.
  void collect(int steps, Rollout& out);

  envs::VectorEnv& env() { return *env_; }
  const Rng& rng() const { return rng_; }
  /// Env steps taken so far (steps x copies).
  std::int64_t env_steps() const { return env_steps_; }

  /// Envs, sampling RNG and counters, so that a resumed run continues exactly; throws Error if
  /// the envs cannot be saved (then use restart()).
  void save(ByteWriter& out) const;
  void load(ByteReader& in);
  /// Starts fresh episodes with envs seeded from `seed` (for resuming when the envs cannot be
  /// saved), keeping the step counter.
  void restart(std::uint64_t seed);
  void set_env_steps(std::int64_t steps) { env_steps_ = steps; }

 private:
  std::unique_ptr<envs::VectorEnv> env_;
  PolicySnapshot snapshot_;
  PolicyInference policy_;
  Rng rng_;
  std::int64_t env_steps_ = 0;
  // scratch
  std::vector<float> normalized_, final_rows_, final_values_;
  std::vector<float> clipped_;
  std::vector<int> final_index_;
  ActResult act_;
};

}  // namespace trustrl::agents
