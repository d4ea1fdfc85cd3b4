#pragma once
// The actor's side of proto/trustrl/learner/v1/learner.proto: `trustrl actor`. It owns env copies
// (local copies of the learner's env, or a session of an env server) and nothing else: the env,
// rollout length, copy count and seed come from the learner.
//
//   ActorLoopOptions options;
//   options.learner = "127.0.0.1:43211";
//   ActorLoop(options).run();   // returns when the learner says the run is over
//
// It joins, keeps a Heartbeat stream open (a thread writes a heartbeat every interval, another
// reads the learner's directives), and while the learner asks for rollouts: fetches the policy
// when its version is too old, collects num_steps steps of every copy, and pushes the rollout
// with a sequence number (retried with the same number after a lost reply, so it is taken once).
// When the learner goes away it backs off with jitter and joins again (a restarted learner
// resumes from its checkpoint and takes it back); after learner_timeout_s without reaching it,
// run() throws.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "server/transport/transport.h"

namespace trustrl::server {

struct ActorLoopOptions {
  /// The learner's "host:port" (or "unix:/path").
  std::string learner;
  /// Shared token, if the learner wants one.
  std::string token;
  /// PEM file of the CA (or self-signed certificate) to trust for TLS to the learner.
  std::string tls_ca_file;
  /// Stable name of this actor across restarts; empty: "<hostname>/<pid>".
  std::string actor_id;
  /// Larger for every start of this actor; 0: the start time in nanoseconds.
  std::uint64_t incarnation = 0;
  /// Env copies; 0: the learner's default (or the env server's count).
  int num_envs = 0;
  /// An env server to step instead of local copies ("host:port"); empty: the learner's
  /// env.remote if it has one, else local copies of its env id.
  std::string env_server;
  std::string env_token;
  std::string env_tls_ca_file;
  /// Give up (run() throws) when the learner stays unreachable this long.
  double learner_timeout_s = 120.0;
  /// Limit on each call to the learner.
  double rpc_timeout_s = 60.0;
  /// First wait before a retry, doubled per failure up to max_backoff_s; each wait is drawn
  /// uniformly from [0.5, 1.5] times that (jitter, so restarted actors do not come in lockstep).
  double backoff_s = 0.1;
  double max_backoff_s = 5.0;
  int max_message_bytes = kDefaultMaxMessageBytes;
  /// One line per event (join, refusal, reconnection); none if empty.
  std::function<void(const std::string&)> log;
  /// Also log every pushed rollout ("pushed rollout N (version V)").
  bool log_rollouts = false;
  /// Called when the learner asks for a rollout, before collecting it, with the number pushed so
  /// far (all memberships). Fault tests crash the actor here, at a point that does not depend on
  /// timing.
  std::function<void(std::int64_t pushed)> before_collect;
};

class ActorLoop {
 public:
  explicit ActorLoop(ActorLoopOptions options);
  ~ActorLoop();
  ActorLoop(const ActorLoop&) = delete;
  ActorLoop& operator=(const ActorLoop&) = delete;

  /// Serves the learner until it says the run is over, or stop() is called. Throws Error when
  /// the learner refuses this actor (token, env spec, a newer incarnation of it) or stays
  /// unreachable for learner_timeout_s.
  void run();
  /// Makes run() leave the learner and return soon; safe from any thread (not a signal handler).
  void stop();

  /// Rollouts pushed and taken by the learner, over all memberships.
  std::int64_t rollouts_accepted() const { return accepted_.load(); }
  std::int64_t rollouts_pushed() const { return pushed_.load(); }

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::atomic<std::int64_t> accepted_{0}, pushed_{0};
};

}  // namespace trustrl::server
