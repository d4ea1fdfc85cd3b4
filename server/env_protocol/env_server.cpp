#include "server/env_protocol/env_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "core/error.h"
#include "server/env_protocol/worker_pool.h"
#include "server/transport/happens_before.h"
#include "trustrl/env/v1/env.grpc.pb.h"
#include "trustrl/version.h"

namespace trustrl::server {

// Session reads raw bytes and parses them itself: gRPC's own parsing would report a malformed
// message as an ordinary end of stream, indistinguishable from a client that is done.
using ServiceBase = wire::EnvService::WithCallbackMethod_GetSpec<
    wire::EnvService::WithRawCallbackMethod_Session<wire::EnvService::Service>>;

namespace {
class SessionReactor;
using Clock = std::chrono::steady_clock;
}  // namespace

class EnvServer::Service final : public ServiceBase {
 public:
  Service(SessionConfig config, const EnvServerOptions& options)
      : config(std::move(config)),
        token(options.token),
        max_sessions(options.max_sessions),
        max_sessions_per_peer(options.max_sessions_per_peer > 0 ? options.max_sessions_per_peer
                                                                : options.max_sessions),
        idle_timeout(options.idle_timeout),
        inline_budget(options.inline_budget),
        log(options.log),
        workers(options.worker_threads) {
    if (idle_timeout.count() > 0) sweeper = std::thread([this] { sweep(); });
  }

  ~Service() override {
    happens_after(this);  // every session's OnDone (grpc::Server's shutdown waited for them)
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    if (sweeper.joinable()) sweeper.join();
  }

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

  // A session starts: OK, or RESOURCE_EXHAUSTED naming the limit it would pass.
  grpc::Status admit(SessionReactor* session, const std::string& host);
  // A session that was admitted ends (called once, before its status goes out).
  void release(SessionReactor* session, const std::string& host);
  // The reactor is about to be deleted: the sweeper must not touch it from now on.
  void forget(SessionReactor* session);

  const SessionConfig config;
  const std::string token;
  const int max_sessions;
  const int max_sessions_per_peer;
  const std::chrono::milliseconds idle_timeout;
  const std::chrono::nanoseconds inline_budget;
  const std::function<void(const std::string&)> log;
  std::atomic<int> sessions{0};

 private:
  void sweep();

  std::mutex mutex;  // per_peer, stopping
  std::condition_variable wake;
  bool stopping = false;
  std::map<std::string, int> per_peer;  // admitted sessions by client host
  std::recursive_mutex live_mutex;
  std::set<SessionReactor*> live;  // admitted and not yet deleted
  std::thread sweeper;

 public:
  // Declared last: destroyed (joined) first, while everything its tasks use is alive.
  WorkerPool workers;
};

namespace {

// One session stream: read a request, answer it, read the next. Only one read or one write is in
// flight at a time, which is what keeps responses in request order. The reactions run on gRPC's
// threads (and answer() on a worker), ordered by gRPC in ways TSan cannot see: each hand-off to
// gRPC is a happens_before(this), each reaction begins with happens_after(this).
class SessionReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  SessionReactor(EnvServer::Service& service, grpc::CallbackServerContext* context)
      : service_(service),
        session_(service.config),
        peer_(context->peer()),
        host_(peer_host(peer_)),
        last_active_(Clock::now()) {
    if (grpc::Status s = check_token(*context, service_.token); !s.ok()) {
      finish(s);
      return;
    }
    admitted_ = true;  // before admit(): the sweeper may look at the session once it is admitted
    if (grpc::Status admitted = service_.admit(this, host_); !admitted.ok()) {
      admitted_ = false;
      finish(admitted);
      return;
    }
    bool closed = false;
    {
      std::lock_guard lock(mutex_);
      closed = finished_;
    }
    if (!closed) {
      happens_before(this);
      StartRead(&request_bytes_);
    }
  }

  void OnReadDone(bool ok) override {
    happens_after(this);
    if (!ok) {  // the client half-closed (or went away): the session is over
      finish(grpc::Status::OK);
      return;
    }
    {
      std::lock_guard lock(mutex_);
      if (finished_) return;  // closed for idleness just now: no answer after Finish()
      busy_ = true;
    }
    if (!session_.handshaken() || session_.last_duration() > service_.inline_budget)
      service_.workers.post([this] { answer(); });
    else
      answer();
  }

  void OnWriteDone(bool ok) override {
    happens_after(this);
    if (!ok) {
      finish({grpc::StatusCode::CANCELLED, "the client stopped reading"});
      return;
    }
    {
      std::lock_guard lock(mutex_);
      busy_ = false;
      last_active_ = Clock::now();
    }
    happens_before(this);
    StartRead(&request_bytes_);
  }

  void OnDone() override {
    happens_after(this);
    service_.forget(this);
    happens_before(&service_);
    delete this;
  }

