#include "server/env_protocol/session_link.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "core/error.h"
#include "core/text.h"
#include "server/env_protocol/spec_hash.h"
#include "server/transport/transport.h"

namespace trustrl::server {

SessionLink::SessionLink(RemoteEnvOptions options, Handshake handshake)
    : options_(std::move(options)),
      handshake_(std::move(handshake)),
      source_("simulator at " + options_.address) {
  if (options_.address.empty()) throw Error("a remote env needs an address (host:port)");
  if (options_.num_envs < 0 || options_.max_episode_steps < 0 || options_.max_reconnects < 0)
    throw Error(source_ + ": num_envs, max_episode_steps and max_reconnects must be >= 0");
}

SessionLink::~SessionLink() {
  if (session_) session_->close(std::min(options_.request_timeout_s, 2.0));
}

grpc::Status SessionLink::open_session() {
  session_.reset();
  // A fresh channel per attempt: an old one may sit in gRPC's own reconnect backoff.
  channel_ = make_channel(options_.endpoint());
  session_ = std::make_unique<SessionClient>(channel_, options_.token);

  wire::HandshakeRequest& hs = *request_.mutable_handshake();
  hs.Clear();
  hs.set_protocol_version(kProtocolVersion);
  if (handshake_.multi_agent) hs.add_capabilities(wire::CAPABILITY_MULTI_AGENT);
  hs.set_num_envs(first_hash_ ? info_.num_envs() : options_.num_envs);
  hs.set_max_episode_steps(options_.max_episode_steps);
  hs.set_client_name(options_.client_name);
  if (first_hash_) {
    // A reconnection must land on the same env the run started with.
    hs.set_spec_hash(first_hash_);
    *hs.mutable_expected_spec() = info_.spec();
  } else if (handshake_.expected_spec) {
    wire::EnvSpec expected = *handshake_.expected_spec;
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
  try {
    if (handshake_.check_spec) handshake_.check_spec(info.spec());
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
  if (options_.max_episode_steps > 0 &&
      info.spec().max_episode_steps() != options_.max_episode_steps)
    fail(source_ + " kept its time limit of " + std::to_string(info.spec().max_episode_steps()) +
         " steps when asked for " + std::to_string(options_.max_episode_steps) +
         " (does it offer CAPABILITY_TIME_LIMIT_OVERRIDE?)");
  if (first_hash_ && hash != first_hash_)
    fail(source_ + " came back serving another env (" +
         spec_difference(info_.spec(), info.spec()).value_or("spec hash " + hash_text(hash)) + ")");
  first_hash_ = hash;
  info_ = info;
  return grpc::Status::OK;
}

void SessionLink::connect(const std::string& why, grpc::Status last_error,
                          const std::function<grpc::Status()>& then) {
  auto attempt = [&] {
    grpc::Status status = open_session();
    if (status.ok() && then) status = then();
    return status;
  };
  const auto start = std::chrono::steady_clock::now();
  double backoff = options_.reconnect_backoff_s;
  int attempts = 0;
  if (last_error.ok()) {  // nothing failed yet: try at once
    last_error = attempt();
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
    last_error = attempt();
    ++attempts;
    if (last_error.ok()) return;
  }
}

grpc::Status SessionLink::call(const wire::SessionRequest& request,
                               wire::SessionResponse* response) {
  if (!session_)
    return {grpc::StatusCode::FAILED_PRECONDITION, "no session is open (an error ended it)"};
  return session_->call(request, response, options_.request_timeout_s);
}

void SessionLink::fail(const std::string& message) {
  drop();
  throw Error(message);
}

}  // namespace trustrl::server
