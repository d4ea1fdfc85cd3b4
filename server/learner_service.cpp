#include "server/learner_service.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "agents/multi_agent_actor.h"
#include "agents/rollout_columns.h"
#include "agents/rollout_limits.h"
#include "core/error.h"
#include "core/rng.h"
#include "server/happens_before.h"
#include "server/learner_convert.h"
#include "server/listener.h"
#include "server/spec_hash.h"
#include "trustrl/learner/v1/learner.grpc.pb.h"

#ifndef TRUSTRL_VERSION
#define TRUSTRL_VERSION "dev"
#endif

namespace trustrl::server {

namespace {

using Clock = std::chrono::steady_clock;
namespace lw = ::trustrl::learner::v1;
constexpr std::uint32_t kLearnerProtocolVersion = 1;
// An actor's sequence numbers go 1, 2, ...; one skips only after a push it gave up on or that was
// refused, so a jump further than this is no honest actor's.
constexpr std::int64_t kMaxSequenceGap = 1 << 16;

using ServiceBase = lw::LearnerService::WithCallbackMethod_Heartbeat<lw::LearnerService::Service>;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

Clock::duration to_duration(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

std::string who(const std::string& actor_id, std::uint64_t incarnation) {
  return "actor '" + actor_id + "' (incarnation " + std::to_string(incarnation) + ")";
}

class HeartbeatReactor;

// The sending side of one Heartbeat stream, shared by its reactor and the service: the service
// may send to it from any thread until the reactor is done.
struct StreamHandle {
  std::recursive_mutex mutex;
  HeartbeatReactor* reactor = nullptr;  // null once the reactor is done
};

}  // namespace

class LearnerService::Impl final : public ServiceBase {
 public:
  Impl(const agents::ChannelSetup& setup, LearnerServiceOptions options);

  // ---- gRPC calls
  grpc::Status Describe(grpc::ServerContext* context, const lw::DescribeRequest*,
                        lw::DescribeResponse* response) override;
  grpc::Status Join(grpc::ServerContext* context, const lw::JoinRequest* request,
                    lw::JoinResponse* response) override;
  grpc::ServerBidiReactor<lw::HeartbeatRequest, lw::HeartbeatResponse>* Heartbeat(
      grpc::CallbackServerContext* context) override;
  grpc::Status GetParameters(grpc::ServerContext* context, const lw::GetParametersRequest* request,
                             grpc::ServerWriter<lw::ParametersChunk>* writer) override;
  grpc::Status PushRollout(grpc::ServerContext* context,
                           grpc::ServerReader<lw::RolloutChunk>* reader,
                           lw::PushRolloutResponse* response) override;
  grpc::Status Leave(grpc::ServerContext* context, const lw::LeaveRequest* request,
                     lw::LeaveResponse*) override;

  // ---- called by heartbeat reactors (never with a handle's mutex held)
  grpc::Status on_heartbeat(const lw::HeartbeatRequest& request,
                            const std::shared_ptr<StreamHandle>& handle,
                            lw::HeartbeatResponse* directive);
  void stream_done(const std::shared_ptr<StreamHandle>& handle);

  // ---- the channel
  void publish(const agents::PolicySnapshot& snapshot);
  bool next_batch(int num_envs, int num_steps, agents::Batch& out);
  void stop();
  void finish();

  struct Member {
    std::string actor_id;
    std::string host;  // the client host it joined from
    std::uint64_t incarnation = 0;
    int slot = 0;
    int num_envs = 0;
    std::int64_t requested = 0;      // rollouts asked for since the join
    std::int64_t received = 0;       // distinct sequence numbers received
    std::int64_t last_sequence = 0;  // the highest one
    lw::PushRolloutResponse last_response;
    // Sync: rollouts asked for / delivered at the current version; late: past the deadline.
    std::int64_t assigned = 0;
    std::int64_t delivered = 0;
    bool late = false;
    Clock::time_point last_seen;
    double waiting_seconds = 0, waiting_counted = 0;
    std::int64_t cut_episodes = 0;
    std::shared_ptr<StreamHandle> stream;
  };
  struct Part {
    int slot = 0;
    std::string actor_id;
    std::int64_t sequence = 0;
    agents::Rollout rollout;
  };
  using Outbox = std::vector<std::pair<std::shared_ptr<StreamHandle>, lw::HeartbeatResponse>>;

  // Everything below with _locked runs with mutex_ held.
  grpc::Status find_member_locked(const std::string& actor_id, std::uint64_t incarnation,
                                  Member** out);
  lw::HeartbeatResponse directive_locked(const Member& m) const;
  // The answer to a push whose sequence number was seen before or jumps too far; nullopt for the
  // next new one.
  std::optional<grpc::Status> answer_seen_sequence_locked(const Member& m,
                                                          const lw::RolloutHeader& header,
                                                          const std::string& actor,
                                                          lw::PushRolloutResponse* response) const;
  void queue_all_locked(Outbox& outbox) const;
  // `left`: the actor said goodbye (Leave, or it joined again), so it is not cut off.
  void remove_member_locked(const std::string& actor_id, const std::string& why, Outbox& outbox,
                            std::vector<std::shared_ptr<StreamHandle>>* to_close,
                            bool left = false);
  void plan_locked(Outbox& outbox);
  std::uint64_t env_seed_locked(int slot);
  void log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }
  static void send(const Outbox& outbox);
  static void close(const std::vector<std::shared_ptr<StreamHandle>>& streams,
                    const grpc::Status& status);

