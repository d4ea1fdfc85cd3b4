#pragma once
// Serves an env over gRPC: any number of sessions, each owning N copies of the env.
//
//   auto server = EnvServer(registered_env_maker("CartPole-v1", {}, 8), {.listen = "127.0.0.1:0"});
//   std::cout << "listening on " << server.address() << "\n";
//
// Built on gRPC's callback API: one reactor per session stream, reading one request, answering
// it, then reading the next, so responses go out in request order. A session's requests run on
// gRPC's threads while they are cheap (a batch of 64 CartPole copies steps in a few
// microseconds, less than a hand-off to another thread costs); once a request of that session
// takes longer than `inline_budget`, its next ones run on a small worker pool instead, so a slow
// simulator never holds the threads every other session needs.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "server/env_protocol/env_session.h"
#include "server/transport/listener.h"
#include "server/transport/transport.h"

namespace grpc {
class Server;
}

namespace trustrl::server {

struct EnvServerOptions {
  /// Where to listen: "127.0.0.1:PORT" (port 0 picks a free one), "[::1]:PORT", "unix:/path".
  /// An address reachable from other machines (0.0.0.0, a host name) needs a token.
  std::string listen = "127.0.0.1:0";
  /// Shared secret every call must carry ("authorization: Bearer <token>"); empty: none.
  std::string token;
  /// PEM files of a TLS certificate and its key; both empty: plaintext.
  std::string tls_cert_file;
  std::string tls_key_file;
  /// Sessions served at once; more are refused with RESOURCE_EXHAUSTED.
  int max_sessions = 64;
  /// Sessions served at once to one client host (the peer's address without its port); more
  /// are refused with RESOURCE_EXHAUSTED. 0: max_sessions.
  int max_sessions_per_peer = 0;
  /// TCP connections one client host may hold at once (whether or not it starts sessions); more
  /// are closed at once, with one log line. 0: default_connections_per_peer(max_sessions), 1024
  /// by default.
  std::int64_t max_connections_per_peer = 0;
  /// A session with no request for this long is closed with UNAVAILABLE ("session closed after
  /// N s idle"), so clients that sit idle cannot hold every session; 0: never.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(600)};
  int max_message_bytes = kDefaultMaxMessageBytes;
  /// Threads for requests too slow to run on gRPC's threads.
  int worker_threads = 2;
  /// A session whose last request took longer than this runs its next one on a worker.
  std::chrono::microseconds inline_budget{200};
  /// Shown to clients; default "trustrl env-server <version> (<env id>)".
  std::string server_name;
  /// Receives one line per session that ended with an error; called from several threads at
  /// once. None if empty.
  std::function<void(const std::string&)> log;
};

class EnvServer {
 public:
  /// Starts serving. Throws Error if the env cannot be made, the address is not loopback and no
  /// token is set, the TLS files cannot be read, or the address cannot be bound.
  /// A multi-agent env gets the same sessions, rules and statuses.
  EnvServer(SessionEnvMaker make_env, EnvServerOptions options);
  /// Shuts down at once (cancelling open sessions) if shutdown() was not called.
  ~EnvServer();
  EnvServer(const EnvServer&) = delete;
  EnvServer& operator=(const EnvServer&) = delete;

  /// The address clients connect to, with the real port ("127.0.0.1:43211").
  const std::string& address() const { return address_; }
  int port() const { return port_; }
  /// What GetSpec answers: protocol version, capabilities, spec, hash, copies.
  const wire::ServerInfo& info() const;
  /// Sessions open right now.
  int active_sessions() const;

  /// Stops accepting sessions, lets open ones run for `grace`, then cancels them and returns
  /// when every session has ended. Later calls do nothing.
  void shutdown(std::chrono::milliseconds grace = std::chrono::seconds(2));

  class Service;

 private:
  EnvServer(SessionConfig config, EnvServerOptions options);

  EnvServerOptions options_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  // Declared after server_: stopped first.
  std::unique_ptr<Listener> listener_;
  std::string address_;
  int port_ = 0;
  std::once_flag shutdown_once_;
};

}  // namespace trustrl::server