  // Called by the service's sweeper (its registry locked): ends the session if it has waited
  // for a request longer than `timeout`.
  void close_if_idle(Clock::time_point now, std::chrono::milliseconds timeout) {
    {
      // Checked and claimed at once: a request that arrives now finds the session finished.
      std::lock_guard lock(mutex_);
      if (busy_ || finished_ || now - last_active_ < timeout) return;
      finished_ = true;
    }
    const auto seconds = std::chrono::duration<double>(timeout).count();
    std::ostringstream text;
    text << "session closed after " << seconds
         << " s idle (the server's idle timeout); open a new one";
    finished({grpc::StatusCode::UNAVAILABLE, text.str()});
  }

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
    if (status.ok()) {
      happens_before(this);
      StartWrite(&response_bytes_);
    } else {
      finish(status);
    }
  }

  // Every path that stops reading or writing ends here; the first status wins (the sweeper may
  // race with the stream's own end). The session stops counting before its status goes out, so
  // a client that saw it end may at once open another without meeting the session limit.
  void finish(const grpc::Status& status) {
    {
      std::lock_guard lock(mutex_);
      if (finished_) return;
      finished_ = true;
    }
    finished(status);
  }

  // The rest of finish(), once finished_ is claimed.
  void finished(const grpc::Status& status) {
    if (admitted_) service_.release(this, host_);
    if (!status.ok() && service_.log)
      service_.log("session from " + peer_ + " ended: " + describe(status));
    happens_before(this);
    Finish(status);
  }

  EnvServer::Service& service_;
  EnvSession session_;
  const std::string peer_;
  const std::string host_;
  bool admitted_ = false;
  std::mutex mutex_;
  bool busy_ = false;      // a request is being answered
  bool finished_ = false;  // Finish() was called
  Clock::time_point last_active_;
  grpc::ByteBuffer request_bytes_;
  grpc::ByteBuffer response_bytes_;
  wire::SessionRequest request_;
  wire::SessionResponse response_;
  std::int64_t requests_ = 0;
};

}  // namespace

grpc::Status EnvServer::Service::admit(SessionReactor* session, const std::string& host) {
  std::unique_lock lock(mutex);
  if (sessions.load() >= max_sessions)
    return {grpc::StatusCode::RESOURCE_EXHAUSTED,
            "this server already serves its maximum of " + std::to_string(max_sessions) +
                " sessions; close one or raise the limit (--max-sessions)"};
  int& mine = per_peer[host];
  if (mine >= max_sessions_per_peer) {
    if (mine == 0) per_peer.erase(host);
    return {grpc::StatusCode::RESOURCE_EXHAUSTED,
            "this server already serves its maximum of " + std::to_string(max_sessions_per_peer) +
                " sessions to " + host +
                "; close one or raise the limit (--max-sessions-per-peer)"};
  }
  ++mine;
  sessions.fetch_add(1);
  lock.unlock();  // lock order: live_mutex is never taken with mutex held
  std::lock_guard hold(live_mutex);
  live.insert(session);
  return grpc::Status::OK;
}

void EnvServer::Service::release(SessionReactor*, const std::string& host) {
  std::lock_guard lock(mutex);
  if (const auto it = per_peer.find(host); it != per_peer.end() && --it->second <= 0)
    per_peer.erase(it);
  sessions.fetch_sub(1);
}

void EnvServer::Service::forget(SessionReactor* session) {
  std::lock_guard hold(live_mutex);
  live.erase(session);
}

void EnvServer::Service::sweep() {
  const auto tick = std::clamp<std::chrono::milliseconds>(
      idle_timeout / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
  std::unique_lock lock(mutex);
  while (!stopping) {
    wake.wait_for(lock, tick);
    if (stopping) return;
    lock.unlock();
    {
      // Held while sessions are looked at: forget() waits for it, so none is deleted meanwhile
      // (recursive: a session's end may run forget() on this very thread).
      std::lock_guard hold(live_mutex);
      const auto now = Clock::now();
      const std::vector<SessionReactor*> sessions_now(live.begin(), live.end());
      for (SessionReactor* session : sessions_now)
        if (live.count(session)) session->close_if_idle(now, idle_timeout);
    }
    lock.lock();
  }
}

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
  if (options.max_sessions_per_peer < 0) throw Error("max_sessions_per_peer must be >= 0");
  if (options.max_connections_per_peer < 0) throw Error("max_connections_per_peer must be >= 0");
  if (options.idle_timeout.count() < 0) throw Error("the idle timeout must be >= 0");
  return std::forward<Maker>(maker);
}

}  // namespace

EnvServer::EnvServer(SessionEnvMaker make_env, EnvServerOptions options)
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
  builder.RegisterService(service_.get());
  try {
    server_ = start_server(
        builder, options_.listen, server_credentials(options_.tls_cert_file, options_.tls_key_file),
        options_.max_connections_per_peer > 0 ? options_.max_connections_per_peer
                                              : default_connections_per_peer(options_.max_sessions),
        options_.log, listener_, port_);
  } catch (const Error&) {
    listener_.reset();  // free the port for listen_failure's probe
    throw Error(listen_failure(options_.listen, options_.tls_cert_file, options_.tls_key_file));
  }
  address_ = with_port(options_.listen, port_);
  if (const std::optional<std::string> warning =
          plaintext_token_warning(options_.listen, options_.token, options_.tls_cert_file);
      warning && options_.log)
    options_.log(*warning);
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
    if (listener_) listener_->stop();
    if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(false);
    server_->Shutdown(std::chrono::system_clock::now() + grace);
  });
}

}  // namespace trustrl::server
