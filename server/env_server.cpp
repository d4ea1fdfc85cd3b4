#include "server/env_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "core/error.h"
#include "server/worker_pool.h"
#include "trustrl/env/v1/env.grpc.pb.h"

#ifndef TRUSTRL_VERSION
#define TRUSTRL_VERSION "dev"
#endif

namespace trustrl::server {

// Session reads raw bytes and parses them itself: gRPC's own parsing would report a malformed
// message as an ordinary end of stream, indistinguishable from a client that is done.
using ServiceBase = wire::EnvService::WithCallbackMethod_GetSpec<
    wire::EnvService::WithRawCallbackMethod_Session<wire::EnvService::Service>>;

class EnvServer::Service final : public ServiceBase {
 public:
  Service(SessionConfig config, const EnvServerOptions& options)
      : config(std::move(config)),
        token(options.token),
        max_sessions(options.max_sessions),
        inline_budget(options.inline_budget),
        log(options.log),
        workers(options.worker_threads) {}

  grpc::ServerUnaryReactor* GetSpec(grpc::CallbackServerContext* context,
                                    const wire::GetSpecRequest*,
                                    wire::GetSpecResponse* response) override {
    auto* reactor = context->DefaultReactor();
    grpc::Status status = check_token(*context, token);
    if (status.ok()) *response->mutable_server() = config.info;
    reactor->Finish(status);
    return reactor;
  }

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Session(
      grpc::CallbackServerContext* context) override;

  const SessionConfig config;
  const std::string token;
  const int max_sessions;
  const std::chrono::nanoseconds inline_budget;
  const std::function<void(const std::string&)> log;
  std::atomic<int> sessions{0};
  // Declared last: destroyed (joined) first, while everything its tasks use is alive.
  WorkerPool workers;
};

namespace {

// One session stream: read a request, answer it, read the next. Only one read or one write is in
// flight at a time, which is what keeps responses in request order.
class SessionReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  SessionReactor(EnvServer::Service& service, grpc::CallbackServerContext* context)
      : service_(service), session_(service.config), peer_(context->peer()) {
    const int open = service_.sessions.fetch_add(1) + 1;
    if (grpc::Status s = check_token(*context, service_.token); !s.ok()) {
      finish(s);
    } else if (open > service_.max_sessions) {
      finish({grpc::StatusCode::RESOURCE_EXHAUSTED, "this server already serves its maximum of " +
                                                        std::to_string(service_.max_sessions) +
                                                        " sessions; close one or raise the limit"});
    } else {
      StartRead(&request_bytes_);
    }
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client half-closed (or went away): the session is over
      finish(grpc::Status::OK);
      return;
    }
    if (!session_.handshaken() || session_.last_duration() > service_.inline_budget)
      service_.workers.post([this] { answer(); });
    else
      answer();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      finish({grpc::StatusCode::CANCELLED, "the client stopped reading"});
      return;
    }
    StartRead(&request_bytes_);
  }

  void OnDone() override { delete this; }

 private:
  void answer() {
    const std::size_t size = request_bytes_.Length();
    if (!grpc::SerializationTraits<wire::SessionRequest>::Deserialize(&request_bytes_, &request_)
             .ok()) {
      finish({grpc::StatusCode::INVALID_ARGUMENT,
              "request " + std::to_string(requests_ + 1) + " (" + std::to_string(size) +
                  " bytes) is not a valid trustrl.env.v1.SessionRequest message; check the "
                  "client's serialization against proto/trustrl/env/v1/env.proto"});
      return;
    }
    ++requests_;
    response_.Clear();
    grpc::Status status = session_.handle(request_, &response_);
    bool own_buffer = false;
    response_bytes_.Clear();  // the last write is done with it
    if (status.ok())
      status = grpc::SerializationTraits<wire::SessionResponse>::Serialize(
          response_, &response_bytes_, &own_buffer);
    if (status.ok())
      StartWrite(&response_bytes_);
    else
      finish(status);
  }

  // Called exactly once per session: every path that stops reading or writing ends here. The
  // session stops counting before its status goes out, so a client that saw it end may at once
  // open another without meeting the session limit.
  void finish(const grpc::Status& status) {
    service_.sessions.fetch_sub(1);
    if (!status.ok() && service_.log)
      service_.log("session from " + peer_ + " ended: " + describe(status));
    Finish(status);
  }

  EnvServer::Service& service_;
  EnvSession session_;
  std::string peer_;
  grpc::ByteBuffer request_bytes_;
  grpc::ByteBuffer response_bytes_;
  wire::SessionRequest request_;
  wire::SessionResponse response_;
  std::int64_t requests_ = 0;
};

}  // namespace

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* EnvServer::Service::Session(
    grpc::CallbackServerContext* context) {
  return new SessionReactor(*this, context);
}

namespace {

// The checks that need no env; made before the env is built (`maker` passes through).
template <class Maker>
Maker&& checked(const EnvServerOptions& options, Maker&& maker) {
  check_address(options.listen, "--listen");
  if (!is_loopback_address(options.listen) && options.token.empty())
    throw Error("refusing to listen on " + options.listen +
                " without a token: anyone who reaches it could drive the env. Pass --token (and "
                "preferably --tls-cert/--tls-key), or listen on 127.0.0.1");
  if (options.max_sessions < 1) throw Error("max_sessions must be >= 1");
  return std::forward<Maker>(maker);
}

}  // namespace

EnvServer::EnvServer(SessionEnvMaker make_env, EnvServerOptions options)
    : EnvServer(make_session_config(checked(options, std::move(make_env)), ""), options) {}

EnvServer::EnvServer(MultiAgentSessionEnvMaker make_env, EnvServerOptions options)
    : EnvServer(make_session_config(checked(options, std::move(make_env)), ""), options) {}

EnvServer::EnvServer(SessionConfig config, EnvServerOptions options)
    : options_(std::move(options)) {
  config.info.set_server_name(options_.server_name.empty() ? "trustrl env-server " TRUSTRL_VERSION
                                                             " (" +
                                                                 config.info.spec().id() + ")"
                                                           : options_.server_name);
  service_ = std::make_unique<Service>(std::move(config), options_);

  check_address(options_.listen, "--listen");
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  configure_server_builder(builder, options_.max_message_bytes);
  builder.AddListeningPort(
      options_.listen, server_credentials(options_.tls_cert_file, options_.tls_key_file), &port_);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  const bool unix_socket = options_.listen.rfind("unix", 0) == 0;
  if (!server_ || (port_ == 0 && !unix_socket))
    throw Error(listen_failure(options_.listen, options_.tls_cert_file, options_.tls_key_file));
  address_ = with_port(options_.listen, port_);
  if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(true);
}

EnvServer::~EnvServer() {
  shutdown(std::chrono::milliseconds(0));
  server_->Wait();
}

const wire::ServerInfo& EnvServer::info() const { return service_->config.info; }

int EnvServer::active_sessions() const { return service_->sessions.load(); }

void EnvServer::shutdown(std::chrono::milliseconds grace) {
  std::call_once(shutdown_once_, [&] {
    if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(false);
    server_->Shutdown(std::chrono::system_clock::now() + grace);
  });
}

}  // namespace trustrl::server
