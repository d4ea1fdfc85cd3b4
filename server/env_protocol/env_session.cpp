#include "server/env_protocol/env_session.h"

#include <optional>

#include "core/error.h"
#include "envs/registry.h"
#include "server/env_protocol/spec_hash.h"
#include "server/transport/transport.h"

namespace trustrl::server {

namespace {

Refusal invalid(const std::string& message) { return {RefusalCode::kInvalidArgument, message}; }
Refusal precondition(const std::string& message) {
  return {RefusalCode::kFailedPrecondition, message};
}
Refusal internal(const std::string& message) { return {RefusalCode::kInternal, message}; }

bool has_capability(const google::protobuf::RepeatedField<int>& list, wire::Capability c) {
  for (const int x : list)
    if (x == c) return true;
  return false;
}

const char* payload_name(wire::SessionRequest::PayloadCase c) {
  switch (c) {
    case wire::SessionRequest::kHandshake:
      return "handshake";
    case wire::SessionRequest::kReset:
      return "reset";
    case wire::SessionRequest::kStep:
      return "step";
    default:
      return "empty";
  }
}

}  // namespace

SessionEnvMaker registered_env_maker(const std::string& id, const OptionMap& options, int num_envs,
                                     int num_threads) {
  if (num_envs < 1) throw Error("--num-envs must be >= 1, got " + std::to_string(num_envs));
  return [=](int max_episode_steps) -> std::unique_ptr<envs::VectorEnv> {
    OptionMap opts = options;
    if (max_episode_steps > 0) opts["max_episode_steps"] = std::to_string(max_episode_steps);
    return envs::LocalVectorEnv::make(id, opts, num_envs, num_threads);
  };
}

namespace {

wire::ServerInfo server_info(wire::EnvSpec spec, int num_envs, const std::string& server_name) {
  wire::ServerInfo info;
  info.set_protocol_version(kProtocolVersion);
  info.add_capabilities(wire::CAPABILITY_TIME_LIMIT_OVERRIDE);
  *info.mutable_spec() = std::move(spec);
  validate(info.spec());
  info.set_spec_hash(spec_hash(info.spec()));
  info.set_num_envs(num_envs);
  info.set_server_name(server_name);
  return info;
}

}  // namespace

SessionConfig make_session_config(SessionEnvMaker make_env, const std::string& server_name) {
  if (!make_env) throw Error("an env server needs an env maker");
  const auto env = make_env(0);
  SessionConfig config;
  config.make_env = std::move(make_env);
  // A single-agent env keeps the single-agent wire form, so existing clients keep working.
  config.info =
      server_info(env->single_agent() ? to_wire(env->single_agent_spec()) : to_wire(env->spec()),
                  env->num_envs(), server_name);
  return config;
}

grpc::Status EnvSession::handle(const wire::SessionRequest& request,
                                wire::SessionResponse* response) {
  const auto start = std::chrono::steady_clock::now();
  grpc::Status status = grpc::Status::OK;
  // The one place a session's errors become statuses: its refusals keep their code, a batch that
  // breaks the protocol is the request's fault (INVALID_ARGUMENT, named after the request).
  try {
    answer(request, response);
  } catch (const Refusal& refusal) {
    status = to_status(refusal);
  } catch (const ProtocolError& e) {
    status = {grpc::StatusCode::INVALID_ARGUMENT,
              std::string(payload_name(request.payload_case())) + ": " + e.what()};
  }
  last_duration_ = std::chrono::steady_clock::now() - start;
  return status;
}

void EnvSession::answer(const wire::SessionRequest& request, wire::SessionResponse* response) {
  const auto kind = request.payload_case();
  if (kind == wire::SessionRequest::PAYLOAD_NOT_SET)
    throw invalid(
        "the request has no payload: set one of handshake, reset, step (an unknown "
        "request type from a newer protocol arrives like this; this server speaks "
        "version " +
        std::to_string(kProtocolVersion) + ")");
  if (state_ == State::kAwaitHandshake && kind != wire::SessionRequest::kHandshake)
    throw precondition(std::string("a ") + payload_name(kind) +
                       " request came before the handshake; the first request of a session "
                       "must be a handshake");
  if (kind == wire::SessionRequest::kHandshake) {
    if (state_ != State::kAwaitHandshake)
      throw precondition("a second handshake in one session; open a new session instead");
    handshake(request.handshake(), response->mutable_handshake());
  } else if (kind == wire::SessionRequest::kReset) {
    reset(request.reset(), response->mutable_reset());
  } else {
    step(request.step(), response->mutable_step());
  }
}

void EnvSession::handshake(const wire::HandshakeRequest& request,
                           wire::HandshakeResponse* response) {
  const wire::ServerInfo& base = config_.info;
  if (request.protocol_version() != kProtocolVersion)
    throw precondition("handshake: the client speaks protocol version " +
                       std::to_string(request.protocol_version()) +
                       (request.protocol_version() == 0 ? " (protocol_version unset)" : "") +
                       ", this server speaks version " + std::to_string(kProtocolVersion));
  if (request.num_envs() < 0)
    throw invalid("handshake: num_envs must be >= 0 (0 takes the server's), got " +
                  std::to_string(request.num_envs()));
  if (request.num_envs() != 0 && request.num_envs() != base.num_envs())
    throw precondition("handshake: the client expects " + std::to_string(request.num_envs()) +
                       " copies per session, this server serves " +
                       std::to_string(base.num_envs()) +
                       " (start the server with that many copies, or ask for 0 to take the "
                       "server's)");
  if (request.max_episode_steps() < 0)
    throw invalid("handshake: max_episode_steps must be >= 0 (0 keeps the env's limit), got " +
                  std::to_string(request.max_episode_steps()));
  if (base.spec().num_agents() > 0 &&
      !has_capability(request.capabilities(), wire::CAPABILITY_MULTI_AGENT))
    throw precondition("handshake: this server serves a multi-agent env (" +
                       std::to_string(base.spec().num_agents()) +
                       " agents) and the client did not declare CAPABILITY_MULTI_AGENT");

  info_ = base;
  if (request.max_episode_steps() > 0)
    info_.mutable_spec()->set_max_episode_steps(request.max_episode_steps());
  info_.set_spec_hash(spec_hash(info_.spec()));
  if (request.spec_hash() != 0 && request.spec_hash() != info_.spec_hash()) {
    std::optional<std::string> what;
    if (request.has_expected_spec()) what = spec_difference(request.expected_spec(), info_.spec());
    if (!what)
      what = "the server serves " + info_.spec().id() + ": " + describe(info_.spec()) +
             (request.has_expected_spec() ? "" : "; send expected_spec to see which field differs");
    throw precondition(
        "handshake: spec mismatch, the client expects another env than this "
        "server serves (" +
        *what + "); client spec hash " + hash_text(request.spec_hash()) + ", server " +
        hash_text(info_.spec_hash()));
  }
  int limit = 0;
  try {
    env_ = config_.make_env(request.max_episode_steps());
    layout_ = std::make_unique<AgentLayout>(env_->spec());
    limit = env_->spec().max_episode_steps;
  } catch (const std::exception& e) {
    throw invalid(std::string("handshake: cannot make the session's env: ") + e.what());
  }
  if (limit != info_.spec().max_episode_steps())
    throw internal("handshake: the env ignored the time limit it was asked for");
  *response->mutable_server() = info_;
  state_ = State::kAwaitReset;
}

void EnvSession::reset(const wire::ResetRequest& request, wire::ResetResponse* response) {
  try {
    env_->reset(request.seed());
  } catch (const std::exception& e) {
    throw internal(std::string("reset: the env failed: ") + e.what());
  }
  write_reset(*layout_, env_->buffers(), response);
  state_ = State::kRunning;
}

void EnvSession::step(const wire::StepRequest& request, wire::StepResponse* response) {
  if (state_ != State::kRunning)
    throw precondition(
        "a step request came before any reset: the copies have no running "
        "episode; send a reset request first");
  // The wire's packed rows become the padded actions of vector_env.h, and every copy's action is
  // checked (against its current active mask) before any copy moves.
  read_actions(env_->spec(), *layout_, env_->num_envs(), env_->buffers().active, request, discrete_,
               continuous_);
  try {
    env_->step({discrete_, continuous_});
  } catch (const std::exception& e) {
    throw internal(std::string("step: the env failed: ") + e.what());
  }
  write_step(*layout_, env_->buffers(), response);
}

}  // namespace trustrl::server
