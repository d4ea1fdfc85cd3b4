#include "server/distributed/learner_service.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>

#include "agents/env_actor.h"
#include "core/error.h"
#include "server/distributed/learner_convert.h"
#include "server/env_protocol/spec_hash.h"
#include "server/gatherer/learner_protocol.h"
#include "server/gatherer/rollout_gatherer.h"
#include "server/transport/happens_before.h"
#include "server/transport/listener.h"
#include "trustrl/learner/v1/learner.grpc.pb.h"
#include "trustrl/version.h"

namespace trustrl::server {

namespace {

using ServiceBase = learner_wire::LearnerService::WithCallbackMethod_Heartbeat<
    learner_wire::LearnerService::Service>;

// Runs one call's work: the gatherer's refusals become the call's status here, and nowhere else.
template <class Work>
grpc::Status answer(Work&& work) {
  try {
    return work();
  } catch (const Refusal& refusal) {
    return to_status(refusal);
  }
}

learner_wire::HeartbeatResponse directive_message(const Directive& d) {
  learner_wire::HeartbeatResponse message;
  message.set_policy_version(d.policy_version);
  message.set_min_policy_version(d.min_policy_version);
  message.set_rollouts_requested(d.rollouts_requested);
  message.set_finished(d.finished);
  return message;
}

void write_answer(const PushAnswer& answer, learner_wire::PushRolloutResponse* response) {
  response->set_accepted(answer.accepted);
  response->set_reason(answer.reason);
  response->set_duplicate(answer.duplicate);
  response->set_policy_version(answer.policy_version);
}

class HeartbeatReactor;

// The sending side of one Heartbeat stream, shared by its reactor and the gatherer: the gatherer
// may send to it from any thread until the reactor is done.
struct StreamHandle final : DirectiveSink {
  std::recursive_mutex mutex;
  HeartbeatReactor* reactor = nullptr;  // null once the reactor is done

  void send(const Directive& directive) override;
  void close(const std::optional<Refusal>& why) override;
};

}  // namespace

// The gRPC calls of learner.proto over a RolloutGatherer: messages in, plain structs to the
// gatherer, its answers and refusals back as messages and statuses.
class LearnerService::Impl final : public ServiceBase {
 public:
  Impl(const agents::ChannelSetup& setup, LearnerServiceOptions options);

  // ---- gRPC calls
  grpc::Status Describe(grpc::ServerContext* context, const learner_wire::DescribeRequest*,
                        learner_wire::DescribeResponse* response) override;
  grpc::Status Join(grpc::ServerContext* context, const learner_wire::JoinRequest* request,
                    learner_wire::JoinResponse* response) override;
  grpc::ServerBidiReactor<learner_wire::HeartbeatRequest, learner_wire::HeartbeatResponse>*
  Heartbeat(grpc::CallbackServerContext* context) override;
  grpc::Status GetParameters(grpc::ServerContext* context,
                             const learner_wire::GetParametersRequest* request,
                             grpc::ServerWriter<learner_wire::ParametersChunk>* writer) override;
  grpc::Status PushRollout(grpc::ServerContext* context,
                           grpc::ServerReader<learner_wire::RolloutChunk>* reader,
                           learner_wire::PushRolloutResponse* response) override;
  grpc::Status Leave(grpc::ServerContext* context, const learner_wire::LeaveRequest* request,
                     learner_wire::LeaveResponse*) override;

  // ---- called by heartbeat reactors (never with a handle's mutex held)
  grpc::Status on_heartbeat(const learner_wire::HeartbeatRequest& request,
                            const std::shared_ptr<StreamHandle>& handle,
                            learner_wire::HeartbeatResponse* directive);
  void stream_done(const StreamHandle* handle) { gatherer_->sink_closed(handle); }

  void log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }

  const LearnerServiceOptions options_;
  learner_wire::RunInfo info_;
  RolloutShape shape_;
  std::unique_ptr<RolloutGatherer> gatherer_;
};

