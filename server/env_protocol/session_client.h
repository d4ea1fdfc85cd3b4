#pragma once
// The client end of one session stream, with a deadline on every exchange.
//
// Driven on the caller's thread through a completion queue: a request and the read of its
// response are posted together and the caller waits for both, so a step costs one round trip and
// no thread hand-off. A response that does not come in time cancels the stream.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "server/env_protocol/convert.h"
#include "server/transport/transport.h"
#include "trustrl/env/v1/env.grpc.pb.h"

namespace trustrl::server {

/// How to reach a server.
struct Endpoint {
  /// "host:port" or "unix:/path".
  std::string address;
  /// Shared token, if the server wants one.
  std::string token;
  /// PEM file of the CA (or self-signed certificate) to trust; empty: plaintext.
  std::string tls_ca_file;
  int max_message_bytes = kDefaultMaxMessageBytes;
};

/// A channel to `endpoint` with the shared keepalive and limits (transport.h).
std::shared_ptr<grpc::Channel> make_channel(const Endpoint& endpoint);

/// Calls GetSpec; fills `info` on OK.
grpc::Status get_server_info(const std::shared_ptr<grpc::Channel>& channel,
                             const std::string& token, double timeout_s, wire::ServerInfo* info);

class SessionClient {
 public:
  /// Opens a session stream (nothing is sent yet).
  SessionClient(const std::shared_ptr<grpc::Channel>& channel, const std::string& token);
  /// Cancels the stream if it is still open and waits for gRPC to release it.
  ~SessionClient();
  SessionClient(const SessionClient&) = delete;
  SessionClient& operator=(const SessionClient&) = delete;

  /// Sends `request` and waits for its response. OK, or the status that ended the stream
  /// (after which every call returns that status again). A response that does not arrive
  /// within `timeout_s` cancels the stream: DEADLINE_EXCEEDED.
  grpc::Status call(const wire::SessionRequest& request, wire::SessionResponse* response,
                    double timeout_s);
  /// Pipelining: send() several requests, then receive() their responses in order.
  grpc::Status send(const wire::SessionRequest& request, double timeout_s);
  grpc::Status receive(wire::SessionResponse* response, double timeout_s);
  /// Half-closes the stream and returns the server's final status.
  grpc::Status close(double timeout_s);

  bool ended() const { return ended_; }

 private:
  enum Op : int { kStart, kWrite, kRead, kWritesDone, kFinish, kNumOps };
  // Waits until none of `ops` is in flight; false on timeout (the stream is then cancelled).
  bool wait(std::initializer_list<Op> ops, double timeout_s);
  // Collects the final status after a failed read or write.
  grpc::Status end(const grpc::Status& fallback);
  grpc::Status timed_out(double timeout_s, const char* what);

  std::unique_ptr<wire::EnvService::Stub> stub_;
  grpc::ClientContext context_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::ClientAsyncReaderWriter<wire::SessionRequest, wire::SessionResponse>>
      stream_;
  bool pending_[kNumOps] = {};
  bool failed_op_ = false;
  bool ended_ = false;
  grpc::Status final_status_;
};

}  // namespace trustrl::server
