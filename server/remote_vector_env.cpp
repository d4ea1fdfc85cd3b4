#include "server/remote_vector_env.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "core/rng.h"
#include "core/text.h"
#include "server/spec_hash.h"
#include "server/transport.h"

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

bool is_transient(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::ABORTED:
      return true;
    default:
      return false;
  }
}

RemoteVectorEnv::RemoteVectorEnv(RemoteEnvOptions options)
    : options_(std::move(options)), source_("simulator at " + options_.address) {
  if (options_.address.empty()) throw Error("a remote env needs an address (host:port)");
  if (options_.num_envs < 0 || options_.max_episode_steps < 0 || options_.max_reconnects < 0)
    throw Error(source_ + ": num_envs, max_episode_steps and max_reconnects must be >= 0");
  connect("could not open a session", grpc::Status::OK, std::nullopt);
}

RemoteVectorEnv::~RemoteVectorEnv() {
  if (session_) session_->close(std::min(options_.request_timeout_s, 2.0));
}

grpc::Status RemoteVectorEnv::open_session() {
  session_.reset();
  // A fresh channel per attempt: an old one may sit in gRPC's own reconnect backoff.
  channel_ = make_channel(options_.endpoint());
  session_ = std::make_unique<SessionClient>(channel_, options_.token);

  wire::HandshakeRequest& hs = *request_.mutable_handshake();
  hs.Clear();
  hs.set_protocol_version(kProtocolVersion);
  hs.set_num_envs(first_hash_ ? buffers_.num_envs : options_.num_envs);
  hs.set_max_episode_steps(options_.max_episode_steps);
  hs.set_client_name(options_.client_name);
  if (first_hash_) {
    // A reconnection must land on the same env the run started with.
    hs.set_spec_hash(first_hash_);
    *hs.mutable_expected_spec() = info_.spec();
  } else if (options_.expected_spec) {
    wire::EnvSpec expected = to_wire(*options_.expected_spec);
    if (options_.max_episode_steps > 0) expected.set_max_episode_steps(options_.max_episode_steps);
    hs.set_spec_hash(spec_hash(expected));
    *hs.mutable_expected_spec() = std::move(expected);
  }
  grpc::Status status = session_->call(request_, &response_, options_.connect_timeout_s);
  if (!status.ok()) return status;
  if (!response_.has_handshake())
    fail(source_ + " answered the handshake with another message (payload case " +
         std::to_string(response_.payload_case()) + ")");

  const wire::ServerInfo& info = response_.handshake().server();
  if (info.protocol_version() != kProtocolVersion)
    fail(source_ + " speaks protocol version " + std::to_string(info.protocol_version()) +
         ", this client speaks " + std::to_string(kProtocolVersion));
  envs::EnvSpec spec;
  try {
    spec = from_wire(info.spec());
  } catch (const Error& e) {
    fail(source_ + " sent an unusable spec: " + e.what());
  }
  const std::uint64_t hash = spec_hash(info.spec());
  if (info.spec_hash() != hash)
    fail(source_ + " sent spec hash " + hash_text(info.spec_hash()) + " but its spec hashes to " +
         hash_text(hash) + "; its SpecHash implementation differs from docs/REMOTE_ENVS.md");
  if (info.num_envs() < 1) fail(source_ + " serves " + std::to_string(info.num_envs()) + " copies");
  if (options_.num_envs > 0 && info.num_envs() != options_.num_envs)
    fail(source_ + " serves " + std::to_string(info.num_envs()) + " copies, " +
         std::to_string(options_.num_envs) + " were asked for");
  if (options_.max_episode_steps > 0 && spec.max_episode_steps != options_.max_episode_steps)
    fail(source_ + " kept its time limit of " + std::to_string(spec.max_episode_steps) +
         " steps when asked for " + std::to_string(options_.max_episode_steps) +
         " (does it offer CAPABILITY_TIME_LIMIT_OVERRIDE?)");
  if (first_hash_ && hash != first_hash_)
    fail(source_ + " came back serving another env (" + spec_difference(info_.spec(), info.spec()) +
         ")");
  if (!first_hash_) {
    first_hash_ = hash;
    spec_ = std::move(spec);
    buffers_.resize(info.num_envs(), static_cast<int>(spec_.observation_space.flat_dim()));
    running_returns_.assign(static_cast<std::size_t>(info.num_envs()), 0.0);
    running_lengths_.assign(static_cast<std::size_t>(info.num_envs()), 0);
  }
  info_ = info;
  return grpc::Status::OK;
}

grpc::Status RemoteVectorEnv::attempt(std::optional<std::uint64_t> reset_seed) {
  grpc::Status status = open_session();
  if (status.ok() && reset_seed) status = send_reset(*reset_seed);
  return status;
}

