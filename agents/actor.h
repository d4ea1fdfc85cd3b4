#pragma once
// The actor role: owns env copies and a policy snapshot, and produces Rollouts.

#include <cstdint>
#include <string>

#include "agents/policy_snapshot.h"
#include "agents/rollout.h"
#include "core/bytes.h"
#include "core/rng.h"

namespace trustrl::agents {

class Actor {
 public:
  virtual ~Actor() = default;

  /// Acts with `snapshot` from now on (a copy is kept).
  virtual void set_policy(const PolicySnapshot& snapshot) = 0;
  virtual std::int64_t policy_version() const = 0;
  /// Steps every env copy `steps` times with the current policy and fills `out`.
  virtual void collect(int steps, Rollout& out) = 0;

  /// Env steps taken so far (steps x copies).
  virtual std::int64_t env_steps() const = 0;
  virtual void set_env_steps(std::int64_t steps) = 0;
  virtual std::string env_id() const = 0;
  virtual int num_envs() const = 0;
  /// Episodes cut by something outside the envs (a remote simulator that went away), so far.
  virtual std::int64_t cut_episodes() const { return 0; }
  /// Env steps ended by simulation instability (VectorEnv::unstable_steps).
  virtual std::int64_t unstable_steps() const { return 0; }
  /// VectorEnv::threads_report of the actor's envs; empty where there is none (yet).
  virtual std::string env_threads_report() const { return {}; }

  /// Whether save() can capture the envs exactly (Box2D worlds and remote envs cannot).
  virtual bool can_snapshot() const = 0;
  /// Envs, sampling RNG and counters, so that a resumed run continues exactly.
  virtual void save(ByteWriter& out) const = 0;
  virtual void load(ByteReader& in) = 0;
  /// Starts fresh episodes with envs seeded from `seed` (resuming when the envs cannot be saved).
  virtual void restart(std::uint64_t seed) = 0;
  virtual const Rng& rng() const = 0;
};

}  // namespace trustrl::agents
