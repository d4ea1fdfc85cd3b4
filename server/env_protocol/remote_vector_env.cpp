#include "server/env_protocol/remote_vector_env.h"

#include <algorithm>

#include "core/error.h"
#include "core/rng.h"
#include "envs/single_agent_adapter.h"
#include "server/env_protocol/convert.h"
#include "server/env_protocol/session_link.h"
#include "server/transport/transport.h"

namespace trustrl::server {

void RemoteEnvOptions::visit(ConfigVisitor& v) {
  v.field("remote", address, "host:port (or unix:/path) of the env server");
  v.field("token", token, "shared token the server wants; empty: none");
  v.field("tls_ca", tls_ca_file, "PEM file of the CA to trust for TLS; empty: plaintext");
  v.field("num_envs", num_envs, "copies to expect; 0 takes the server's", Bounds::non_negative());
  v.field("max_episode_steps", max_episode_steps,
          "ask the server for this episode time limit; 0 keeps its own", Bounds::non_negative());
  v.field("connect_timeout_s", connect_timeout_s, "limit on each connection attempt, in seconds",
          Bounds::positive());
  v.field("request_timeout_s", request_timeout_s, "limit on each reset or step answer, in seconds",
          Bounds::positive());
  v.field("max_reconnects", max_reconnects,
          "failed reconnection attempts in a row before giving up; 0: fail at once",
          Bounds::non_negative());
  v.field("reconnect_backoff_s", reconnect_backoff_s,
          "wait before the first reconnection attempt, doubled after each failure",
          Bounds::non_negative());
  v.field("max_reconnect_backoff_s", max_reconnect_backoff_s,
          "longest wait between reconnection attempts", Bounds::non_negative());
}

namespace {

SessionLink::Handshake handshake_for(const RemoteEnvOptions& options) {
  SessionLink::Handshake h;
  // This client reads both wire forms; a single-agent server ignores the capability.
  h.multi_agent = true;
  if (options.expected_spec) h.expected_spec = to_wire(*options.expected_spec);
  h.check_spec = [](const wire::EnvSpec& spec) {
    if (spec.num_agents() == 0)
      from_wire(spec);
    else
      multi_agent_from_wire(spec);
  };
  return h;
}

}  // namespace

RemoteVectorEnv::RemoteVectorEnv(RemoteEnvOptions options) {
  link_ = std::make_unique<SessionLink>(options, handshake_for(options));
  link_->connect("could not open a session", grpc::Status::OK);
  const wire::ServerInfo& info = link_->info();
  const int n = info.num_envs();
  spec_ = info.spec().num_agents() == 0 ? envs::one_agent_spec(from_wire(info.spec()))
                                        : multi_agent_from_wire(info.spec());
  layout_ = std::make_unique<AgentLayout>(spec_);
  buffers_.resize(n, spec_.num_agents(), layout_->padded_obs, layout_->state_dim);
  running_agent_returns_.assign(buffers_.rewards.size(), 0.0);
  running_lengths_.assign(static_cast<std::size_t>(n), 0);
}

RemoteVectorEnv::~RemoteVectorEnv() = default;

const wire::ServerInfo& RemoteVectorEnv::server_info() const { return link_->info(); }

const std::string& RemoteVectorEnv::source() const { return link_->source(); }

grpc::Status RemoteVectorEnv::send_reset(std::uint64_t seed) {
  request_.mutable_reset()->set_seed(seed);
  grpc::Status status = link_->call(request_, &response_);
  if (!status.ok()) return status;
  if (!response_.has_reset())
    fail(source() + " answered a reset with another message (payload case " +
         std::to_string(response_.payload_case()) + ")");
  try {
    read_reset(*layout_, response_.reset(), buffers_, source());
  } catch (const Error& e) {
    fail(e.what());
  }
  std::fill(running_agent_returns_.begin(), running_agent_returns_.end(), 0.0);
  std::fill(running_lengths_.begin(), running_lengths_.end(), 0);
  running_ = true;
  return grpc::Status::OK;
}

void RemoteVectorEnv::reset(std::uint64_t seed) {
  seed_ = seed;
  running_ = false;
  grpc::Status status = grpc::Status::OK;
  if (link_->connected()) {
    status = send_reset(seed);
    if (status.ok()) return;
    if (!is_transient(status)) fail(source() + " refused the reset: " + describe(status));
  }
  // No session (an error ended it) or it broke: open one, with retries, and reset there.
  link_->connect(status.ok() ? "could not open a session" : "lost during a reset", status,
                 [this, seed] { return send_reset(seed); });
}

void RemoteVectorEnv::write_actions(const envs::ActionBatch& actions) {
  wire::StepRequest& step = *request_.mutable_step();
  step.Clear();
  if (layout_->agent_axis) {
    // Checked here as a local env checks it, so a bad batch costs no round trip and no session.
    try {
      check_joint_actions(spec_, buffers_.num_envs, buffers_.active, actions);
    } catch (const ProtocolError& e) {
      throw Error(source() + " (" + spec_.id + "): " + e.what());
    }
  } else {
    // A single-agent simulator checks the values itself (and ends the session if it refuses).
    const envs::Space& space = spec_.action_spaces.front();
    const auto expected = static_cast<std::size_t>(buffers_.num_envs * space.flat_dim());
    const bool discrete = space.is_discrete();
    const std::size_t got = discrete ? actions.discrete.size() : actions.continuous.size();
    if (got != expected)
      throw Error(source() + ": expected " + std::to_string(expected) + " " +
                  (discrete ? "discrete" : "continuous") + " action values for " +
                  std::to_string(buffers_.num_envs) + " copies, got " + std::to_string(got));
  }
  pack_actions(*layout_, buffers_.num_envs, actions, &step);
}

void RemoteVectorEnv::step(const envs::ActionBatch& actions) {
  if (!running_)
    throw Error(source() +
                ": step() called before reset() (or after an error ended the session); "
                "call reset() first");
  write_actions(actions);
  const grpc::Status status = link_->call(request_, &response_);
  if (!status.ok()) {
    if (is_transient(status)) return recover(status);
    fail(source() + " refused the step: " + describe(status));
  }
  if (!response_.has_step())
    fail(source() + " answered a step with another message (payload case " +
         std::to_string(response_.payload_case()) + ")");
  try {
    read_step(*layout_, response_.step(), buffers_, source());
  } catch (const Error& e) {
    fail(e.what());
  }
  // Per-agent episode returns are not on the wire: summed here in the order LocalVectorEnv sums
  // them, so they match it bit for bit (one agent's is the wire's episode return).
  const auto agents = static_cast<std::size_t>(buffers_.num_agents);
  for (std::size_t i = 0; i < running_lengths_.size(); ++i) {
    double* running = &running_agent_returns_[i * agents];
    for (std::size_t k = 0; k < agents; ++k) running[k] += buffers_.rewards[i * agents + k];
    running_lengths_[i] += 1;
    if (!buffers_.done(static_cast<int>(i))) continue;
    if (layout_->agent_axis)
      for (std::size_t k = 0; k < agents; ++k)
        buffers_.agent_episode_returns[i * agents + k] = running[k];
    std::fill(running, running + agents, 0.0);
    running_lengths_[i] = 0;
  }
}

void RemoteVectorEnv::recover(const grpc::Status& error) {
  // What the learner last saw becomes the final view of every cut episode.
  const std::vector<float> observations = buffers_.observations;
  const std::vector<float> states = buffers_.states;
  const std::vector<std::uint8_t> active = buffers_.active;
  const std::vector<double> returns = running_agent_returns_;
  const std::vector<std::int32_t> lengths = running_lengths_;
  const auto n = static_cast<std::size_t>(buffers_.num_envs);
  const auto agents = static_cast<std::size_t>(buffers_.num_agents);
  cut_episodes_ += static_cast<std::int64_t>(n);
  // Fresh episodes, seeded from the run's seed so that a rerun with the same failures repeats.
  const std::uint64_t seed = Rng::derive(seed_, static_cast<std::uint64_t>(reconnects_) + 1);
  try {
    link_->connect("lost mid-run, " + std::to_string(n) + " episodes cut", error,
                   [this, seed] { return send_reset(seed); });
  } catch (...) {
    running_ = false;
    throw;
  }
  ++reconnects_;
  buffers_.final_observations = observations;
  buffers_.final_states = states;
  buffers_.final_active = active;
  buffers_.agent_episode_returns = returns;
  std::fill(buffers_.rewards.begin(), buffers_.rewards.end(), 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    buffers_.terminated[i] = 0;
    buffers_.truncated[i] = 1;
    double team = 0.0;
    for (std::size_t k = 0; k < agents; ++k) team += returns[i * agents + k];
    buffers_.episode_returns[i] = team;
    buffers_.episode_lengths[i] = lengths[i];
  }
}

void RemoteVectorEnv::fail(const std::string& message) {
  running_ = false;
  link_->fail(message);
}

RemoteEnvOptions suite_options(const RemoteEnvOptions& base, int num_envs,
                               std::optional<int> time_limit) {
  RemoteEnvOptions options = base;
  options.num_envs = num_envs;
  if (time_limit) {
    wire::ServerInfo info;
    const grpc::Status status = get_server_info(make_channel(options.endpoint()), options.token,
                                                options.connect_timeout_s, &info);
    if (!status.ok())
      throw Error("simulator at " + options.address + ": GetSpec failed: " + describe(status));
    for (const int c : info.capabilities())
      if (c == wire::CAPABILITY_TIME_LIMIT_OVERRIDE) options.max_episode_steps = *time_limit;
  }
  return options;
}

envs::VectorEnvMaker remote_env_maker(const RemoteEnvOptions& base) {
  return [base](int num_envs, std::optional<int> time_limit) -> std::unique_ptr<envs::VectorEnv> {
    const RemoteEnvOptions options = suite_options(base, num_envs, time_limit);
    return std::make_unique<RemoteVectorEnv>(options);
  };
}

}  // namespace trustrl::server
