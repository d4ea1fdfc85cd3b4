#pragma once
// The client's hold on one env session, whatever the env: the channel, the handshake and the
// checks on its answer, deadlines, and reconnection with exponential backoff. A remote vector env
// (RemoteVectorEnv) owns one and adds its arrays.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "server/env_protocol/remote_vector_env.h"
#include "server/env_protocol/session_client.h"

namespace trustrl::server {

class SessionLink {
 public:
  struct Handshake {
    /// Declare CAPABILITY_MULTI_AGENT (the client reads the multi-agent fields).
    bool multi_agent = false;
    /// The spec the first handshake must find, before any time-limit override; none: any spec.
    std::optional<wire::EnvSpec> expected_spec;
    /// Throws Error if the client cannot drive `spec`; called on every handshake's answer.
    std::function<void(const wire::EnvSpec& spec)> check_spec;
  };

  /// Connects nothing yet: the owner calls connect().
  SessionLink(RemoteEnvOptions options, Handshake handshake);
  /// Closes the session, if one is open.
  ~SessionLink();
  SessionLink(const SessionLink&) = delete;
  SessionLink& operator=(const SessionLink&) = delete;

  const RemoteEnvOptions& options() const { return options_; }
  /// "simulator at 127.0.0.1:5000", the prefix of every error.
  const std::string& source() const { return source_; }
  /// What the server said in the last handshake; after a reconnection it serves the same spec.
  const wire::ServerInfo& info() const { return info_; }
  bool connected() const { return session_ != nullptr; }

  /// Opens a session with its handshake, then runs `then` (e.g. a reset) on it, until both
  /// succeed: at once if `last_error` is OK, else after a backoff that doubles each time. Throws
  /// Error (with `why`) on a refusal or after max_reconnects failed attempts in a row.
  void connect(const std::string& why, grpc::Status last_error,
               const std::function<grpc::Status()>& then = {});
  /// One request and its answer on the open session, within request_timeout_s.
  grpc::Status call(const wire::SessionRequest& request, wire::SessionResponse* response);
  /// Forgets the session (after an error ended it, or an answer was unusable).
  void drop() { session_.reset(); }
  /// Drops the session and throws Error(message).
  [[noreturn]] void fail(const std::string& message);

 private:
  // One connection attempt with its handshake.
  grpc::Status open_session();

  RemoteEnvOptions options_;
  Handshake handshake_;
  std::string source_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<SessionClient> session_;
  wire::ServerInfo info_;
  std::uint64_t first_hash_ = 0;
  wire::SessionRequest request_;
  wire::SessionResponse response_;
};

}  // namespace trustrl::server
