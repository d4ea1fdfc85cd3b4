#pragma once
// The learner's side of the actor protocol without the wire: membership
// (server/gatherer/actor_membership.h), planning (which member is asked for how many rollouts of
// which version) and batch assembly (pushed rollouts, their sequence numbers, the batch of the
// training loop). The learner service (server/distributed/learner_service.h) is a thin gRPC layer
// over it: it converts messages to the plain structs of server/gatherer/gatherer_messages.h and
// Refusal to statuses. Thread-safe: actors' calls come from gRPC threads while next_batch() blocks
// on the learner's.
//
// Synchronous mode: for each version the learner asks the members for rollouts, one per actor in
// slot order (rotating) until their copies cover the batch, more per actor when there are too few;
// it takes rollouts of exactly the current version until it has the batch, in (slot, sequence)
// order, and drops copies beyond it. An actor that leaves, closes its stream or misses heartbeats
// for actor_timeout_s is gone at once; one that has not delivered within straggler_timeout_s is
// late: its share is asked of the others (its rollout is still taken if it comes first).
// Asynchronous mode: members are asked for rollouts, one at a time each, until what is queued and
// in flight covers the next batch, so they collect it while the learner trains on this one;
// rollouts older than version - max_staleness are refused; batches take the oldest rollouts
// first. docs/DISTRIBUTED.md has the details.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agents/distributed_config.h"
#include "agents/policy_snapshot.h"
#include "agents/rollout.h"
#include "agents/rollout_channel.h"
#include "agents/rollout_limits.h"
#include "server/gatherer/actor_membership.h"
#include "server/gatherer/gatherer_messages.h"

namespace trustrl::server {

struct GathererSettings {
  agents::DistributedConfig distributed;
  /// The batch of one update: env copies x steps.
  int batch_envs = 0;
  int num_steps = 0;
  /// Agents per env copy and the discount, for the limits on what a rollout can hold.
  int num_agents = 1;
  double gamma = 0.99;
  /// This learner's rank and the run's seed, for the members' env seeds.
  int rank = 0;
  std::uint64_t seed = 0;
  /// Caps on members, in all and from one client host (>= 1).
  int max_actors = 256;
  int max_actors_per_peer = 256;
  /// A batch is begun only while at least this many actors are members.
  int min_actors = 1;
  /// How long finish() waits for the members (and actors cut off just before) to hear the end.
  double finish_grace_s = 5.0;
  /// The policy's chunk size on the wire, named in the log line of the first publish.
  int chunk_bytes = 0;
  /// One line per event (joins, departures, refusals, late actors); called from several
  /// threads, mostly with the gatherer's lock held.
  std::function<void(const std::string&)> log;
  /// Also log the rollouts each batch took: "batch for version V: 'a' #7 (4 copies), ...".
  bool log_batches = false;
};

class RolloutGatherer {
 public:
  /// Throws Error when the sizes or caps are out of range.
  explicit RolloutGatherer(GathererSettings settings);
  RolloutGatherer(const RolloutGatherer&) = delete;
  RolloutGatherer& operator=(const RolloutGatherer&) = delete;

  // ---- actors' calls; each throws Refusal for what the actor must be told

