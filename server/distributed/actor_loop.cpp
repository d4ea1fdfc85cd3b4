#include "server/distributed/actor_loop.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <thread>

#include "agents/actor.h"
#include "agents/env_actor.h"
#include "agents/policy_snapshot.h"
#include "core/error.h"
#include "core/text.h"
#include "envs/vector_env.h"
#include "server/distributed/learner_convert.h"
#include "server/env_protocol/remote_vector_env.h"
#include "server/env_protocol/session_client.h"
#include "server/env_protocol/spec_hash.h"
#include "server/gatherer/learner_protocol.h"
#include "server/transport/retry_loop.h"
#include "trustrl/learner/v1/learner.grpc.pb.h"
#include "trustrl/version.h"

namespace trustrl::server {

namespace {

using Clock = std::chrono::steady_clock;

// The membership ended (the learner restarted, timed this actor out, or its stream broke): join
// again, after a backoff when `transient`.
struct Rejoin {
  grpc::Status status;
};

std::string default_actor_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "actor");
  return std::string(host) + "/" + std::to_string(::getpid());
}

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

class ActorLoop::Impl {
 public:
  Impl(ActorLoopOptions options, ActorLoop& owner)
      : options_(std::move(options)),
        owner_(owner),
        retry_(
            {options_.learner_timeout_s, options_.rpc_timeout_s, options_.backoff_s,
             options_.max_backoff_s},
            learner(), options_.log,
            [this](double seconds) { return wait_unless_stopped(seconds); },
            static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()) ^
                static_cast<std::uint64_t>(::getpid())) {
    if (options_.learner.empty())
      throw Error("an actor needs the learner's address (--learner host:port)");
    if (options_.actor_id.empty()) options_.actor_id = default_actor_id();
    if (options_.incarnation > kMaxIncarnation)
      throw Error("--incarnation " + std::to_string(options_.incarnation) + " is above " +
                  std::to_string(kMaxIncarnation) + " (2^62), the largest a learner takes");
    if (options_.incarnation == 0)
      options_.incarnation =
          static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
    channel_ = make_channel(
        {options_.learner, options_.token, options_.tls_ca_file, options_.max_message_bytes});
    stub_ = learner_wire::LearnerService::NewStub(channel_);
  }

  void run();
  void stop() {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    changed_.notify_all();
    if (heartbeat_context_) heartbeat_context_->TryCancel();
  }

 private:
  void log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }
  std::string learner() const { return "learner at " + options_.learner; }
  // Waits up to `seconds` (a backoff); false if stop() was called meanwhile.
  bool wait_unless_stopped(double seconds);
  // One attempt's context: the token and the retry loop's deadline.
  void prepare(grpc::ClientContext& context, std::chrono::system_clock::time_point deadline) const {
    add_token(context, options_.token);
    context.set_deadline(deadline);
  }
  [[noreturn]] void refused(const std::string& what, const grpc::Status& status) const {
    throw Error(learner() + " refused " + what + ": " + describe(status));
  }

  void describe_run();
  void build_env();
  void join();
  void open_heartbeat();
  void close_heartbeat();
  void serve();
  void fetch_parameters();
  void push(const agents::Rollout& rollout);
  void leave();
  // Registers `context` as the call the watchdog cancels; throws Rejoin if the membership is
  // already over.
  void begin_call(grpc::ClientContext& context);
  void end_call();
  // After a failed call: a broken membership is not retried (the learner has dropped this actor,
  // or cannot hear it); join again.
  void rejoin_if_broken(const grpc::Status& status);
  void reconnect();

  ActorLoopOptions options_;
  ActorLoop& owner_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<learner_wire::LearnerService::Stub> stub_;
  // Every call to the learner: transient failures count towards learner_timeout_s from the
  // first, across calls, until one succeeds.
  RetryLoop retry_;

  learner_wire::RunInfo run_;
  std::unique_ptr<envs::VectorEnv> env_;
  std::unique_ptr<envs::VectorEnv> multi_env_;
  std::uint64_t spec_hash_ = 0;
  wire::EnvSpec spec_;
  int num_envs_ = 0;
  std::unique_ptr<agents::Actor> actor_;
  bool run_over_ = false;  // the learner refused a join because the run is over
  std::int64_t have_version_ = -1;
  std::int64_t sequence_ = 0;
  std::int64_t pushed_here_ = 0;  // this membership
  Clock::time_point membership_start_;
  double waiting_seconds_ = 0;  // this membership
  agents::Rollout rollout_;

  // Shared with the heartbeat threads.
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  bool stream_broken_ = false;
  bool closing_ = false;         // close_heartbeat() is ending the stream's threads
  bool learner_silent_ = false;  // the watchdog found the connection dead: make a new one
  Clock::time_point last_directive_;
  grpc::ClientContext* call_context_ = nullptr;  // the push or fetch in flight, for the watchdog
  learner_wire::HeartbeatResponse directive_;
  std::unique_ptr<grpc::ClientContext> heartbeat_context_;
  std::unique_ptr<
      grpc::ClientReaderWriter<learner_wire::HeartbeatRequest, learner_wire::HeartbeatResponse>>
      heartbeat_;
  std::thread heartbeat_reader_, heartbeat_writer_, heartbeat_watchdog_;
  std::atomic<double> reported_waiting_{0};
  std::atomic<std::int64_t> reported_cut_{0};
  std::atomic<std::int64_t> reported_unstable_{0};
};

