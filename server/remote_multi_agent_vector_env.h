#pragma once
// A VectorEnv whose copies live in another process: one session of a trustrl env server
// serving a multi-agent env (`trustrl env-server --env simple_spread_v3`, a PettingZoo-style
// Python simulator served with trustrl_env, or any implementation of env.proto).
//
// It behaves as LocalVectorEnv does: reset(seed) seeds copy i with seed + i, auto-reset
// happens in the same step with the final observations, state and active mask kept apart, so a
// learner trains on it exactly as on local copies (same seed, same joint actions: the same
// batches, bit for bit). Joint actions are checked here as a local env checks them (sizes, values
// of active agents, the no-action sentinels of inactive ones), so a refused batch throws and
// leaves the session running; every response is checked (sizes, finite values, rewards that sum
// to the team reward) before it reaches the caller.
//
// Reconnection follows RemoteVectorEnv (remote_vector_env.h): a simulator that dies or stops
// answering is reconnected with exponential backoff; the step that found it gone reports every
// copy as truncated, with the last observations, states and active masks it had as the final
// ones, rewards of 0 and the new episodes' first observations, seeded deterministically from the
// last reset's seed. cut_episodes() counts the lost episodes.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "envs/multi_agent_conformance.h"
#include "envs/vector_env.h"
#include "server/multi_agent_convert.h"
#include "server/remote_vector_env.h"
#include "server/session_link.h"

namespace trustrl::server {

class RemoteMultiAgentVectorEnv final : public envs::VectorEnv {
 public:
  /// Connects and handshakes (retrying as for a reconnection). `expected_spec`, when set, is the
  /// spec the simulator must serve (options.expected_spec, a single-agent spec, must be unset).
  /// Throws Error naming the simulator if it cannot be reached, refuses the session, serves a
  /// single-agent env or a different spec than expected.
  explicit RemoteMultiAgentVectorEnv(
      RemoteEnvOptions options, std::optional<envs::MultiAgentSpec> expected_spec = std::nullopt);

  const envs::MultiAgentSpec& spec() const override { return spec_; }
  int num_envs() const override { return buffers_.num_envs; }
  void reset(std::uint64_t seed) override;
  /// Throws Error for a joint-action batch a local env would refuse (nothing is sent), when
  /// called before reset(), when the simulator refuses the batch (the message carries its status;
  /// reset() then opens a new session), sends a malformed or non-finite answer, or stays
  /// unreachable.
  void step(const envs::ActionBatch& actions) override;
  const envs::StepBuffers& buffers() const override { return buffers_; }

  /// Episodes lost to reconnections since construction.
  std::int64_t cut_episodes() const override { return cut_episodes_; }
  /// Successful reconnections since construction.
  int reconnects() const { return reconnects_; }
  /// What the simulator said about itself in the last handshake.
  const wire::ServerInfo& server_info() const { return link_.info(); }
  /// "simulator at 127.0.0.1:5000", the prefix of every error.
  const std::string& source() const { return link_.source(); }

 private:
  // Sends the reset and reads the first observations.
  grpc::Status send_reset(std::uint64_t seed);
  // The simulator vanished mid-run: reconnect, start fresh episodes, report the cut.
  void recover(const grpc::Status& error);
  [[noreturn]] void fail(const std::string& message);

  SessionLink link_;
  envs::MultiAgentSpec spec_;
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

/// A conformance-suite maker over RemoteMultiAgentVectorEnv: each call opens a session with
/// `base`, asking for the suite's copy count and (if the simulator offers
/// CAPABILITY_TIME_LIMIT_OVERRIDE) its short time limit.
envs::VectorEnvMaker remote_multi_agent_env_maker(const RemoteEnvOptions& base);

}  // namespace trustrl::server
