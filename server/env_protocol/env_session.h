#pragma once
// The server side of one session, as a state machine over requests: handshake, then reset, then
// steps. It knows nothing of streams or threads (the gRPC reactor in env_server.cpp drives it),
// so every protocol rule can be tested directly.
//
// Every request is checked in full before any env copy moves: a batch with one bad action is
// refused whole, never half-applied. A session serves one VectorEnv: a single-agent one in the
// single-agent wire form, a multi-agent one in the multi-agent form; the rules are the same.

#include <grpcpp/support/status.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "envs/vector_env.h"
#include "server/env_protocol/convert.h"

namespace trustrl::server {

/// Makes the N-copy vector env of one session; `max_episode_steps` > 0 asks for that time limit
/// (Gymnasium's make(..., max_episode_steps=...)), 0 keeps the env's own.
using SessionEnvMaker = std::function<std::unique_ptr<envs::VectorEnv>(int max_episode_steps)>;

/// A maker for a registered env (plain or multi-agent): `num_envs` LocalVectorEnv copies made
/// with `options`, stepped on `num_threads` threads.
SessionEnvMaker registered_env_maker(const std::string& id, const OptionMap& options, int num_envs,
                                     int num_threads = 1);

/// What every session of one server shares.
struct SessionConfig {
  SessionEnvMaker make_env;
  /// The server's description with the env's own spec (before any per-session time limit).
  wire::ServerInfo info;
};

/// Builds the SessionConfig of an env maker: makes one env to learn its spec and copy count.
/// Throws Error if the maker fails or the spec cannot be served.
SessionConfig make_session_config(SessionEnvMaker make_env, const std::string& server_name);

class EnvSession {
 public:
  /// `config` is shared and must outlive the session.
  explicit EnvSession(const SessionConfig& config) : config_(config) {}

  /// Answers one request: fills `response` and returns OK, or returns the status that ends the
  /// session (the message names the request, field, copy and value at fault).
  grpc::Status handle(const wire::SessionRequest& request, wire::SessionResponse* response);

  /// How long the last handle() took; a server steps a slow env off its network threads.
  std::chrono::nanoseconds last_duration() const { return last_duration_; }
  bool handshaken() const { return state_ != State::kAwaitHandshake; }

 private:
  enum class State { kAwaitHandshake, kAwaitReset, kRunning };

  // Each fills its response or throws a Refusal (or convert.h's ProtocolError for a bad batch);
  // handle() turns those into the status.
  void answer(const wire::SessionRequest& request, wire::SessionResponse* response);
  void handshake(const wire::HandshakeRequest& request, wire::HandshakeResponse* response);
  void reset(const wire::ResetRequest& request, wire::ResetResponse* response);
  void step(const wire::StepRequest& request, wire::StepResponse* response);

  const SessionConfig& config_;
  State state_ = State::kAwaitHandshake;
  std::unique_ptr<envs::VectorEnv> env_;
  // The wire layout of the env's agents (made with the env), and the unpacked actions.
  std::unique_ptr<AgentLayout> layout_;
  std::vector<std::int64_t> discrete_;
  std::vector<float> continuous_;
  wire::ServerInfo info_;
  std::chrono::nanoseconds last_duration_{0};
};

}  // namespace trustrl::server
