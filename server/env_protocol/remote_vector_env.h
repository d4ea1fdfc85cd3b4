#pragma once
// A VectorEnv whose copies live in another process: one session of a trustrl env server (the
// C++ `trustrl env-server`, a Python simulator served with trustrl_env, or any implementation of
// proto/trustrl/env/v1/env.proto), single- or multi-agent. A simulator serving a single-agent
// spec is driven in the single-agent wire form (one agent in memory, as a local plain env), a
// multi-agent one in the multi-agent form (server/env_protocol/convert.h).
//
// It behaves as LocalVectorEnv does: reset(seed) seeds copy i with seed + i, auto-reset happens
// in the same step with the final observations kept apart, so a learner trains on it exactly as
// on a local env (same seed, same actions: same batches). Every response is checked (sizes,
// finite values) before it reaches the caller.
//
// A simulator that dies or stops answering is reconnected with exponential backoff. The episodes
// it was running are lost: the step that found it gone reports every copy as truncated, with the
// last observation it had as the final observation, a reward of 0 (the action was never applied)
// and the new episodes' first observations, seeded deterministically from the last reset's seed.
// cut_episodes() counts them so a learner can log how much was lost. After max_reconnects
// failed attempts in a row it gives up with an Error naming the simulator.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "envs/conformance.h"
#include "envs/vector_env.h"
#include "server/env_protocol/session_client.h"

namespace trustrl::server {

struct RemoteEnvOptions {
  /// "host:port" or "unix:/path" of the simulator.
  std::string address;
  /// Shared token, if the simulator wants one.
  std::string token;
  /// PEM file of the CA (or self-signed certificate) to trust; empty: plaintext.
  std::string tls_ca_file;
  /// Copies to expect; 0 takes the simulator's.
  int num_envs = 0;
  /// > 0: ask the simulator for this episode time limit; 0 keeps its own.
  int max_episode_steps = 0;
  /// Limit on each connection attempt with its handshake, in seconds.
  double connect_timeout_s = 10.0;
  /// Limit on the answer to each reset or step, in seconds.
  double request_timeout_s = 60.0;
  /// Failed reconnection attempts in a row before giving up; 0 fails at the first error.
  int max_reconnects = 5;
  /// Wait before the first reconnection attempt, doubled after each failure up to the maximum.
  double reconnect_backoff_s = 0.5;
  double max_reconnect_backoff_s = 8.0;
  int max_message_bytes = kDefaultMaxMessageBytes;
  /// Shown in the simulator's logs.
  std::string client_name = "trustrl";
  /// Set in code (e.g. from a checkpoint), not in configs: the spec the simulator must serve (a
  /// plain env's as envs::one_agent_spec). A different one fails the handshake with a message
  /// naming the field that differs.
  std::optional<envs::MultiAgentSpec> expected_spec;

  void visit(ConfigVisitor& v);
  Endpoint endpoint() const { return {address, token, tls_ca_file, max_message_bytes}; }
};

class SessionLink;
struct AgentLayout;

class RemoteVectorEnv final : public envs::VectorEnv {
 public:
  /// Connects and handshakes (retrying as for a reconnection). Throws Error naming the simulator
  /// if it cannot be reached, refuses the session, or serves a different spec than expected.
  explicit RemoteVectorEnv(RemoteEnvOptions options);
  /// Closes the session.
  ~RemoteVectorEnv() override;

  const envs::MultiAgentSpec& spec() const override { return spec_; }
  int num_envs() const override { return buffers_.num_envs; }
  void reset(std::uint64_t seed) override;
  /// Throws Error for a wrong number of action values (and, for a multi-agent env, a joint action
  /// a local env would refuse: nothing is sent), when called before reset(), when the simulator
  /// refuses the batch (the message carries its status; reset() then opens a new session), sends
  /// a malformed or non-finite answer, or stays unreachable.
  void step(const envs::ActionBatch& actions) override;
  const envs::StepBuffers& buffers() const override { return buffers_; }

  /// Episodes lost to reconnections since construction.
  std::int64_t cut_episodes() const override { return cut_episodes_; }
  /// Successful reconnections since construction.
  int reconnects() const { return reconnects_; }
  /// What the simulator said about itself in the last handshake.
  const wire::ServerInfo& server_info() const;
  /// "simulator at 127.0.0.1:5000", the prefix of every error.
  const std::string& source() const;

 private:
  // Checks `actions` and writes them into the step request in the simulator's wire form.
  void write_actions(const envs::ActionBatch& actions);
  // Sends the reset and reads the first observations.
  grpc::Status send_reset(std::uint64_t seed);
  // The simulator vanished mid-run: reconnect, start fresh episodes, report the cut.
  void recover(const grpc::Status& error);
  [[noreturn]] void fail(const std::string& message);

  // The session with its handshake, deadlines and reconnection (session_link.h).
  std::unique_ptr<SessionLink> link_;
  envs::MultiAgentSpec spec_;
  // The wire layout of the env's agents, and its wire form (single- or multi-agent).
  std::unique_ptr<AgentLayout> layout_;
  envs::StepBuffers buffers_;
  std::vector<double> running_agent_returns_;  // [N, A]
  std::vector<std::int32_t> running_lengths_;  // [N]
  std::uint64_t seed_ = 0;
  bool running_ = false;
  std::int64_t cut_episodes_ = 0;
  int reconnects_ = 0;
  wire::SessionRequest request_;
  wire::SessionResponse response_;
};

/// `base` for one conformance-suite session: `num_envs` copies and, if the simulator offers
/// CAPABILITY_TIME_LIMIT_OVERRIDE, the suite's short time limit.
RemoteEnvOptions suite_options(const RemoteEnvOptions& base, int num_envs,
                               std::optional<int> time_limit);

/// A conformance-suite maker over RemoteVectorEnv: each call opens a session with `base`, asking
/// for the suite's copy count and (if the simulator offers CAPABILITY_TIME_LIMIT_OVERRIDE) its
/// short time limit.
envs::VectorEnvMaker remote_env_maker(const RemoteEnvOptions& base);

}  // namespace trustrl::server