bool ActorLoop::Impl::wait_unless_stopped(double seconds) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, std::chrono::duration<double>(seconds), [&] { return stopping_; });
  return !stopping_;
}

void ActorLoop::Impl::describe_run() {
  learner_wire::DescribeResponse response;
  const std::optional<grpc::Status> status =
      retry_.run("describe", [&](std::chrono::system_clock::time_point deadline) {
        grpc::ClientContext context;
        prepare(context, deadline);
        response.Clear();
        return stub_->Describe(&context, learner_wire::DescribeRequest(), &response);
      });
  if (!status) return;  // stopped
  if (!status->ok()) refused("to describe its run", *status);
  run_ = response.run();
}

void ActorLoop::Impl::build_env() {
  if (run_.protocol_version() != kLearnerProtocolVersion)
    throw Error(learner() + " speaks learner protocol version " +
                std::to_string(run_.protocol_version()) + "; this actor speaks " +
                std::to_string(kLearnerProtocolVersion));
  const std::string remote = !options_.env_server.empty() ? options_.env_server : run_.env_remote();
  OptionMap env_options(run_.env_options().begin(), run_.env_options().end());
  RemoteEnvOptions server;
  server.address = remote;
  server.token = options_.env_token;
  server.tls_ca_file = options_.env_tls_ca_file;
  server.num_envs = options_.num_envs;
  server.client_name = "trustrl actor " + options_.actor_id;
  if (run_.multi_agent() && !remote.empty()) {
    multi_env_ = std::make_unique<RemoteVectorEnv>(server);
    spec_ = to_wire(multi_env_->spec());
    num_envs_ = multi_env_->num_envs();
  } else if (run_.multi_agent()) {
    // env_threads 0: auto (the learner's env.threads default), chosen by the vector env.
    const int n = options_.num_envs > 0 ? options_.num_envs : run_.actor_envs();
    multi_env_ =
        envs::LocalVectorEnv::make(run_.env_id(), env_options, n, std::max(0, run_.env_threads()));
    spec_ = to_wire(multi_env_->spec());
    num_envs_ = multi_env_->num_envs();
  } else if (!remote.empty()) {
    env_ = std::make_unique<RemoteVectorEnv>(server);
    spec_ = to_wire(env_->single_agent_spec());
    num_envs_ = env_->num_envs();
  } else {
    const int n = options_.num_envs > 0 ? options_.num_envs : run_.actor_envs();
    env_ =
        envs::LocalVectorEnv::make(run_.env_id(), env_options, n, std::max(0, run_.env_threads()));
    spec_ = to_wire(env_->single_agent_spec());
    num_envs_ = env_->num_envs();
  }
  spec_hash_ = spec_hash(spec_);
}

