#pragma once
// What actors and the rollout gatherer say to each other, as plain structs: the learner service
// converts them from and to the messages of proto/trustrl/learner/v1/learner.proto, field by
// field, so the gatherer never sees protobuf or gRPC.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/transport/refusal.h"

namespace trustrl::server {

struct JoinRequest {
  std::string actor_id;
  std::uint64_t incarnation = 0;
  int num_envs = 0;
  /// The client host it calls from (the peer's address without its port): the per-host cap.
  std::string host;
  /// The whole peer address, for the log ("ipv4:127.0.0.1:50312").
  std::string peer;
};

struct JoinAnswer {
  int slot = 0;
  std::uint64_t env_seed = 0;
  std::int64_t policy_version = -1;
};

/// What a member reports on its heartbeat stream.
struct HeartbeatReport {
  std::string actor_id;
  std::uint64_t incarnation = 0;
  double waiting_seconds = 0;
  std::int64_t cut_episodes = 0;
  std::int64_t unstable_steps = 0;
};

/// What the learner wants of one member now (each carries the whole state).
struct Directive {
  std::int64_t policy_version = -1;
  std::int64_t min_policy_version = 0;
  std::int64_t rollouts_requested = 0;
  bool finished = false;
};

/// Where a member's directives go: its heartbeat stream. Called without the gatherer's lock.
class DirectiveSink {
 public:
  virtual ~DirectiveSink() = default;
  virtual void send(const Directive& directive) = 0;
  /// Ends the stream; nullopt: normally (the actor left).
  virtual void close(const std::optional<Refusal>& why) = 0;
};

/// The policy a member fetches: the learner's serialized PolicySnapshot (null before the first).
struct Parameters {
  std::shared_ptr<const std::vector<std::uint8_t>> bytes;
  std::int64_t version = -1;
};

/// The header of a pushed rollout.
struct PushHeader {
  std::string actor_id;
  std::uint64_t incarnation = 0;
  /// 1, 2, ... per membership; a retry keeps its number.
  std::int64_t sequence = 0;
  std::int64_t policy_version = 0;
};

struct PushAnswer {
  bool accepted = false;
  /// A retry of a push already answered (or an older sequence number): nothing new is taken.
  bool duplicate = false;
  std::int64_t policy_version = 0;
  /// Why it was not taken.
  std::string reason;
};

/// Before a pushed rollout is read: either the answer already (a sequence number seen before),
/// or the env copies the member's rollout must have.
struct PushAdmission {
  std::optional<PushAnswer> answer;
  int num_envs = 0;
};

}  // namespace trustrl::server
