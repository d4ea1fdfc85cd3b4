#pragma once
// What both ends of a trustrl gRPC connection must agree on: keepalive, message size limits,
// credentials (token and TLS) and which addresses count as local.
//
// Keepalive is configured from one list on both sides (grpc.io/docs/guides/keepalive): a client
// that pinged more often than the server permits would be cut off with GOAWAY
// ("too_many_pings"), so the two are never set apart.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/transport/refusal.h"

namespace trustrl::server {

/// The env protocol version this build speaks (proto/trustrl/env/v1/env.proto).
inline constexpr std::uint32_t kProtocolVersion = 1;
/// Metadata key of the shared token: "authorization: Bearer <token>".
inline constexpr char kAuthMetadataKey[] = "authorization";
/// Largest message either side accepts by default: 64 copies of an 84x84x4 float frame stack fit
/// eight times over, while a corrupt length prefix cannot make a peer allocate gigabytes.
inline constexpr int kDefaultMaxMessageBytes = 64 << 20;

/// Keepalive as (gRPC channel argument, value) pairs, applied verbatim to servers and clients:
/// a ping after 20 s without traffic, the peer declared dead after 10 s more without an answer,
/// pings allowed without calls in flight and without data frames in between, and (read by
/// servers) pings accepted every 10 s.
std::vector<std::pair<std::string, int>> keepalive_arguments();

/// Channel arguments of a client: keepalive, message limits, and a private subchannel pool with
/// a short reconnect backoff, so a reconnecting client does not wait out gRPC's own backoff
/// (1 s and up) after its simulator comes back.
grpc::ChannelArguments client_channel_arguments(int max_message_bytes);

/// Applies keepalive and message limits to a server.
void configure_server_builder(grpc::ServerBuilder& builder, int max_message_bytes);

/// Server credentials: TLS from PEM files when both are given, plaintext when both are empty.
/// Throws Error if only one is given or a file cannot be read.
std::shared_ptr<grpc::ServerCredentials> server_credentials(const std::string& cert_file,
                                                            const std::string& key_file);
/// Client credentials: TLS trusting the PEM file `ca_file` (a self-signed server certificate
/// works), plaintext when empty.
std::shared_ptr<grpc::ChannelCredentials> channel_credentials(const std::string& ca_file);

/// Whether a listen address reaches only this machine: 127.0.0.0/8, localhost, [::1] and unix:
/// sockets. 0.0.0.0, [::] and host names do not.
bool is_loopback_address(const std::string& address);

/// The client host of a gRPC peer: its address without the port ("ipv4:10.0.0.7:51234" ->
/// "ipv4:10.0.0.7", "ipv6:[::1]:5" -> "ipv6:[::1]"); other peers unchanged. Per-host limits
/// count by it.
std::string peer_host(const std::string& peer);

/// A warning when a server on `listen` takes a token without TLS and is reachable from other
/// machines (the token then crosses the network in plain text); none otherwise.
std::optional<std::string> plaintext_token_warning(const std::string& listen,
                                                   const std::string& token,
                                                   const std::string& tls_cert_file);

/// Throws Error unless `address` is unix:PATH, unix-abstract:NAME or HOST:PORT with a non-empty
/// host and a port of digits in [0, 65535] (0: any free port where `allow_any_port`). gRPC would
/// otherwise take "127.0.0.1:99999" as port 34463 and "127.0.0.1:" as 443. `flag` names the
/// option in the message ("--listen").
void check_address(const std::string& address, const std::string& flag, bool allow_any_port = true);

/// Why listening on `listen` failed, for the message: the TLS files when an insecure probe of
/// the same address succeeds, else the port or the address.
std::string listen_failure(const std::string& listen, const std::string& cert_file,
                           const std::string& key_file);

/// `listen` with its port replaced by `port` ("127.0.0.1:0" and 43211 -> "127.0.0.1:43211");
/// unix: addresses are returned unchanged.
std::string with_port(const std::string& listen, int port);

/// OK when `token` is empty or the call carries "authorization: Bearer <token>"; otherwise
/// UNAUTHENTICATED saying how to pass it. The comparison takes the same time for any wrong token.
grpc::Status check_token(const grpc::ServerContextBase& context, const std::string& token);
/// Adds the token to a client call (nothing when empty).
void add_token(grpc::ClientContext& context, const std::string& token);

/// "INVALID_ARGUMENT", "UNAVAILABLE", ...
const char* status_code_name(grpc::StatusCode code);
/// "INVALID_ARGUMENT: step: action of copy 1 is 5, outside Discrete(2)".
std::string describe(const grpc::Status& status);
/// The status a service answers a refused call with: the refusal's code and message. Statuses
/// are made at the service edges only (env_session.cpp, learner_service.cpp, env_server.cpp).
grpc::Status to_status(const Refusal& refusal);

/// A wall-clock deadline `seconds` from now, for gRPC calls.
std::chrono::system_clock::time_point deadline_after(double seconds);

/// Whether a failed call means the other end is gone or stuck (worth reconnecting or retrying),
/// as opposed to a refusal that would only repeat.
bool is_transient(const grpc::Status& status);

}  // namespace trustrl::server
