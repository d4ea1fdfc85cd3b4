#pragma once
// Where a learner's training loop gets its batches and sends its policies. `trustrl train` uses
// LocalRolloutChannel (the actor runs in the same process, on the same thread); `trustrl learner`
// uses server::LearnerService (actors in other processes, over gRPC). The loop (agents/trainer.h)
// is the same for both, so a learner with one actor process computes what `trustrl train` does.

#include <cstdint>
#include <memory>
#include <string>

#include "agents/actor.h"
#include "agents/collective.h"
#include "agents/policy_snapshot.h"
#include "agents/rollout.h"
#include "core/bytes.h"

namespace trustrl::agents {

/// One update's experience and what the channel saw while gathering it.
struct Batch {
  /// Exactly the copies and steps asked for, side by side in a fixed order.
  Rollout rollout;
  /// Learner version minus the version that acted, averaged over copies, and its maximum.
  double mean_version_lag = 0;
  std::int64_t max_version_lag = 0;
  /// Actors whose rollouts are in the batch.
  int actors = 1;
  /// Env steps collected for this batch but not used (a copy count that overshot, a late
  /// rollout after its share went to another actor, stale rollouts refused), since the last batch.
  std::int64_t discarded_steps = 0;
  /// Seconds the actors spent waiting (for work, parameters, replies) since the last batch,
  /// summed over actors.
  double actor_wait_seconds = 0;
};

class RolloutChannel {
 public:
  virtual ~RolloutChannel() = default;

  /// Actors act with `snapshot` from now on (the version it carries).
  virtual void publish(const PolicySnapshot& snapshot) = 0;
  /// Blocks until a batch of `num_envs` copies x `num_steps` steps is gathered for the policy
  /// version last published; false if stop() was called first.
  virtual bool next_batch(int num_envs, int num_steps, Batch& out) = 0;
  /// Makes a blocked next_batch() throw soon; safe from a signal handler's thread.
  virtual void stop() {}
  /// The run is over: actors are told to leave (waits a little for them).
  virtual void finish() {}

  /// Episodes cut by something outside the envs so far (remote simulators that went away).
  virtual std::int64_t cut_episodes() const = 0;
  /// Env steps ended by simulation instability so far, over every actor (Env::unstable_steps).
  virtual std::int64_t unstable_steps() const = 0;
  /// How the in-process actor's envs are threaded (Actor::env_threads_report); empty for actors
  /// in other processes.
  virtual std::string env_threads_report() const { return {}; }
  /// Whether save() captures the actors exactly (an in-process actor on envs that can be saved).
  virtual bool can_snapshot() const = 0;
  virtual void save(ByteWriter& out) const = 0;
  virtual void load(ByteReader& in) = 0;
  /// After a resume that could not restore the actors: fresh episodes seeded from `seed`, and the
  /// env-step count to continue from.
  virtual void restart(std::uint64_t seed, std::int64_t env_steps) = 0;
};

/// Data-parallel learners: every learner's batch side by side, in rank order, replaces `batch`
/// on every learner (lags and counts combined). `have` says whether this learner got a batch;
/// false on any learner makes it false on all (they stop together).
bool all_gather_batch(Collective& collective, Batch& batch, bool have);

/// An actor in this process, stepped on the learner's thread.
class LocalRolloutChannel final : public RolloutChannel {
 public:
  explicit LocalRolloutChannel(std::unique_ptr<Actor> actor) : actor_(std::move(actor)) {}

  void publish(const PolicySnapshot& snapshot) override { actor_->set_policy(snapshot); }
  bool next_batch(int num_envs, int num_steps, Batch& out) override;
  std::int64_t cut_episodes() const override { return actor_->cut_episodes(); }
  std::int64_t unstable_steps() const override { return actor_->unstable_steps(); }
  std::string env_threads_report() const override { return actor_->env_threads_report(); }
  bool can_snapshot() const override { return actor_->can_snapshot(); }
  void save(ByteWriter& out) const override { actor_->save(out); }
  void load(ByteReader& in) override { actor_->load(in); }
  void restart(std::uint64_t seed, std::int64_t env_steps) override {
    actor_->restart(seed);
    actor_->set_env_steps(env_steps);
  }

  Actor& actor() { return *actor_; }

 private:
  std::unique_ptr<Actor> actor_;
};

}  // namespace trustrl::agents