  const LearnerServiceOptions options_;
  const agents::DistributedConfig dist_;
  const int rank_, world_size_;
  const std::uint64_t seed_;
  lw::RunInfo info_;
  RolloutShape shape_;
  int want_envs_ = 0;
  const double gamma_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, Member> members_;   // by actor id
  std::map<std::string, int> last_slot_;    // by actor id
  std::map<int, std::int64_t> slot_joins_;  // joins per slot
  std::set<int> slots_;                     // slots in use
  // Actors that lost their membership without leaving (stream broken, timed out): when the run
  // ends, finish() gives them the grace period to come back and hear that it is over.
  std::set<std::string> cut_off_;
  std::int64_t version_ = -1;
  std::shared_ptr<const std::vector<std::uint8_t>> parameters_;
  // What rollouts of each version still taken may hold, by version.
  std::map<std::int64_t, agents::RolloutLimits> limits_;
  std::vector<Part> pool_;
  int pool_envs_ = 0;
  Clock::time_point deadline_{};
  std::int64_t discarded_steps_ = 0;
  std::int64_t accepted_ = 0;
  std::int64_t departed_cut_episodes_ = 0;
  std::uint64_t base_seed_;
  bool restarted_ = false;
  bool stopping_ = false;
  bool finished_ = false;
  bool batch_taken_ = false;  // sync: this version's batch is out; nothing more until the next one
  bool batch_begun_ = false;  // sync: rollouts of this version were asked for
  std::int64_t rotation_ = 0;
};

namespace {

// One Heartbeat stream: reads the actor's heartbeats, answers each with its directive, and sends
// the directives the service queues when something changes. At most one write is in flight; a
// newer directive replaces one still waiting (each carries the whole state).
// gRPC runs the reactions on its own threads, ordered by synchronization TSan cannot see: each
// hand-off to gRPC (StartRead, StartWrite, Finish) is a happens_before(this), each reaction
// begins with happens_after(this) (server/happens_before.h).
class HeartbeatReactor final
    : public grpc::ServerBidiReactor<lw::HeartbeatRequest, lw::HeartbeatResponse> {
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
    lw::HeartbeatResponse directive;
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
  void send(const lw::HeartbeatResponse& directive) {
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
    service_.stream_done(handle_);
    delete this;
  }

 private:
  LearnerService::Impl& service_;
  std::shared_ptr<StreamHandle> handle_;
  lw::HeartbeatRequest request_;
  lw::HeartbeatResponse out_;
  std::optional<lw::HeartbeatResponse> pending_;
  bool writing_ = false, finishing_ = false, finished_ = false;
  grpc::Status status_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Setup

LearnerService::Impl::Impl(const agents::ChannelSetup& setup, LearnerServiceOptions options)
    : options_(std::move(options)),
      dist_(setup.config.distributed),
      rank_(setup.rank),
      world_size_(setup.world_size),
      seed_(setup.config.seed),
      gamma_(setup.config.ppo.gamma),
      base_seed_(setup.config.seed) {
  want_envs_ = setup.batch_envs;
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
        agents::MultiAgentActor::critic_width(setup.env.multi_agent_spec, config.mappo.critic_input,
                                              config.mappo.agent_id));
  } else {
    *info_.mutable_spec() = to_wire(setup.env.spec);
    shape_ = rollout_shape(setup.env.spec, num_steps);
  }
  info_.set_spec_hash(spec_hash(info_.spec()));
  info_.set_num_steps(num_steps);
  info_.set_actor_envs(dist_.actor_envs > 0
                           ? static_cast<int>(std::min<std::int64_t>(dist_.actor_envs, want_envs_))
                           : want_envs_);
  info_.set_env_threads(static_cast<int>(config.env.threads));
  info_.set_mode(dist_.mode == agents::GatherMode::kSync ? lw::MODE_SYNC : lw::MODE_ASYNC);
  info_.set_max_staleness(static_cast<int>(dist_.max_staleness));
  info_.set_heartbeat_interval_s(dist_.heartbeat_interval_s);
  info_.set_actor_timeout_s(dist_.actor_timeout_s);
  info_.set_env_remote(config.env.remote);
  info_.set_chunk_bytes(
      static_cast<int>(std::min<std::int64_t>(dist_.chunk_bytes, options_.max_message_bytes / 2)));
  info_.set_learner_name(options_.name.empty() ? "trustrl learner " TRUSTRL_VERSION " (rank " +
                                                     std::to_string(rank_) + " of " +
                                                     std::to_string(world_size_) + ")"
                                               : options_.name);
  info_.set_batch_envs(want_envs_);
}

// ---------------------------------------------------------------------------------------------
// Members

grpc::Status LearnerService::Impl::find_member_locked(const std::string& actor_id,
                                                      std::uint64_t incarnation, Member** out) {
  const auto it = members_.find(actor_id);
  if (it == members_.end() || it->second.incarnation < incarnation)
    return {grpc::StatusCode::NOT_FOUND,
            who(actor_id, incarnation) +
                " is not a member of this learner (it left, timed out, or the learner "
                "restarted); join again"};
  if (it->second.incarnation > incarnation)
    return {grpc::StatusCode::FAILED_PRECONDITION,
            who(actor_id, incarnation) + " is stale: incarnation " +
                std::to_string(it->second.incarnation) + " of this actor joined since"};
  it->second.last_seen = Clock::now();
  *out = &it->second;
  return grpc::Status::OK;
}

std::optional<grpc::Status> LearnerService::Impl::answer_seen_sequence_locked(
    const Member& m, const lw::RolloutHeader& header, const std::string& actor,
    lw::PushRolloutResponse* response) const {
  const std::int64_t sequence = header.sequence();
  if (sequence == m.last_sequence) {  // a retry of the last push: its answer again
    *response = m.last_response;
    response->set_duplicate(true);
    return grpc::Status::OK;
  }
  if (sequence < m.last_sequence) {  // not a retry (pushes go one at a time): nothing is taken
    response->set_duplicate(true);
    response->set_policy_version(version_);
    response->set_reason("not taken: sequence " + std::to_string(sequence) +
                         " is older than this membership's newest push (" +
                         std::to_string(m.last_sequence) +
                         "); only a retry of the newest is answered again");
    return grpc::Status::OK;
  }
  if (sequence - m.last_sequence > kMaxSequenceGap)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "push from " + actor + ": sequence " + std::to_string(sequence) +
                            " jumps more than " + std::to_string(kMaxSequenceGap) +
                            " past the newest push (" + std::to_string(m.last_sequence) +
                            "); sequences go 1, 2, ... per membership");
  return std::nullopt;
}