void RemoteVectorEnv::connect(const std::string& why, grpc::Status last_error,
                              std::optional<std::uint64_t> reset_seed) {
  const auto start = std::chrono::steady_clock::now();
  double backoff = options_.reconnect_backoff_s;
  int attempts = 0;
  if (last_error.ok()) {  // nothing failed yet: try at once
    last_error = attempt(reset_seed);
    ++attempts;
    if (last_error.ok()) return;
  }
  for (int retry = 0;; ++retry) {
    if (!is_transient(last_error)) fail(source_ + " refused the session: " + describe(last_error));
    if (retry >= options_.max_reconnects) {
      const double waited =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      fail(source_ + " is unreachable (" + why + "): gave up after " + std::to_string(attempts) +
           " attempt(s) over " + format_number(std::round(waited * 10) / 10) +
           " s (last error: " + describe(last_error) + ")");
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
    backoff = std::min(backoff * 2, std::max(options_.max_reconnect_backoff_s, backoff));
    last_error = attempt(reset_seed);
    ++attempts;
    if (last_error.ok()) return;
  }
}

grpc::Status RemoteVectorEnv::send_reset(std::uint64_t seed) {
  request_.mutable_reset()->set_seed(seed);
  grpc::Status status = session_->call(request_, &response_, options_.request_timeout_s);
  if (!status.ok()) return status;
  if (!response_.has_reset())
    fail(source_ + " answered a reset with another message (payload case " +
         std::to_string(response_.payload_case()) + ")");
  try {
    read_reset(response_.reset(), buffers_, source_);
  } catch (const Error&) {
    drop_session();
    throw;
  }
  std::fill(running_returns_.begin(), running_returns_.end(), 0.0);
  std::fill(running_lengths_.begin(), running_lengths_.end(), 0);
  running_ = true;
  return grpc::Status::OK;
}

void RemoteVectorEnv::reset(std::uint64_t seed) {
  seed_ = seed;
  running_ = false;
  grpc::Status status = grpc::Status::OK;
  if (session_) {
    status = send_reset(seed);
    if (status.ok()) return;
    if (!is_transient(status)) fail(source_ + " refused the reset: " + describe(status));
  }
  // No session (an error ended it) or it broke: open one, with retries, and reset there.
  connect(status.ok() ? "could not open a session" : "lost during a reset", status, seed);
}

void RemoteVectorEnv::step(const envs::ActionBatch& actions) {
  if (!running_)
    throw Error(source_ +
                ": step() called before reset() (or after an error ended the session); "
                "call reset() first");
  const envs::Space& space = spec_.action_space;
  const auto expected = static_cast<std::size_t>(buffers_.num_envs * space.flat_dim());
  const bool discrete = space.is_discrete();
  const std::size_t got = discrete ? actions.discrete.size() : actions.continuous.size();
  if (got != expected)
    throw Error(source_ + ": expected " + std::to_string(expected) + " " +
                (discrete ? "discrete" : "continuous") + " action values for " +
                std::to_string(buffers_.num_envs) + " copies, got " + std::to_string(got));

  wire::StepRequest& step = *request_.mutable_step();
  step.Clear();
  if (discrete)
    step.mutable_discrete_actions()->Add(actions.discrete.begin(), actions.discrete.end());
  else
    step.mutable_continuous_actions()->Add(actions.continuous.begin(), actions.continuous.end());

  const grpc::Status status = session_->call(request_, &response_, options_.request_timeout_s);
  if (!status.ok()) {
    if (is_transient(status)) return recover(status);
    drop_session();
    fail(source_ + " refused the step: " + describe(status));
  }
  if (!response_.has_step()) {
    drop_session();
    fail(source_ + " answered a step with another message (payload case " +
         std::to_string(response_.payload_case()) + ")");
  }
  try {
    read_step(response_.step(), buffers_, source_);
  } catch (const Error&) {
    drop_session();
    throw;
  }
  for (std::size_t i = 0; i < running_lengths_.size(); ++i) {
    if (buffers_.done(static_cast<int>(i))) {
      running_returns_[i] = 0.0;
      running_lengths_[i] = 0;
    } else {
      running_returns_[i] += buffers_.rewards[i];
      running_lengths_[i] += 1;
    }
  }
}

void RemoteVectorEnv::recover(const grpc::Status& error) {
  // What the learner last saw becomes the final observation of every cut episode.
  const std::vector<float> last_observations = buffers_.observations;
  const std::vector<double> returns = running_returns_;
  const std::vector<std::int32_t> lengths = running_lengths_;
  const auto n = static_cast<std::size_t>(buffers_.num_envs);
  cut_episodes_ += static_cast<std::int64_t>(n);
  // Fresh episodes, seeded from the run's seed so that a rerun with the same failures repeats.
  connect("lost mid-run, " + std::to_string(n) + " episodes cut", error,
          Rng::derive(seed_, static_cast<std::uint64_t>(reconnects_) + 1));
  ++reconnects_;
  buffers_.final_observations = last_observations;
  for (std::size_t i = 0; i < n; ++i) {
    buffers_.rewards[i] = 0.0;
    buffers_.terminated[i] = 0;
    buffers_.truncated[i] = 1;
    buffers_.episode_returns[i] = returns[i];
    buffers_.episode_lengths[i] = lengths[i];
  }
}

void RemoteVectorEnv::drop_session() {
  session_.reset();
  running_ = false;
}

void RemoteVectorEnv::fail(const std::string& message) {
  drop_session();
  throw Error(message);
}

envs::VectorEnvMaker remote_env_maker(const RemoteEnvOptions& base) {
  return [base](int num_envs, std::optional<int> time_limit) -> std::unique_ptr<envs::VectorEnv> {
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
    return std::make_unique<RemoteVectorEnv>(options);
  };
}

}  // namespace trustrl::server