void ActorLoop::Impl::join() {
  learner_wire::JoinRequest request;
  request.set_protocol_version(kLearnerProtocolVersion);
  request.set_actor_id(options_.actor_id);
  request.set_incarnation(options_.incarnation);
  request.set_spec_hash(spec_hash_);
  *request.mutable_spec() = spec_;
  request.set_num_envs(num_envs_);
  request.set_client_name("trustrl actor " TRUSTRL_VERSION);
  learner_wire::JoinResponse response;
  const std::optional<grpc::Status> status =
      retry_.run("join", [&](std::chrono::system_clock::time_point deadline) {
        grpc::ClientContext context;
        prepare(context, deadline);
        response.Clear();
        return stub_->Join(&context, request, &response);
      });
  if (!status) return;  // stopped
  if (status->error_code() == grpc::StatusCode::OUT_OF_RANGE) {
    // Cut off just before the end (a broken connection): the run finished without this actor.
    log(learner() + " says the run is over (" + status->error_message() + "); leaving");
    run_over_ = true;
    return;
  }
  if (!status->ok()) refused("this actor", *status);
  run_ = response.run();
  const std::uint64_t seed = response.env_seed();
  if (!actor_) {
    actor_ =
        std::make_unique<agents::EnvActor>(env_ ? std::move(env_) : std::move(multi_env_), seed);
  } else {
    actor_->restart(seed);  // fresh episodes: the learner dropped what this actor had in flight
  }
  have_version_ = -1;
  pushed_here_ = 0;
  waiting_seconds_ = 0;
  membership_start_ = Clock::now();
  // Scripts and tests wait for this line: keep its wording.
  log("joined " + learner() + " (" + run_.learner_name() + ") as actor '" + options_.actor_id +
      "', incarnation " + std::to_string(options_.incarnation) + ": slot " +
      std::to_string(response.slot()) + ", " + std::to_string(num_envs_) + " copies of " +
      run_.env_id() + ", seed " + std::to_string(seed) + ", policy version " +
      std::to_string(response.policy_version()));
}

void ActorLoop::Impl::open_heartbeat() {
  {
    std::lock_guard lock(mutex_);
    stream_broken_ = false;
    closing_ = false;
    last_directive_ = Clock::now();
    directive_.Clear();
    directive_.set_policy_version(-1);
    heartbeat_context_ = std::make_unique<grpc::ClientContext>();
    add_token(*heartbeat_context_, options_.token);
    heartbeat_ = stub_->Heartbeat(heartbeat_context_.get());
  }
  const double interval = run_.heartbeat_interval_s() > 0 ? run_.heartbeat_interval_s() : 1.0;
  heartbeat_writer_ = std::thread([this, interval] {
    learner_wire::HeartbeatRequest request;
    request.set_actor_id(options_.actor_id);
    request.set_incarnation(options_.incarnation);
    std::unique_lock lock(mutex_);
    while (!stopping_ && !stream_broken_) {
      request.set_waiting_seconds(reported_waiting_.load());
      request.set_cut_episodes(reported_cut_.load());
      request.set_unstable_steps(reported_unstable_.load());
      lock.unlock();
      const bool ok = heartbeat_->Write(request);
      lock.lock();
      if (!ok) break;
      changed_.wait_for(lock, std::chrono::duration<double>(interval),
                        [&] { return stopping_ || stream_broken_; });
    }
  });
  heartbeat_reader_ = std::thread([this] {
    learner_wire::HeartbeatResponse response;
    while (heartbeat_->Read(&response)) {
      std::lock_guard lock(mutex_);
      directive_ = response;
      last_directive_ = Clock::now();
      changed_.notify_all();
    }
    std::lock_guard lock(mutex_);
    stream_broken_ = true;
    changed_.notify_all();
  });
  // The learner answers every heartbeat. A connection can die without closing (a middlebox that
  // drops bytes leaves HTTP/2 flow control stalled, and keepalive pings still pass): then no
  // answer comes, no call ends, and without this the actor would wait forever. After the
  // learner's own actor_timeout_s of silence (it has dropped this actor by then, too) it cancels
  // the stream and the call in flight, and the actor joins again on a new connection.
  const double silence =
      std::max(run_.actor_timeout_s() > 0 ? run_.actor_timeout_s() : 10.0, 3 * interval);
  heartbeat_watchdog_ = std::thread([this, silence] {
    std::unique_lock lock(mutex_);
    while (!stopping_ && !stream_broken_ && !closing_) {
      changed_.wait_for(lock, std::chrono::duration<double>(std::min(silence / 4, 1.0)));
      if (stopping_ || stream_broken_ || closing_) break;
      if (since(last_directive_) <= silence) continue;
      log(learner() + ": no answer to heartbeats for " + format_number(std::round(silence)) +
          " s; dropping the connection and joining again");
      learner_silent_ = true;
      stream_broken_ = true;
      heartbeat_context_->TryCancel();
      if (call_context_) call_context_->TryCancel();
      changed_.notify_all();
    }
  });
}

void ActorLoop::Impl::begin_call(grpc::ClientContext& context) {
  std::lock_guard lock(mutex_);
  if (stream_broken_ && heartbeat_context_)
    throw Rejoin{grpc::Status(grpc::StatusCode::UNAVAILABLE, "the heartbeat stream closed")};
  call_context_ = &context;
}