lw::HeartbeatResponse LearnerService::Impl::directive_locked(const Member& m) const {
  lw::HeartbeatResponse d;
  d.set_policy_version(version_);
  d.set_min_policy_version(dist_.mode == agents::GatherMode::kSync
                               ? version_
                               : std::max<std::int64_t>(0, version_ - dist_.max_staleness));
  d.set_rollouts_requested(m.requested);
  d.set_finished(finished_);
  return d;
}

void LearnerService::Impl::queue_all_locked(Outbox& outbox) const {
  for (const auto& [id, m] : members_)
    if (m.stream) outbox.emplace_back(m.stream, directive_locked(m));
}

void LearnerService::Impl::send(const Outbox& outbox) {
  for (const auto& [handle, directive] : outbox) {
    std::lock_guard lock(handle->mutex);
    if (handle->reactor) handle->reactor->send(directive);
  }
}

void LearnerService::Impl::close(const std::vector<std::shared_ptr<StreamHandle>>& streams,
                                 const grpc::Status& status) {
  for (const auto& handle : streams) {
    std::lock_guard lock(handle->mutex);
    if (handle->reactor) handle->reactor->finish(status);
  }
}

void LearnerService::Impl::remove_member_locked(
    const std::string& actor_id, const std::string& why, Outbox& outbox,
    std::vector<std::shared_ptr<StreamHandle>>* to_close, bool left) {
  const auto it = members_.find(actor_id);
  if (it == members_.end()) return;
  const Member& m = it->second;
  log(who(m.actor_id, m.incarnation) + " (slot " + std::to_string(m.slot) + ") is gone: " + why);
  if (left)
    cut_off_.erase(actor_id);
  else
    cut_off_.insert(actor_id);
  departed_cut_episodes_ += m.cut_episodes;
  if (to_close && m.stream) to_close->push_back(m.stream);
  slots_.erase(m.slot);
  members_.erase(it);
  plan_locked(outbox);  // its unfinished share goes to the others
  changed_.notify_all();
}

std::uint64_t LearnerService::Impl::env_seed_locked(int slot) {
  const std::int64_t generation = slot_joins_[slot]++;
  // The first actor of a run acts exactly as `trustrl train`'s actor: its envs take the seed.
  if (rank_ == 0 && slot == 0 && generation == 0 && !restarted_) return seed_;
  const std::uint64_t stream = (static_cast<std::uint64_t>(rank_) << 40) ^
                               (static_cast<std::uint64_t>(slot) << 20) ^
                               static_cast<std::uint64_t>(generation);
  return Rng::derive(base_seed_ ^ 0x5EEDAC7, stream);
}

// ---------------------------------------------------------------------------------------------
// Work