  /// Makes the actor a member (replacing an older incarnation of it, whose stream is closed).
  /// Refusals: kInvalidArgument (the request), kOutOfRange (the run is over),
  /// kFailedPrecondition (stale), kResourceExhausted (a cap).
  JoinAnswer join(const JoinRequest& request);
  /// A heartbeat on `sink`'s stream: directives go to `sink` from now on (a stream it replaces
  /// is closed). Returns the member's directive.
  Directive heartbeat(const HeartbeatReport& report, const std::shared_ptr<DirectiveSink>& sink);
  /// `sink`'s stream ended: its member is gone.
  void sink_closed(const DirectiveSink* sink);
  /// The policy for a member to fetch (no bytes before the first publish).
  Parameters parameters(const std::string& actor_id, std::uint64_t incarnation);
  /// The first look at a push, before its rollout is read: the answer to a sequence number seen
  /// before, or the copy count the rollout must have. Refusals: kInvalidArgument (a sequence
  /// below 1 or far ahead, a version from the future), and those of a non-member.
  PushAdmission admit_push(const PushHeader& header);
  /// The pushed rollout (converted from `wire_bytes` bytes): refused (kInvalidArgument) when its
  /// version differs from the header's or a value lies outside what the policy can produce;
  /// otherwise answered: accepted into the batch, or why not (stale, not needed).
  PushAnswer take_push(const PushHeader& header, agents::Rollout rollout, std::int64_t wire_bytes);
  /// The member says goodbye.
  void leave(const std::string& actor_id, std::uint64_t incarnation);

  // ---- the learner's training loop (agents::RolloutChannel)

  /// Members act with `snapshot` from now on; rollouts too old for it are dropped.
  void publish(const agents::PolicySnapshot& snapshot);
  /// Blocks until the batch of the last published version is gathered; false if stop() came
  /// first. Throws Error if the size is not the one this gatherer gathers.
  bool next_batch(int num_envs, int num_steps, agents::Batch& out);
  void stop();
  /// Tells members the run is over, and waits up to finish_grace_s for them to leave.
  void finish();

  int members() const;
  /// Rollouts accepted so far (a duplicate push counts once).
  std::int64_t accepted_rollouts() const;
  std::int64_t cut_episodes() const;
  std::int64_t unstable_steps() const;
  /// After a resume: actors that join from now on get env seeds derived from `seed`.
  void restart(std::uint64_t seed);

 private:
  using Clock = std::chrono::steady_clock;
  using Outbox = std::vector<std::pair<std::shared_ptr<DirectiveSink>, Directive>>;
  using Closing = std::vector<std::shared_ptr<DirectiveSink>>;
  struct Part {
    int slot = 0;
    std::string actor_id;
    std::int64_t sequence = 0;
    agents::Rollout rollout;
  };

  // Everything below with _locked runs with mutex_ held.
  Directive directive_locked(const Member& m) const;
  // The answer to a push whose sequence number was seen before; nullopt for the next new one.
  // Throws Refusal for one that jumps too far.
  std::optional<PushAnswer> answer_seen_sequence_locked(const Member& m,
                                                        const PushHeader& header) const;
  void queue_all_locked(Outbox& outbox) const;
  // `left`: the actor said goodbye (Leave, or it joined again), so it is not cut off.
  void remove_member_locked(const std::string& actor_id, const std::string& why, Outbox& outbox,
                            Closing* to_close, bool left = false);
  // Asks members for rollouts until the batch is covered (see the top of this file).
  void plan_locked(Outbox& outbox);
  void log(const std::string& line) const {
    if (settings_.log) settings_.log(line);
  }
  static void send(const Outbox& outbox);
  static void close(const Closing& sinks, const std::optional<Refusal>& why);

  const GathererSettings settings_;
  const agents::DistributedConfig& dist_;
  const bool sync_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  ActorMembership membership_;
  std::int64_t version_ = -1;
  std::shared_ptr<const std::vector<std::uint8_t>> parameters_;
  // What rollouts of each version still taken may hold, by version.
  std::map<std::int64_t, agents::RolloutLimits> limits_;
  std::vector<Part> pool_;
  int pool_envs_ = 0;
  Clock::time_point deadline_{};
  std::int64_t discarded_steps_ = 0;
  std::int64_t accepted_ = 0;
  bool stopping_ = false;
  bool finished_ = false;
  bool batch_taken_ = false;  // sync: this version's batch is out; nothing more until the next one
  bool batch_begun_ = false;  // sync: rollouts of this version were asked for
  std::int64_t rotation_ = 0;
};

}  // namespace trustrl::server