void ActorLoop::Impl::end_call() {
  std::lock_guard lock(mutex_);
  call_context_ = nullptr;
}

void ActorLoop::Impl::rejoin_if_broken(const grpc::Status& status) {
  std::lock_guard lock(mutex_);
  if (stream_broken_ && heartbeat_context_) throw Rejoin{status};
}

void ActorLoop::Impl::reconnect() {
  channel_ = make_channel(
      {options_.learner, options_.token, options_.tls_ca_file, options_.max_message_bytes});
  stub_ = learner_wire::LearnerService::NewStub(channel_);
}

void ActorLoop::Impl::close_heartbeat() {
  {
    std::lock_guard lock(mutex_);
    if (!heartbeat_context_) return;
    closing_ = true;
    heartbeat_context_->TryCancel();
    changed_.notify_all();
  }
  heartbeat_writer_.join();
  heartbeat_reader_.join();
  heartbeat_watchdog_.join();
  heartbeat_->Finish().ok();  // cancelled: the status says nothing new
  std::lock_guard lock(mutex_);
  heartbeat_.reset();
  heartbeat_context_.reset();
}

void ActorLoop::Impl::fetch_parameters() {
  learner_wire::GetParametersRequest request;
  request.set_actor_id(options_.actor_id);
  request.set_incarnation(options_.incarnation);
  request.set_have_version(have_version_);
  std::vector<std::uint8_t> bytes;
  std::int64_t version = -1, total = -1;
  const auto attempt = [&](std::chrono::system_clock::time_point deadline) {
    grpc::ClientContext context;
    prepare(context, deadline);
    bytes.clear();
    version = total = -1;
    begin_call(context);
    struct EndCall {
      Impl* self;
      ~EndCall() { self->end_call(); }
    } end{this};
    auto reader = stub_->GetParameters(&context, request);
    learner_wire::ParametersChunk chunk;
    while (reader->Read(&chunk)) {
      if (total < 0) {
        version = chunk.policy_version();
        total = chunk.total_bytes();
        if (total < 0 || total > (std::int64_t{1} << 34)) {
          context.TryCancel();
          break;
        }
        bytes.reserve(static_cast<std::size_t>(total));
      }
      if (chunk.offset() != static_cast<std::int64_t>(bytes.size()) ||
          chunk.policy_version() != version) {
        context.TryCancel();
        break;
      }
      bytes.insert(bytes.end(), chunk.data().begin(), chunk.data().end());
    }
    return reader->Finish();
  };
  const std::optional<grpc::Status> status =
      retry_.run("fetching the policy", attempt,
                 [this](const grpc::Status& failure) { rejoin_if_broken(failure); });
  if (!status) return;  // stopped
  if (status->error_code() == grpc::StatusCode::NOT_FOUND) throw Rejoin{*status};
  if (!status->ok()) refused("the policy", *status);
  if (total < 0 || static_cast<std::int64_t>(bytes.size()) != total)
    throw Error(learner() + " sent a malformed policy (chunks do not add up)");
  if (total == 0) return;  // this version is current
  ByteReader in(bytes, "the policy from " + learner());
  actor_->set_policy(agents::PolicySnapshot::load(in));
  have_version_ = version;
}

void ActorLoop::Impl::push(const agents::Rollout& rollout) {
  learner_wire::Rollout message;
  to_wire(rollout, &message);
  const std::string bytes = message.SerializeAsString();
  const std::int64_t sequence = ++sequence_;
  const std::size_t step = static_cast<std::size_t>(std::max(1024, run_.chunk_bytes()));
  learner_wire::PushRolloutResponse response;
  const auto attempt = [&](std::chrono::system_clock::time_point deadline) {
    grpc::ClientContext context;
    prepare(context, deadline);
    response.Clear();
    begin_call(context);
    struct EndCall {
      Impl* self;
      ~EndCall() { self->end_call(); }
    } end{this};
    auto writer = stub_->PushRollout(&context, &response);
    learner_wire::RolloutChunk chunk;
    auto* header = chunk.mutable_header();
    header->set_actor_id(options_.actor_id);
    header->set_incarnation(options_.incarnation);
    header->set_sequence(sequence);
    header->set_policy_version(rollout.policy_version);
    header->set_total_bytes(static_cast<std::int64_t>(bytes.size()));
    std::size_t offset = 0;
    do {
      chunk.set_data(bytes.data() + offset, std::min(step, bytes.size() - offset));
      offset += chunk.data().size();
      if (!writer->Write(chunk)) break;
      chunk.clear_header();
    } while (offset < bytes.size());
    writer->WritesDone();
    return writer->Finish();
  };
  const std::optional<grpc::Status> status =
      retry_.run("pushing rollout " + std::to_string(sequence), attempt,
                 [this](const grpc::Status& failure) { rejoin_if_broken(failure); });
  if (!status) return;  // stopped
  if (status->error_code() == grpc::StatusCode::NOT_FOUND) throw Rejoin{*status};
  if (status->error_code() == grpc::StatusCode::FAILED_PRECONDITION) refused("this actor", *status);
  if (!status->ok()) {  // a bad rollout: say so, and go on with the next one
    log(learner() + " refused rollout " + std::to_string(sequence) + ": " + describe(*status));
    return;
  }
  ++owner_.pushed_;
  if (response.accepted()) ++owner_.accepted_;
  if (!response.accepted())
    log(learner() + " did not take rollout " + std::to_string(sequence) + " (version " +
        std::to_string(rollout.policy_version) + "): " + response.reason());
  else if (options_.log_rollouts)
    log("pushed rollout " + std::to_string(sequence) + " (version " +
        std::to_string(rollout.policy_version) + ")" +
        (response.duplicate() ? ", a retry the learner had already taken" : ""));
}

