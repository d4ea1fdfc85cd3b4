#include "server/transport/transport.h"

#include <grpc/grpc.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "core/error.h"
#include "core/files.h"

namespace trustrl::server {

std::vector<std::pair<std::string, int>> keepalive_arguments() {
  return {
      {GRPC_ARG_KEEPALIVE_TIME_MS, 20000},
      {GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000},
      {GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1},
      {GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0},
      // Server side: accept pings twice as often as the client above sends them, so that timer
      // jitter never counts as a ping strike.
      {GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000},
  };
}

grpc::ChannelArguments client_channel_arguments(int max_message_bytes) {
  grpc::ChannelArguments args;
  for (const auto& [key, value] : keepalive_arguments()) args.SetInt(key, value);
  args.SetMaxReceiveMessageSize(max_message_bytes);
  args.SetMaxSendMessageSize(max_message_bytes);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  return args;
}

void configure_server_builder(grpc::ServerBuilder& builder, int max_message_bytes) {
  for (const auto& [key, value] : keepalive_arguments()) builder.AddChannelArgument(key, value);
  builder.SetMaxReceiveMessageSize(max_message_bytes);
  builder.SetMaxSendMessageSize(max_message_bytes);
}

std::shared_ptr<grpc::ServerCredentials> server_credentials(const std::string& cert_file,
                                                            const std::string& key_file) {
  if (cert_file.empty() && key_file.empty()) return grpc::InsecureServerCredentials();
  if (cert_file.empty() || key_file.empty())
    throw Error("TLS needs both a certificate (--tls-cert) and its private key (--tls-key)");
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({read_text_file(key_file), read_text_file(cert_file)});
  auto credentials = grpc::SslServerCredentials(options);
  // gRPC checks the pair only when a listening port is made with it, and a server that accepts
  // its own connections (server/transport/listener.h) makes none: it would start and fail every
  // handshake. A throwaway server on a loopback port checks the pair now.
  grpc::CallbackGenericService nothing;  // a server must serve something to start
  grpc::ServerBuilder probe;
  int port = 0;
  probe.AddListeningPort("127.0.0.1:0", credentials, &port);
  probe.RegisterCallbackGenericService(&nothing);
  const auto server = probe.BuildAndStart();
  if (!server || port == 0)
    throw Error("cannot serve TLS with certificate '" + cert_file + "' and key '" + key_file +
                "': they are not PEM, or the key is not the certificate's");
  server->Shutdown();
  return credentials;
}

std::shared_ptr<grpc::ChannelCredentials> channel_credentials(const std::string& ca_file) {
  if (ca_file.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = read_text_file(ca_file);
  return grpc::SslCredentials(options);
}

bool is_loopback_address(const std::string& address) {
  if (address.rfind("unix:", 0) == 0 || address.rfind("unix-abstract:", 0) == 0) return true;
  std::string host = address;
  for (const char* scheme : {"ipv4:", "ipv6:", "dns:///", "dns:"})
    if (host.rfind(scheme, 0) == 0) host = host.substr(std::string(scheme).size());
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    host = close == std::string::npos ? host : host.substr(1, close - 1);
  } else if (const auto colon = host.rfind(':');
             colon != std::string::npos && host.find(':') == colon) {
    host = host.substr(0, colon);  // host:port (an unbracketed IPv6 address has several colons)
  }
  if (host == "localhost" || host == "::1") return true;
  return host.rfind("127.", 0) == 0 && host.find_first_not_of("0123456789.") == std::string::npos;
}

std::string peer_host(const std::string& peer) {
  if (peer.rfind("ipv4:", 0) != 0 && peer.rfind("ipv6:", 0) != 0) return peer;
  const auto colon = peer.rfind(':');
  return colon == std::string::npos || colon < 5 ? peer : peer.substr(0, colon);
}

std::optional<std::string> plaintext_token_warning(const std::string& listen,
                                                   const std::string& token,
                                                   const std::string& tls_cert_file) {
  if (token.empty() || !tls_cert_file.empty() || is_loopback_address(listen)) return std::nullopt;
  return "warning: " + listen +
         " is reachable from other machines and has no TLS: the token crosses the network in "
         "plain text, where anyone on the path can read it and replay it. Pass --tls-cert and "
         "--tls-key, or listen on 127.0.0.1 behind an SSH tunnel";
}

void check_address(const std::string& address, const std::string& flag, bool allow_any_port) {
  if (address.rfind("unix:", 0) == 0 || address.rfind("unix-abstract:", 0) == 0) {
    if (address.substr(address.find(':') + 1).empty())
      throw Error(flag + " '" + address + "' names no socket");
    return;
  }
  std::string rest = address;
  for (const char* scheme : {"ipv4:", "ipv6:", "dns:///", "dns:"})
    if (rest.rfind(scheme, 0) == 0) rest = rest.substr(std::string(scheme).size());
  std::string host, port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      throw Error(flag + " '" + address + "' is not [IPV6]:PORT");
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos || rest.find(':') != colon)
      throw Error(flag + " '" + address +
                  "' is not HOST:PORT (an IPv6 address goes in brackets: [::1]:PORT)");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) throw Error(flag + " '" + address + "' has no host (e.g. 127.0.0.1:PORT)");
  if (port.empty()) throw Error(flag + " '" + address + "' has no port");
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535)
    throw Error(flag + " '" + address + "': port '" + port + "' is not a number in [" +
                (allow_any_port ? "0" : "1") + ", 65535]");
  if (!allow_any_port && std::stoi(port) == 0)
    throw Error(flag + " '" + address + "': port 0 is not a server's port");
}