// Asks members for rollouts until what is asked (and not yet delivered, by members that are not
// late) covers the batch (sync), or so that each member has one rollout in hand while what is
// queued and in flight covers the next batch (async): actors then collect the next batch while
// the learner trains on this one, and never a batch that would only go stale.
void LearnerService::Impl::plan_locked(Outbox& outbox) {
  if (members_.empty() || finished_ || version_ < 0) return;
  if (dist_.mode == agents::GatherMode::kSync && batch_taken_) return;
  // A batch begins with the fleet at strength; once begun it goes on with whoever is left.
  const bool begun = dist_.mode == agents::GatherMode::kSync ? batch_begun_ : false;
  if (!begun && static_cast<int>(members_.size()) < options_.min_actors) return;
  std::vector<Member*> order;
  for (auto& [id, m] : members_) order.push_back(&m);
  // Idle members first, then slots in a rotating order so every actor gets its turn.
  const auto slots = static_cast<std::int64_t>(order.size());
  std::stable_sort(order.begin(), order.end(), [&](const Member* a, const Member* b) {
    const std::int64_t wa = a->requested - a->received, wb = b->requested - b->received;
    if (wa != wb) return wa < wb;
    return (a->slot - rotation_ % slots + slots * 1024) % slots <
           (b->slot - rotation_ % slots + slots * 1024) % slots;
  });
  std::set<Member*> changed;
  if (dist_.mode == agents::GatherMode::kSync) {
    std::int64_t planned = pool_envs_;
    for (const Member* m : order)
      if (!m->late) planned += std::max<std::int64_t>(0, m->assigned - m->delivered) * m->num_envs;
    std::size_t i = 0;
    std::size_t since_progress = 0;
    while (planned < want_envs_ && since_progress < order.size()) {
      Member* m = order[i % order.size()];
      ++i;
      if (m->late) {
        ++since_progress;
        continue;
      }
      since_progress = 0;
      ++m->requested;
      ++m->assigned;
      planned += m->num_envs;
      changed.insert(m);
      // The straggler clock starts when the batch begins, not when the learner began waiting.
      if (!batch_begun_) deadline_ = Clock::now() + to_duration(dist_.straggler_timeout_s);
      batch_begun_ = true;
    }
  } else {
    std::int64_t in_flight = pool_envs_;
    for (const Member* m : order)
      in_flight += std::max<std::int64_t>(0, m->requested - m->received) * m->num_envs;
    for (Member* m : order) {
      if (in_flight >= static_cast<std::int64_t>(want_envs_)) break;
      if (m->requested - m->received >= 1) continue;
      ++m->requested;
      in_flight += m->num_envs;
      changed.insert(m);
    }
  }
  for (Member* m : changed)
    if (m->stream) outbox.emplace_back(m->stream, directive_locked(*m));
}

// ---------------------------------------------------------------------------------------------
// gRPC calls

grpc::Status LearnerService::Impl::Describe(grpc::ServerContext* context,
                                            const lw::DescribeRequest*,
                                            lw::DescribeResponse* response) {
  if (grpc::Status s = check_token(*context, options_.token); !s.ok()) return s;
  *response->mutable_run() = info_;
  return grpc::Status::OK;
}

grpc::Status LearnerService::Impl::Join(grpc::ServerContext* context,
                                        const lw::JoinRequest* request,
                                        lw::JoinResponse* response) {
  if (grpc::Status s = check_token(*context, options_.token); !s.ok()) return s;
  if (request->protocol_version() != kLearnerProtocolVersion)
    return {grpc::StatusCode::FAILED_PRECONDITION, "join: this learner speaks protocol version " +
                                                       std::to_string(kLearnerProtocolVersion) +
                                                       ", the actor " +
                                                       std::to_string(request->protocol_version())};
  const std::string& id = request->actor_id();
  if (id.empty() || id.size() > 128 ||
      !std::all_of(id.begin(), id.end(), [](char c) { return c >= 0x20 && c < 0x7f; }))
    return {grpc::StatusCode::INVALID_ARGUMENT,
            "join: actor_id must be 1 to 128 printable ASCII characters"};
  if (request->incarnation() < 1 || request->incarnation() > kMaxIncarnation)
    return {grpc::StatusCode::INVALID_ARGUMENT,
            "join: incarnation " + std::to_string(request->incarnation()) + " is outside [1, " +
                std::to_string(kMaxIncarnation) +
                "] (2^62; the default, the start time in ns, stays below it until 2116)"};
  if (request->num_envs() < 1 || request->num_envs() > 65536)
    return {grpc::StatusCode::INVALID_ARGUMENT,
            "join: num_envs must be in [1, 65536], got " + std::to_string(request->num_envs())};
  if (request->spec_hash() != info_.spec_hash()) {
    std::string difference;
    if (request->has_spec()) difference = spec_difference(info_.spec(), request->spec());
    return {grpc::StatusCode::FAILED_PRECONDITION,
            "join: " + who(id, request->incarnation()) + " runs an env with spec hash " +
                hash_text(request->spec_hash()) + ", this learner trains on " + info_.spec().id() +
                " (" + hash_text(info_.spec_hash()) + ")" +
                (difference.empty() ? "" : ": " + difference)};
  }
  Outbox outbox;
  std::vector<std::shared_ptr<StreamHandle>> to_close;
  {
    std::lock_guard lock(mutex_);
    if (finished_) {
      cut_off_.erase(id);  // it has the news now
      changed_.notify_all();
      return {grpc::StatusCode::OUT_OF_RANGE, "join: the run is over"};
    }
    // Stale only against a member still here: a newer incarnation that left or went silent no
    // longer holds the id, so one bad join cannot lock an actor out for the learner's lifetime.
    const auto current = members_.find(id);
    if (current != members_.end() && current->second.incarnation > request->incarnation())
      return {grpc::StatusCode::FAILED_PRECONDITION,
              "join: " + who(id, request->incarnation()) + " is stale: incarnation " +
                  std::to_string(current->second.incarnation) +
                  " of this actor is a member (it joined since)"};
    if (members_.count(id))
      remove_member_locked(
          id, "it joined again (incarnation " + std::to_string(request->incarnation()) + ")",
          outbox, &to_close, /*left=*/true);
    if (static_cast<int>(members_.size()) >= options_.max_actors)
      return {grpc::StatusCode::RESOURCE_EXHAUSTED,
              "join: this learner already has its maximum of " +
                  std::to_string(options_.max_actors) +
                  " actors; stop one or raise the limit (--max-actors)"};
    const std::string host = peer_host(context->peer());
    const auto from_host = std::count_if(members_.begin(), members_.end(),
                                         [&](const auto& m) { return m.second.host == host; });
    if (from_host >= options_.max_actors_per_peer)
      return {grpc::StatusCode::RESOURCE_EXHAUSTED,
              "join: this learner already has its maximum of " +
                  std::to_string(options_.max_actors_per_peer) + " actors from " + host +
                  "; stop one or raise the limit (--max-actors-per-peer)"};
    cut_off_.erase(id);
    int slot = 0;
    if (const auto last = last_slot_.find(id);
        last != last_slot_.end() && !slots_.count(last->second))
      slot = last->second;
    else
      while (slots_.count(slot)) ++slot;
    slots_.insert(slot);
    last_slot_[id] = slot;
    Member& m = members_[id];
    m.actor_id = id;
    m.host = host;
    m.incarnation = request->incarnation();
    m.slot = slot;
    m.num_envs = request->num_envs();
    m.last_seen = Clock::now();
    *response->mutable_run() = info_;
    response->set_slot(slot);
    response->set_env_seed(env_seed_locked(slot));
    response->set_policy_version(version_);
    log(who(id, m.incarnation) + " joined from " + context->peer() + ": slot " +
        std::to_string(slot) + ", " + std::to_string(m.num_envs) + " env copies");
    plan_locked(outbox);
    changed_.notify_all();
  }
  close(to_close, {grpc::StatusCode::FAILED_PRECONDITION, "this actor joined again"});
  send(outbox);
  return grpc::Status::OK;
}