void ActorLoop::Impl::leave() {
  grpc::ClientContext context;
  add_token(context, options_.token);
  context.set_deadline(deadline_after(std::min(options_.rpc_timeout_s, 5.0)));
  learner_wire::LeaveRequest request;
  request.set_actor_id(options_.actor_id);
  request.set_incarnation(options_.incarnation);
  learner_wire::LeaveResponse response;
  stub_->Leave(&context, request, &response)
      .ok();  // best effort: the learner also sees the stream close
}

// One membership: work while the learner asks for it.
void ActorLoop::Impl::serve() {
  open_heartbeat();
  struct Closer {
    Impl* self;
    ~Closer() { self->close_heartbeat(); }
  } closer{this};
  for (;;) {
    learner_wire::HeartbeatResponse directive;
    {
      const auto t0 = Clock::now();
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] {
        return stopping_ || stream_broken_ || directive_.finished() ||
               directive_.rollouts_requested() > pushed_here_;
      });
      waiting_seconds_ += since(t0);
      if (stopping_ || directive_.finished()) {
        const bool finished = directive_.finished();
        lock.unlock();
        leave();
        if (finished) log(learner() + " says the run is over; leaving");
        return;
      }
      if (stream_broken_) {
        lock.unlock();
        throw Rejoin{grpc::Status(grpc::StatusCode::UNAVAILABLE, "the heartbeat stream closed")};
      }
      directive = directive_;
    }
    // Act with the version the learner asks for (async: the newest it has published).
    const std::int64_t wanted = run_.mode() == learner_wire::MODE_ASYNC
                                    ? directive.policy_version()
                                    : directive.min_policy_version();
    if (have_version_ < 0 || have_version_ < wanted) {
      const auto t0 = Clock::now();
      fetch_parameters();
      waiting_seconds_ += since(t0);
    }
    if (have_version_ < 0) return;  // stopped while fetching
    if (options_.before_collect) options_.before_collect(owner_.pushed_.load());
    actor_->collect(run_.num_steps(), rollout_);
    reported_cut_.store(actor_->cut_episodes());
    reported_unstable_.store(actor_->unstable_steps());
    const auto t0 = Clock::now();
    push(rollout_);
    waiting_seconds_ += since(t0);
    reported_waiting_.store(waiting_seconds_);
    ++pushed_here_;
  }
}

void ActorLoop::Impl::run() {
  describe_run();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
  }
  build_env();
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    join();
    if (run_over_) return;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    try {
      serve();
      return;
    } catch (const Rejoin& r) {
      if (learner_silent_) {
        learner_silent_ = false;
        reconnect();
      }
      if (r.status.error_code() != grpc::StatusCode::NOT_FOUND) {
        retry_.failed(r.status, "the membership");
        if (!retry_.back_off()) return;
      } else {
        log(learner() + " no longer knows this actor (" + describe(r.status) + "); joining again");
      }
    }
  }
}

ActorLoop::ActorLoop(ActorLoopOptions options)
    : impl_(std::make_unique<Impl>(std::move(options), *this)) {}
ActorLoop::~ActorLoop() = default;
void ActorLoop::run() { impl_->run(); }
void ActorLoop::stop() { impl_->stop(); }

}  // namespace trustrl::server