std::string listen_failure(const std::string& listen, const std::string& cert_file,
                           const std::string& key_file) {
  if (!cert_file.empty() || !key_file.empty()) {
    // The same address without TLS: if that listens, the certificate and key are the problem.
    grpc::CallbackGenericService nothing;  // a server must serve something to start
    grpc::ServerBuilder probe;
    int port = 0;
    probe.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
    probe.RegisterCallbackGenericService(&nothing);
    const auto server = probe.BuildAndStart();
    const bool unix_socket = listen.rfind("unix", 0) == 0;
    if (server && (port != 0 || unix_socket)) {
      server->Shutdown();
      return "cannot serve TLS with certificate '" + cert_file + "' and key '" + key_file +
             "': they are not PEM, or the key is not the certificate's";
    }
  }
  return "cannot listen on " + listen +
         " (is the port taken, or the address not one of this machine's?)";
}

std::string with_port(const std::string& listen, int port) {
  if (listen.rfind("unix", 0) == 0) return listen;
  const auto colon = listen.rfind(':');
  const auto bracket = listen.rfind(']');
  if (colon == std::string::npos || (bracket != std::string::npos && colon < bracket))
    return listen + ":" + std::to_string(port);
  return listen.substr(0, colon + 1) + std::to_string(port);
}

grpc::Status check_token(const grpc::ServerContextBase& context, const std::string& token) {
  if (token.empty()) return grpc::Status::OK;
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find(kAuthMetadataKey);
  if (it == metadata.end())
    return {grpc::StatusCode::UNAUTHENTICATED,
            "this server needs a token: send metadata \"authorization: Bearer <token>\" "
            "(trustrl: --token)"};
  const std::string expected = "Bearer " + token;
  const grpc::string_ref got = it->second;
  // Constant time in the token's content: no early exit on the first wrong byte.
  unsigned diff = got.size() == expected.size() ? 0u : 1u;
  for (std::size_t i = 0; i < expected.size(); ++i)
    diff |= static_cast<unsigned>(static_cast<unsigned char>(expected[i]) ^
                                  static_cast<unsigned char>(i < got.size() ? got.data()[i] : 0));
  if (diff != 0)
    return {grpc::StatusCode::UNAUTHENTICATED,
            "wrong token in \"authorization: Bearer <token>\" metadata"};
  return grpc::Status::OK;
}

void add_token(grpc::ClientContext& context, const std::string& token) {
  if (!token.empty()) context.AddMetadata(kAuthMetadataKey, "Bearer " + token);
}

const char* status_code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    default:
      return "UNKNOWN_CODE";
  }
}

std::string describe(const grpc::Status& status) {
  std::string text = status_code_name(status.error_code());
  if (!status.error_message().empty()) text += ": " + status.error_message();
  return text;
}

namespace {

grpc::StatusCode status_code(RefusalCode code) {
  switch (code) {
    case RefusalCode::kInvalidArgument:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case RefusalCode::kNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case RefusalCode::kFailedPrecondition:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case RefusalCode::kResourceExhausted:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case RefusalCode::kOutOfRange:
      return grpc::StatusCode::OUT_OF_RANGE;
    case RefusalCode::kCancelled:
      return grpc::StatusCode::CANCELLED;
    case RefusalCode::kDeadlineExceeded:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
    case RefusalCode::kInternal:
      return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::UNKNOWN;
}

}  // namespace

grpc::Status to_status(const Refusal& refusal) {
  return {status_code(refusal.code()), refusal.what()};
}

std::chrono::system_clock::time_point deadline_after(double seconds) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::duration<double>(seconds));
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

}  // namespace trustrl::server