grpc::ServerBidiReactor<lw::HeartbeatRequest, lw::HeartbeatResponse>*
LearnerService::Impl::Heartbeat(grpc::CallbackServerContext* context) {
  return new HeartbeatReactor(*this, context, options_.token);
}

grpc::Status LearnerService::Impl::on_heartbeat(const lw::HeartbeatRequest& request,
                                                const std::shared_ptr<StreamHandle>& handle,
                                                lw::HeartbeatResponse* directive) {
  std::vector<std::shared_ptr<StreamHandle>> to_close;
  {
    std::lock_guard lock(mutex_);
    Member* m = nullptr;
    if (grpc::Status s = find_member_locked(request.actor_id(), request.incarnation(), &m); !s.ok())
      return s;
    if (m->stream != handle) {
      if (m->stream) to_close.push_back(m->stream);  // the actor opened a new stream
      m->stream = handle;
    }
    m->waiting_seconds = std::max(m->waiting_seconds, request.waiting_seconds());
    m->cut_episodes = std::max(m->cut_episodes, request.cut_episodes());
    *directive = directive_locked(*m);
  }
  close(to_close, {grpc::StatusCode::CANCELLED, "replaced by a newer heartbeat stream"});
  return grpc::Status::OK;
}

void LearnerService::Impl::stream_done(const std::shared_ptr<StreamHandle>& handle) {
  Outbox outbox;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, m] : members_)
      if (m.stream == handle) {
        const std::string actor = id;
        remove_member_locked(actor, "its heartbeat stream closed", outbox, nullptr);
        break;
      }
  }
  send(outbox);
}