namespace {

// One Heartbeat stream: reads the actor's heartbeats, answers each with its directive, and sends
// the directives the gatherer queues when something changes. At most one write is in flight; a
// newer directive replaces one still waiting (each carries the whole state).
// gRPC runs the reactions on its own threads, ordered by synchronization TSan cannot see: each
// hand-off to gRPC (StartRead, StartWrite, Finish) is a happens_before(this), each reaction
// begins with happens_after(this) (server/transport/happens_before.h).
class HeartbeatReactor final : public grpc::ServerBidiReactor<learner_wire::HeartbeatRequest,
                                                              learner_wire::HeartbeatResponse> {
 public:
  HeartbeatReactor(LearnerService::Impl& service, grpc::CallbackServerContext* context,
                   const std::string& token)
      : service_(service), handle_(std::make_shared<StreamHandle>()) {
    handle_->reactor = this;
    if (grpc::Status s = check_token(*context, token); !s.ok()) {
      finish(s);
      return;
    }
    happens_before(this);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    happens_after(this);
    if (!ok) {  // the actor closed the stream or went away
      finish(grpc::Status::OK);
      return;
    }
    learner_wire::HeartbeatResponse directive;
    const grpc::Status s = service_.on_heartbeat(request_, handle_, &directive);
    if (!s.ok()) {
      finish(s);
      return;
    }
    send(directive);
    happens_before(this);
    StartRead(&request_);
  }

  // Thread-safe.
  void send(const learner_wire::HeartbeatResponse& directive) {
    std::lock_guard lock(handle_->mutex);
    if (finishing_) return;
    if (writing_) {
      pending_ = directive;
      return;
    }
    writing_ = true;
    out_ = directive;
    happens_before(this);
    StartWrite(&out_);
  }

  // Thread-safe; the first status wins.
  void finish(const grpc::Status& status) {
    std::lock_guard lock(handle_->mutex);
    if (finishing_) return;
    finishing_ = true;
    status_ = status;
    if (!writing_) {
      finished_ = true;
      happens_before(this);
      Finish(status_);
    }
  }

  void OnWriteDone(bool ok) override {
    happens_after(this);
    std::lock_guard lock(handle_->mutex);
    writing_ = false;
    if (!ok && !finishing_) {
      finishing_ = true;
      status_ = grpc::Status(grpc::StatusCode::CANCELLED, "the actor stopped reading");
    }
    if (finishing_) {
      if (!finished_) {
        finished_ = true;
        happens_before(this);
        Finish(status_);
      }
      return;
    }
    if (pending_) {
      out_ = *pending_;
      pending_.reset();
      writing_ = true;
      happens_before(this);
      StartWrite(&out_);
    }
  }

  void OnDone() override {
    happens_after(this);
    {
      std::lock_guard lock(handle_->mutex);
      handle_->reactor = nullptr;
    }
    service_.stream_done(handle_.get());
    delete this;
  }

 private:
  LearnerService::Impl& service_;
  std::shared_ptr<StreamHandle> handle_;
  learner_wire::HeartbeatRequest request_;
  learner_wire::HeartbeatResponse out_;
  std::optional<learner_wire::HeartbeatResponse> pending_;
  bool writing_ = false, finishing_ = false, finished_ = false;
  grpc::Status status_;
};

void StreamHandle::send(const Directive& directive) {
  std::lock_guard lock(mutex);
  if (reactor) reactor->send(directive_message(directive));
}

void StreamHandle::close(const std::optional<Refusal>& why) {
  std::lock_guard lock(mutex);
  if (reactor) reactor->finish(why ? to_status(*why) : grpc::Status::OK);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Setup

LearnerService::Impl::Impl(const agents::ChannelSetup& setup, LearnerServiceOptions options)
    : options_(std::move(options)) {
  const agents::DistributedConfig& dist = setup.config.distributed;
  const int want_envs = setup.batch_envs;
  const auto& config = setup.config;
  const auto num_steps = static_cast<int>(config.ppo.num_steps);
  info_.set_protocol_version(kLearnerProtocolVersion);
  info_.set_env_id(config.env.id.empty() ? setup.env.id : config.env.id);
  for (const auto& [key, value] : config.env.options) (*info_.mutable_env_options())[key] = value;
  info_.set_multi_agent(setup.env.multi_agent);
  if (setup.env.multi_agent) {
    *info_.mutable_spec() = to_wire(setup.env.multi_agent_spec);
    shape_ = rollout_shape(
        setup.env.multi_agent_spec, num_steps,
        agents::EnvActor::critic_width(setup.env.multi_agent_spec, config.mappo.critic_input,
                                       config.mappo.agent_id));
  } else {
    *info_.mutable_spec() = to_wire(setup.env.spec);
    shape_ = rollout_shape(setup.env.spec, num_steps);
  }
  info_.set_spec_hash(spec_hash(info_.spec()));
  info_.set_num_steps(num_steps);
  info_.set_actor_envs(dist.actor_envs > 0
                           ? static_cast<int>(std::min<std::int64_t>(dist.actor_envs, want_envs))
                           : want_envs);
  info_.set_env_threads(static_cast<int>(config.env.threads));
  info_.set_mode(dist.mode == agents::GatherMode::kSync ? learner_wire::MODE_SYNC
                                                        : learner_wire::MODE_ASYNC);
  info_.set_max_staleness(static_cast<int>(dist.max_staleness));
  info_.set_heartbeat_interval_s(dist.heartbeat_interval_s);
  info_.set_actor_timeout_s(dist.actor_timeout_s);
  info_.set_env_remote(config.env.remote);
  info_.set_chunk_bytes(
      static_cast<int>(std::min<std::int64_t>(dist.chunk_bytes, options_.max_message_bytes / 2)));
  info_.set_learner_name(options_.name.empty() ? "trustrl learner " TRUSTRL_VERSION " (rank " +
                                                     std::to_string(setup.rank) + " of " +
                                                     std::to_string(setup.world_size) + ")"
                                               : options_.name);
  info_.set_batch_envs(want_envs);

  GathererSettings settings;
  settings.distributed = dist;
  settings.batch_envs = want_envs;
  settings.num_steps = shape_.num_steps;
  settings.num_agents = shape_.num_agents;
  settings.gamma = config.ppo.gamma;
  settings.rank = setup.rank;
  settings.seed = config.seed;
  settings.max_actors = options_.max_actors;
  settings.max_actors_per_peer = options_.max_actors_per_peer;
  settings.min_actors = options_.min_actors;
  settings.finish_grace_s = options_.finish_grace_s;
  settings.chunk_bytes = info_.chunk_bytes();
  settings.log = options_.log;
  settings.log_batches = options_.log_batches;
  gatherer_ = std::make_unique<RolloutGatherer>(std::move(settings));
}

// ---------------------------------------------------------------------------------------------
// gRPC calls

grpc::Status LearnerService::Impl::Describe(grpc::ServerContext* context,
                                            const learner_wire::DescribeRequest*,
                                            learner_wire::DescribeResponse* response) {
  if (grpc::Status s = check_token(*context, options_.token); !s.ok()) return s;
  *response->mutable_run() = info_;
  return grpc::Status::OK;
}

grpc::Status LearnerService::Impl::Join(grpc::ServerContext* context,
                                        const learner_wire::JoinRequest* request,
                                        learner_wire::JoinResponse* response) {
  if (grpc::Status s = check_token(*context, options_.token); !s.ok()) return s;
  if (request->protocol_version() != kLearnerProtocolVersion)
    return {grpc::StatusCode::FAILED_PRECONDITION, "join: this learner speaks protocol version " +
                                                       std::to_string(kLearnerProtocolVersion) +
                                                       ", the actor " +
                                                       std::to_string(request->protocol_version())};
  JoinRequest join;
  join.actor_id = request->actor_id();
  join.incarnation = request->incarnation();
  join.num_envs = request->num_envs();
  join.peer = context->peer();
  join.host = peer_host(join.peer);
  return answer([&]() -> grpc::Status {
    ActorMembership::check_request(join);
    if (request->spec_hash() != info_.spec_hash()) {
      std::optional<std::string> difference;
      if (request->has_spec()) difference = spec_difference(info_.spec(), request->spec());
      return {grpc::StatusCode::FAILED_PRECONDITION,
              "join: " + member_name(join.actor_id, join.incarnation) +
                  " runs an env with spec hash " + hash_text(request->spec_hash()) +
                  ", this learner trains on " + info_.spec().id() + " (" +
                  hash_text(info_.spec_hash()) + ")" + (difference ? ": " + *difference : "")};
    }
    const JoinAnswer joined = gatherer_->join(join);
    *response->mutable_run() = info_;
    response->set_slot(joined.slot);
    response->set_env_seed(joined.env_seed);
    response->set_policy_version(joined.policy_version);
    return grpc::Status::OK;
  });
}

grpc::ServerBidiReactor<learner_wire::HeartbeatRequest, learner_wire::HeartbeatResponse>*
LearnerService::Impl::Heartbeat(grpc::CallbackServerContext* context) {
  return new HeartbeatReactor(*this, context, options_.token);
}

grpc::Status LearnerService::Impl::on_heartbeat(const learner_wire::HeartbeatRequest& request,
                                                const std::shared_ptr<StreamHandle>& handle,
                                                learner_wire::HeartbeatResponse* directive) {
  HeartbeatReport report;
  report.actor_id = request.actor_id();
  report.incarnation = request.incarnation();
  report.waiting_seconds = request.waiting_seconds();
  report.cut_episodes = request.cut_episodes();
  report.unstable_steps = request.unstable_steps();
  return answer([&] {
    *directive = directive_message(gatherer_->heartbeat(report, handle));
    return grpc::Status::OK;
  });
}

grpc::Status LearnerService::Impl::GetParameters(
    grpc::ServerContext* context, const learner_wire::GetParametersRequest* request,
    grpc::ServerWriter<learner_wire::ParametersChunk>* writer) {
  if (grpc::Status s = check_token(*context, options_.token); !s.ok()) return s;
  return answer([&]() -> grpc::Status {
    const Parameters parameters =
        gatherer_->parameters(request->actor_id(), request->incarnation());
    const auto& bytes = parameters.bytes;
    if (!bytes) return {grpc::StatusCode::UNAVAILABLE, "the learner has published no policy yet"};
    learner_wire::ParametersChunk chunk;
    chunk.set_policy_version(parameters.version);
    if (request->have_version() == parameters.version) {
      writer->Write(chunk);
      return grpc::Status::OK;
    }
    const auto total = static_cast<std::int64_t>(bytes->size());
    const std::int64_t step = info_.chunk_bytes();
    chunk.set_total_bytes(total);
    for (std::int64_t offset = 0; offset < total; offset += step) {
      chunk.set_offset(offset);
      chunk.set_data(bytes->data() + offset,
                     static_cast<std::size_t>(std::min(step, total - offset)));
      if (!writer->Write(chunk)) return {grpc::StatusCode::CANCELLED, "the actor stopped reading"};
    }
    return grpc::Status::OK;
  });
}

grpc::Status LearnerService::Impl::PushRollout(
    grpc::ServerContext* context, grpc::ServerReader<learner_wire::RolloutChunk>* reader,
    learner_wire::PushRolloutResponse* response) {
  if (grpc::Status s = check_token(*context, options_.token); !s.ok()) return s;
  learner_wire::RolloutChunk chunk;
  if (!reader->Read(&chunk)) return {grpc::StatusCode::INVALID_ARGUMENT, "push: no chunk arrived"};
  if (!chunk.has_header())
    return {grpc::StatusCode::INVALID_ARGUMENT, "push: the first chunk carries no header"};
  const learner_wire::RolloutHeader& wire_header = chunk.header();
  PushHeader header;
  header.actor_id = wire_header.actor_id();
  header.incarnation = wire_header.incarnation();
  header.sequence = wire_header.sequence();
  header.policy_version = wire_header.policy_version();
  const std::int64_t total_bytes = wire_header.total_bytes();
  const std::string actor = member_name(header.actor_id, header.incarnation);
  return answer([&]() -> grpc::Status {
    const PushAdmission admission = gatherer_->admit_push(header);
    if (admission.answer) {
      write_answer(*admission.answer, response);
      return grpc::Status::OK;
    }
    const std::int64_t limit = max_rollout_bytes(shape_, admission.num_envs);
    if (total_bytes < 0 || total_bytes > limit)
      return {grpc::StatusCode::RESOURCE_EXHAUSTED,
              "push from " + actor + ": a rollout of " + std::to_string(total_bytes) +
                  " bytes exceeds the " + std::to_string(limit) +
                  " a rollout of this run can take"};
    std::string bytes;
    bytes.reserve(static_cast<std::size_t>(total_bytes));
    do {
      if (static_cast<std::int64_t>(bytes.size() + chunk.data().size()) > total_bytes)
        return {grpc::StatusCode::INVALID_ARGUMENT,
                "push from " + actor + ": the chunks hold more than the header's total_bytes"};
      bytes += chunk.data();
    } while (static_cast<std::int64_t>(bytes.size()) < total_bytes && reader->Read(&chunk));
    if (static_cast<std::int64_t>(bytes.size()) != total_bytes)
      return {grpc::StatusCode::CANCELLED,
              "push from " + actor + ": the stream ended after " + std::to_string(bytes.size()) +
                  " of " + std::to_string(total_bytes) + " bytes; the partial rollout is dropped"};
    learner_wire::Rollout message;
    if (!message.ParseFromString(bytes))
      return {grpc::StatusCode::INVALID_ARGUMENT, "push from " + actor +
                                                      ": the chunks are not a valid "
                                                      "trustrl.learner.v1.Rollout message"};
    agents::Rollout rollout;
    try {
      rollout = from_wire(message, shape_, admission.num_envs);
    } catch (const std::exception& e) {
      log("refused a rollout from " + actor + ": " + e.what());
      return {grpc::StatusCode::INVALID_ARGUMENT, "push from " + actor + ": " + e.what()};
    }
    write_answer(
        gatherer_->take_push(header, std::move(rollout), static_cast<std::int64_t>(bytes.size())),
        response);
    return grpc::Status::OK;
  });
}

grpc::Status LearnerService::Impl::Leave(grpc::ServerContext* context,
                                         const learner_wire::LeaveRequest* request,
                                         learner_wire::LeaveResponse*) {
  if (grpc::Status s = check_token(*context, options_.token); !s.ok()) return s;
  return answer([&] {
    gatherer_->leave(request->actor_id(), request->incarnation());
    return grpc::Status::OK;
  });
}

// ---------------------------------------------------------------------------------------------

LearnerService::LearnerService(const agents::ChannelSetup& setup, LearnerServiceOptions options) {
  check_address(options.listen, "--listen");
  if (!is_loopback_address(options.listen) && options.token.empty())
    throw Error("refusing to listen on " + options.listen +
                " without a token: anyone who reaches it could feed the learner. Pass --token (and "
                "preferably --tls-cert/--tls-key), or listen on 127.0.0.1");
  if (options.max_actors < 1) throw Error("max_actors must be >= 1");
  if (options.max_actors_per_peer < 0) throw Error("max_actors_per_peer must be >= 0");
  if (options.max_connections_per_peer < 0) throw Error("max_connections_per_peer must be >= 0");
  if (options.max_actors_per_peer == 0) options.max_actors_per_peer = options.max_actors;
  if (options.max_connections_per_peer == 0)
    options.max_connections_per_peer = default_connections_per_peer(options.max_actors);
  if (options.min_actors < 1 || options.min_actors > options.max_actors)
    throw Error("min_actors must be in [1, max_actors = " + std::to_string(options.max_actors) +
                "], got " + std::to_string(options.min_actors));
  impl_ = std::make_unique<Impl>(setup, std::move(options));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  configure_server_builder(builder, impl_->options_.max_message_bytes);
  int port = 0;
  builder.RegisterService(impl_.get());
  try {
    server_ = start_server(
        builder, impl_->options_.listen,
        server_credentials(impl_->options_.tls_cert_file, impl_->options_.tls_key_file),
        impl_->options_.max_connections_per_peer, impl_->options_.log, listener_, port);
  } catch (const Error&) {
    listener_.reset();  // free the port for listen_failure's probe
    throw Error(listen_failure(impl_->options_.listen, impl_->options_.tls_cert_file,
                               impl_->options_.tls_key_file));
  }
  address_ = with_port(impl_->options_.listen, port);
  if (const std::optional<std::string> warning = plaintext_token_warning(
          impl_->options_.listen, impl_->options_.token, impl_->options_.tls_cert_file))
    impl_->log(*warning);
  if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(true);
}

LearnerService::~LearnerService() {
  if (listener_) listener_->stop();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    server_->Wait();
  }
}

const std::string& LearnerService::address() const { return address_; }
const learner::v1::RunInfo& LearnerService::run_info() const { return impl_->info_; }
int LearnerService::members() const { return impl_->gatherer_->members(); }
std::int64_t LearnerService::accepted_rollouts() const {
  return impl_->gatherer_->accepted_rollouts();
}
void LearnerService::publish(const agents::PolicySnapshot& snapshot) {
  impl_->gatherer_->publish(snapshot);
}
bool LearnerService::next_batch(int num_envs, int num_steps, agents::Batch& out) {
  return impl_->gatherer_->next_batch(num_envs, num_steps, out);
}
void LearnerService::stop() { impl_->gatherer_->stop(); }
void LearnerService::finish() { impl_->gatherer_->finish(); }
std::int64_t LearnerService::cut_episodes() const { return impl_->gatherer_->cut_episodes(); }
std::int64_t LearnerService::unstable_steps() const { return impl_->gatherer_->unstable_steps(); }
void LearnerService::restart(std::uint64_t seed, std::int64_t) { impl_->gatherer_->restart(seed); }

}  // namespace trustrl::server
