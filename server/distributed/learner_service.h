#pragma once
// The learner's side of proto/trustrl/learner/v1/learner.proto: serves actor processes and
// gathers their rollouts into the batches of the training loop. It is the RolloutChannel of
// `trustrl learner` (agents/rollout_channel.h), so that loop is the one `trustrl train` runs.
//
//   LearnerService service(setup, {.listen = "127.0.0.1:0"});
//   std::cout << "listening on " << service.address() << "\n";
//
// A thin gRPC layer: what to do with joins, heartbeats and pushes, and how batches are gathered
// (synchronous and asynchronous modes), is server/gatherer/rollout_gatherer.h's; this converts
// messages to its plain structs and its refusals to statuses, streams the policy in chunks and
// reassembles pushed rollouts. docs/DISTRIBUTED.md has the details.
//
// gRPC: the Heartbeat stream uses the callback API (the learner pushes to it and never blocks on
// it); the other calls are short and use the synchronous API.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "agents/rollout_channel.h"
#include "agents/trainer.h"
#include "server/gatherer/learner_protocol.h"
#include "server/transport/transport.h"
#include "trustrl/learner/v1/learner.pb.h"

namespace grpc {
class Server;
}

namespace trustrl::server {

class Listener;

struct LearnerServiceOptions {
  /// Where to listen: "127.0.0.1:PORT" (port 0 picks a free one), "[::1]:PORT", "unix:/path".
  /// An address reachable from other machines (0.0.0.0, a host name) needs a token.
  std::string listen = "127.0.0.1:0";
  /// Shared secret every call must carry ("authorization: Bearer <token>"); empty: none.
  std::string token;
  /// PEM files of a TLS certificate and its key; both empty: plaintext.
  std::string tls_cert_file;
  std::string tls_key_file;
  int max_message_bytes = kDefaultMaxMessageBytes;
  /// Members at once; more joins are refused with RESOURCE_EXHAUSTED.
  int max_actors = 256;
  /// Members at once from one client host (the peer's address without its port); more joins
  /// from it are refused with RESOURCE_EXHAUSTED. 0: max_actors (every local actor shares
  /// 127.0.0.1).
  int max_actors_per_peer = 0;
  /// TCP connections one client host may hold at once; more are closed at once, with one log
  /// line. 0: default_connections_per_peer(max_actors), 1024 by default.
  std::int64_t max_connections_per_peer = 0;
  /// A batch is begun (its rollouts asked for) only while at least this many actors are members;
  /// a begun batch still re-deals a departed actor's share to the others. With a fixed fleet, who
  /// fills which columns then does not depend on when actors come and go.
  int min_actors = 1;
  /// How long finish() waits for the actors to leave, and for actors cut off just before the end
  /// (stream broken, timed out) to come back and hear that the run is over.
  double finish_grace_s = 5.0;
  /// Shown to actors; default "trustrl learner <version> (rank R of W)".
  std::string name;
  /// One line per event (joins, departures, refusals, late actors); called from several threads.
  std::function<void(const std::string&)> log;
  /// Also log the rollouts each batch took: "batch for version V: 'a' #7 (4 copies), ...".
  bool log_batches = false;
};

class LearnerService final : public agents::RolloutChannel {
 public:
  /// Starts serving `setup`'s run. Throws Error if the address is not loopback and no token is
  /// set, the TLS files cannot be read, or the address cannot be bound.
  LearnerService(const agents::ChannelSetup& setup, LearnerServiceOptions options);
  /// Shuts down at once, cancelling open calls.
  ~LearnerService() override;
  LearnerService(const LearnerService&) = delete;
  LearnerService& operator=(const LearnerService&) = delete;

  /// The address actors connect to, with the real port ("127.0.0.1:43211").
  const std::string& address() const;
  /// What Describe answers.
  const learner::v1::RunInfo& run_info() const;
  /// Actors that are members right now.
  int members() const;
  /// Rollouts accepted so far (a duplicate push counts once).
  std::int64_t accepted_rollouts() const;

  void publish(const agents::PolicySnapshot& snapshot) override;
  bool next_batch(int num_envs, int num_steps, agents::Batch& out) override;
  void stop() override;
  void finish() override;
  std::int64_t cut_episodes() const override;
  std::int64_t unstable_steps() const override;
  bool can_snapshot() const override { return false; }
  void save(ByteWriter&) const override {}
  void load(ByteReader&) override {}
  /// After a resume: actors that join from now on get env seeds derived from `seed`.
  void restart(std::uint64_t seed, std::int64_t env_steps) override;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
  // Declared after impl_: destroyed (shut down) first, while the service it calls is alive.
  std::unique_ptr<grpc::Server> server_;
  // Declared after server_: stopped first.
  std::unique_ptr<Listener> listener_;
  std::string address_;
};

}  // namespace trustrl::server