grpc::Status LearnerService::Impl::GetParameters(grpc::ServerContext* context,
                                                 const lw::GetParametersRequest* request,
                                                 grpc::ServerWriter<lw::ParametersChunk>* writer) {
  if (grpc::Status s = check_token(*context, options_.token); !s.ok()) return s;
  std::shared_ptr<const std::vector<std::uint8_t>> bytes;
  std::int64_t version = 0;
  {
    std::lock_guard lock(mutex_);
    Member* m = nullptr;
    if (grpc::Status s = find_member_locked(request->actor_id(), request->incarnation(), &m);
        !s.ok())
      return s;
    bytes = parameters_;
    version = version_;
  }
  if (!bytes) return {grpc::StatusCode::UNAVAILABLE, "the learner has published no policy yet"};
  lw::ParametersChunk chunk;
  chunk.set_policy_version(version);
  if (request->have_version() == version) {
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
}

grpc::Status LearnerService::Impl::PushRollout(grpc::ServerContext* context,
                                               grpc::ServerReader<lw::RolloutChunk>* reader,
                                               lw::PushRolloutResponse* response) {
  if (grpc::Status s = check_token(*context, options_.token); !s.ok()) return s;
  lw::RolloutChunk chunk;
  if (!reader->Read(&chunk)) return {grpc::StatusCode::INVALID_ARGUMENT, "push: no chunk arrived"};
  if (!chunk.has_header())
    return {grpc::StatusCode::INVALID_ARGUMENT, "push: the first chunk carries no header"};
  const lw::RolloutHeader header = chunk.header();
  const std::string actor = who(header.actor_id(), header.incarnation());
  if (header.sequence() < 1)
    return {grpc::StatusCode::INVALID_ARGUMENT, "push from " + actor + ": sequence must be >= 1"};
  int num_envs = 0;
  {
    std::lock_guard lock(mutex_);
    Member* m = nullptr;
    if (grpc::Status s = find_member_locked(header.actor_id(), header.incarnation(), &m); !s.ok())
      return s;
    if (std::optional<grpc::Status> s = answer_seen_sequence_locked(*m, header, actor, response))
      return *s;
    num_envs = m->num_envs;
    if (header.policy_version() > version_)
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "push from " + actor + ": policy version " + std::to_string(header.policy_version()) +
                  " is from the future (the learner is at " + std::to_string(version_) + ")"};
  }
  const std::int64_t limit = max_rollout_bytes(shape_, num_envs);
  if (header.total_bytes() < 0 || header.total_bytes() > limit)
    return {grpc::StatusCode::RESOURCE_EXHAUSTED,
            "push from " + actor + ": a rollout of " + std::to_string(header.total_bytes()) +
                " bytes exceeds the " + std::to_string(limit) + " a rollout of this run can take"};
  std::string bytes;
  bytes.reserve(static_cast<std::size_t>(header.total_bytes()));
  do {
    if (static_cast<std::int64_t>(bytes.size() + chunk.data().size()) > header.total_bytes())
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "push from " + actor + ": the chunks hold more than the header's total_bytes"};
    bytes += chunk.data();
  } while (static_cast<std::int64_t>(bytes.size()) < header.total_bytes() && reader->Read(&chunk));
  if (static_cast<std::int64_t>(bytes.size()) != header.total_bytes())
    return {grpc::StatusCode::CANCELLED, "push from " + actor + ": the stream ended after " +
                                             std::to_string(bytes.size()) + " of " +
                                             std::to_string(header.total_bytes()) +
                                             " bytes; the partial rollout is dropped"};
  lw::Rollout message;
  if (!message.ParseFromString(bytes))
    return {grpc::StatusCode::INVALID_ARGUMENT, "push from " + actor +
                                                    ": the chunks are not a valid "
                                                    "trustrl.learner.v1.Rollout message"};
  agents::Rollout rollout;
  try {
    rollout = from_wire(message, shape_, num_envs);
  } catch (const std::exception& e) {
    log("refused a rollout from " + actor + ": " + e.what());
    return {grpc::StatusCode::INVALID_ARGUMENT, "push from " + actor + ": " + e.what()};
  }
  if (rollout.policy_version != header.policy_version())
    return {grpc::StatusCode::INVALID_ARGUMENT, "push from " + actor + ": header.policy_version " +
                                                    std::to_string(header.policy_version()) +
                                                    " differs from rollout.policy_version " +
                                                    std::to_string(rollout.policy_version)};
  std::optional<agents::RolloutLimits> limits;
  {
    std::lock_guard lock(mutex_);
    if (const auto it = limits_.find(rollout.policy_version); it != limits_.end())
      limits = it->second;  // none: too old to be taken, refused as stale below
  }
  if (limits) {
    try {
      agents::check_rollout_limits(rollout, *limits);
    } catch (const std::exception& e) {
      log("refused a rollout from " + actor + ": " + e.what());
      return {grpc::StatusCode::INVALID_ARGUMENT, "push from " + actor + ": " + e.what()};
    }
  }

  Outbox outbox;
  {
    std::lock_guard lock(mutex_);
    Member* m = nullptr;
    if (grpc::Status s = find_member_locked(header.actor_id(), header.incarnation(), &m); !s.ok())
      return s;
    if (std::optional<grpc::Status> s = answer_seen_sequence_locked(*m, header, actor, response))
      return *s;  // a retry raced with the first push
    ++m->received;
    m->last_sequence = header.sequence();
    const std::int64_t steps = rollout.env_steps();
    const bool sync = dist_.mode == agents::GatherMode::kSync;
    const std::int64_t oldest = sync ? version_ : version_ - dist_.max_staleness;
    response->set_policy_version(version_);
    if (finished_) {
      response->set_reason("not needed: the run is over");
    } else if (rollout.policy_version < oldest) {
      response->set_reason("stale: acted with policy version " +
                           std::to_string(rollout.policy_version) + ", the learner is at " +
                           std::to_string(version_) +
                           (sync ? " (synchronous mode takes only the current version)"
                                 : " and takes versions >= " + std::to_string(oldest)));
    } else if (sync && (batch_taken_ || pool_envs_ >= want_envs_)) {
      response->set_reason("not needed: the batch for version " + std::to_string(version_) +
                           " is already complete");
    } else {
      response->set_accepted(true);
    }
    if (sync) {
      // A member still owes at most what it was asked for and has not sent: a rollout of an older
      // version that it was finishing used up a request counted for this version.
      const std::int64_t owed = std::max<std::int64_t>(0, m->requested - m->received);
      m->assigned = std::min(m->assigned, m->delivered + (response->accepted() ? 1 : 0) + owed);
    }
    if (response->accepted()) {
      if (accepted_ == 0)
        log("rollouts of " + std::to_string(rollout.num_envs) + " copies x " +
            std::to_string(rollout.num_steps) + " steps: " + std::to_string(bytes.size()) +
            " bytes each");
      ++m->delivered;
      ++accepted_;
      pool_envs_ += rollout.num_envs;
      pool_.push_back({m->slot, m->actor_id, header.sequence(), std::move(rollout)});
      changed_.notify_all();
    } else {
      discarded_steps_ += steps;
    }
    m->last_response = *response;
    plan_locked(outbox);
  }
  send(outbox);
  return grpc::Status::OK;
}

grpc::Status LearnerService::Impl::Leave(grpc::ServerContext* context,
                                         const lw::LeaveRequest* request, lw::LeaveResponse*) {
  if (grpc::Status s = check_token(*context, options_.token); !s.ok()) return s;
  Outbox outbox;
  std::vector<std::shared_ptr<StreamHandle>> to_close;
  {
    std::lock_guard lock(mutex_);
    Member* m = nullptr;
    if (grpc::Status s = find_member_locked(request->actor_id(), request->incarnation(), &m);
        !s.ok())
      return s;
    remove_member_locked(request->actor_id(), "it left", outbox, &to_close, /*left=*/true);
  }
  close(to_close, grpc::Status::OK);
  send(outbox);
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------------------------------
// The channel

void LearnerService::Impl::publish(const agents::PolicySnapshot& snapshot) {
  ByteWriter w;
  snapshot.save(w);
  auto bytes = std::make_shared<const std::vector<std::uint8_t>>(w.take());
  Outbox outbox;
  {
    std::lock_guard lock(mutex_);
    if (!parameters_)
      log("publishing the policy: " + std::to_string(bytes->size()) +
          " bytes per version, in chunks of at most " + std::to_string(info_.chunk_bytes()));
    version_ = snapshot.version;
    parameters_ = std::move(bytes);
    limits_[version_] =
        agents::rollout_limits(snapshot, shape_.num_agents, dist_.reward_bound, gamma_);
    const std::int64_t oldest =
        dist_.mode == agents::GatherMode::kSync ? version_ : version_ - dist_.max_staleness;
    limits_.erase(limits_.begin(), limits_.lower_bound(oldest));
    ++rotation_;
    batch_taken_ = false;
    batch_begun_ = false;
    if (dist_.mode == agents::GatherMode::kSync) {
      // Nothing of an older version is of use now; what members still owe counts for this one.
      for (const auto& p : pool_) discarded_steps_ += p.rollout.env_steps();
      pool_.clear();
      pool_envs_ = 0;
      for (auto& [id, m] : members_) {
        m.assigned = std::max<std::int64_t>(0, m.requested - m.received);
        m.delivered = 0;
        m.late = false;
      }
    } else {
      std::vector<Part> kept;
      for (auto& p : pool_) {
        if (p.rollout.policy_version >= version_ - dist_.max_staleness)
          kept.push_back(std::move(p));
        else
          discarded_steps_ += p.rollout.env_steps();
      }
      pool_ = std::move(kept);
      pool_envs_ = 0;
      for (const auto& p : pool_) pool_envs_ += p.rollout.num_envs;
    }
    queue_all_locked(outbox);
  }
  send(outbox);
}

bool LearnerService::Impl::next_batch(int num_envs, int num_steps, agents::Batch& out) {
  if (num_envs != want_envs_ || num_steps != shape_.num_steps)
    throw Error("the learner service gathers batches of " + std::to_string(want_envs_) +
                " copies x " + std::to_string(shape_.num_steps) + " steps, not " +
                std::to_string(num_envs) + " x " + std::to_string(num_steps));
  const bool sync = dist_.mode == agents::GatherMode::kSync;
  std::unique_lock lock(mutex_);
  {
    Outbox outbox;
    plan_locked(outbox);
    deadline_ = Clock::now() + to_duration(dist_.straggler_timeout_s);
    lock.unlock();
    send(outbox);
    lock.lock();
  }
  bool waiting_logged = false;
  while (!stopping_ && pool_envs_ < want_envs_) {
    const auto now = Clock::now();
    Outbox outbox;
    std::vector<std::shared_ptr<StreamHandle>> to_close;
    // Members silent for too long are gone.
    std::vector<std::string> silent;
    for (const auto& [id, m] : members_)
      if (seconds_between(m.last_seen, now) > dist_.actor_timeout_s) silent.push_back(id);
    for (const auto& id : silent)
      remove_member_locked(id, "no heartbeat for " + std::to_string(dist_.actor_timeout_s) + " s",
                           outbox, &to_close);
    // Late members' shares go to the others.
    if (sync && now >= deadline_) {
      bool any_late = false;
      for (auto& [id, m] : members_)
        if (m.assigned > m.delivered && !m.late) {
          m.late = true;
          any_late = true;
          log(who(m.actor_id, m.incarnation) + " (slot " + std::to_string(m.slot) +
              ") did not deliver within " + std::to_string(dist_.straggler_timeout_s) +
              " s; its share of version " + std::to_string(version_) + " goes to the others");
        }
      if (any_late) plan_locked(outbox);
      deadline_ = now + to_duration(dist_.straggler_timeout_s);
    }
    if ((members_.empty() ||
         (static_cast<int>(members_.size()) < options_.min_actors && !batch_begun_)) &&
        !waiting_logged) {
      log("waiting for actors to join (" + std::to_string(members_.size()) + " of " +
          std::to_string(options_.min_actors) + " are members; " +
          std::to_string(want_envs_ - pool_envs_) + " env copies of version " +
          std::to_string(version_) + " to go)");
      waiting_logged = true;
    }
    if (!outbox.empty() || !to_close.empty()) {
      lock.unlock();
      close(to_close, {grpc::StatusCode::DEADLINE_EXCEEDED, "no heartbeat within actor_timeout_s"});
      send(outbox);
      lock.lock();
      continue;
    }
    // Wake at the next deadline or heartbeat expiry, or when a rollout or member arrives.
    auto wake = now + to_duration(std::min(dist_.actor_timeout_s, 1.0));
    if (sync) wake = std::min(wake, deadline_);
    changed_.wait_until(lock, wake);
  }
  if (stopping_) return false;

  // Take exactly the copies the batch needs.
  if (sync)
    std::sort(pool_.begin(), pool_.end(), [](const Part& a, const Part& b) {
      return a.slot != b.slot ? a.slot < b.slot : a.sequence < b.sequence;
    });
  std::vector<agents::Rollout> taken;
  std::vector<Part> rest;
  std::set<int> slots;
  int have = 0;
  double lag_sum = 0;
  std::int64_t max_lag = 0;
  std::string took;
  for (auto& p : pool_) {
    const int need = want_envs_ - have;
    if (need <= 0) {
      rest.push_back(std::move(p));
      continue;
    }
    const int use = std::min(need, p.rollout.num_envs);
    const std::int64_t lag = version_ - p.rollout.policy_version;
    lag_sum += static_cast<double>(lag) * use;
    max_lag = std::max(max_lag, lag);
    slots.insert(p.slot);
    if (use == p.rollout.num_envs) {
      taken.push_back(std::move(p.rollout));
    } else {
      taken.push_back(agents::slice_columns(p.rollout, 0, use));
      const int left = p.rollout.num_envs - use;
      if (sync)
        discarded_steps_ += static_cast<std::int64_t>(left) * p.rollout.num_steps;
      else
        rest.push_back(
            {p.slot, p.actor_id, p.sequence, agents::slice_columns(p.rollout, use, left)});
    }
    if (options_.log_batches)
      took += (took.empty() ? "'" : ", '") + p.actor_id + "' #" + std::to_string(p.sequence) +
              " (" + std::to_string(use) + " copies)";
    have += use;
  }
  pool_ = std::move(rest);
  pool_envs_ = 0;
  for (const auto& p : pool_) pool_envs_ += p.rollout.num_envs;
  // Tests read these lines to prove that no rollout is taken twice or lost: keep their wording.
  if (options_.log_batches) log("batch for version " + std::to_string(version_) + ": " + took);
  std::vector<const agents::Rollout*> parts;
  for (const auto& r : taken) parts.push_back(&r);
  out.rollout = agents::merge_columns(parts);
  out.mean_version_lag = lag_sum / want_envs_;
  out.max_version_lag = max_lag;
  out.actors = static_cast<int>(slots.size());
  out.discarded_steps = discarded_steps_;
  discarded_steps_ = 0;
  out.actor_wait_seconds = 0;
  for (auto& [id, m] : members_) {
    out.actor_wait_seconds += m.waiting_seconds - m.waiting_counted;
    m.waiting_counted = m.waiting_seconds;
  }
  if (sync) {
    batch_taken_ = true;
    return true;
  }
  // Async: the next batch is collected while this one trains.
  Outbox outbox;
  plan_locked(outbox);
  lock.unlock();
  send(outbox);
  return true;
}

void LearnerService::Impl::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  changed_.notify_all();
}

void LearnerService::Impl::finish() {
  Outbox outbox;
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
    queue_all_locked(outbox);
  }
  send(outbox);
  // An actor cut off just before the end (a reset connection) comes back within its backoff:
  // serve it the news, or it would retry until its --learner-timeout and fail.
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, to_duration(options_.finish_grace_s),
                    [&] { return members_.empty() && cut_off_.empty(); });
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
  if (const std::string warning = plaintext_token_warning(
          impl_->options_.listen, impl_->options_.token, impl_->options_.tls_cert_file);
      !warning.empty())
    impl_->log(warning);
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

int LearnerService::members() const {
  std::lock_guard lock(impl_->mutex_);
  return static_cast<int>(impl_->members_.size());
}

std::int64_t LearnerService::accepted_rollouts() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->accepted_;
}

void LearnerService::publish(const agents::PolicySnapshot& snapshot) { impl_->publish(snapshot); }
bool LearnerService::next_batch(int num_envs, int num_steps, agents::Batch& out) {
  return impl_->next_batch(num_envs, num_steps, out);
}
void LearnerService::stop() { impl_->stop(); }
void LearnerService::finish() { impl_->finish(); }

std::int64_t LearnerService::cut_episodes() const {
  std::lock_guard lock(impl_->mutex_);
  std::int64_t total = impl_->departed_cut_episodes_;
  for (const auto& [id, m] : impl_->members_) total += m.cut_episodes;
  return total;
}

void LearnerService::restart(std::uint64_t seed, std::int64_t) {
  std::lock_guard lock(impl_->mutex_);
  impl_->base_seed_ = seed;
  impl_->restarted_ = true;
}

}  // namespace trustrl::server
