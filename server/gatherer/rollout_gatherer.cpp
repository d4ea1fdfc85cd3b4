#include "server/gatherer/rollout_gatherer.h"

#include <algorithm>
#include <set>

#include "agents/rollout_columns.h"
#include "core/bytes.h"
#include "core/error.h"

namespace trustrl::server {

namespace {

using Clock = std::chrono::steady_clock;
// An actor's sequence numbers go 1, 2, ...; one skips only after a push it gave up on or that was
// refused, so a jump further than this is no honest actor's.
constexpr std::int64_t kMaxSequenceGap = 1 << 16;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

Clock::duration to_duration(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

}  // namespace

RolloutGatherer::RolloutGatherer(GathererSettings settings)
    : settings_(std::move(settings)),
      dist_(settings_.distributed),
      sync_(settings_.distributed.mode == agents::GatherMode::kSync),
      membership_(settings_.max_actors, settings_.max_actors_per_peer, settings_.rank,
                  settings_.seed) {
  if (settings_.batch_envs < 1 || settings_.num_steps < 1 || settings_.num_agents < 1)
    throw Error(
        "a rollout gatherer needs a batch of >= 1 copies x >= 1 steps of >= 1 agents, got " +
        std::to_string(settings_.batch_envs) + " x " + std::to_string(settings_.num_steps) +
        " of " + std::to_string(settings_.num_agents));
  if (settings_.min_actors < 1 || settings_.min_actors > settings_.max_actors)
    throw Error("min_actors must be in [1, max_actors = " + std::to_string(settings_.max_actors) +
                "], got " + std::to_string(settings_.min_actors));
}

// ---------------------------------------------------------------------------------------------
// Members

std::optional<PushAnswer> RolloutGatherer::answer_seen_sequence_locked(
    const Member& m, const PushHeader& header) const {
  const std::int64_t sequence = header.sequence;
  if (sequence == m.last_sequence) {  // a retry of the last push: its answer again
    PushAnswer answer = m.last_answer;
    answer.duplicate = true;
    return answer;
  }
  if (sequence < m.last_sequence) {  // not a retry (pushes go one at a time): nothing is taken
    PushAnswer answer;
    answer.duplicate = true;
    answer.policy_version = version_;
    answer.reason = "not taken: sequence " + std::to_string(sequence) +
                    " is older than this membership's newest push (" +
                    std::to_string(m.last_sequence) +
                    "); only a retry of the newest is answered again";
    return answer;
  }
  if (sequence - m.last_sequence > kMaxSequenceGap)
    throw Refusal(RefusalCode::kInvalidArgument,
                  "push from " + member_name(header.actor_id, header.incarnation) + ": sequence " +
                      std::to_string(sequence) + " jumps more than " +
                      std::to_string(kMaxSequenceGap) + " past the newest push (" +
                      std::to_string(m.last_sequence) + "); sequences go 1, 2, ... per membership");
  return std::nullopt;
}

Directive RolloutGatherer::directive_locked(const Member& m) const {
  Directive d;
  d.policy_version = version_;
  d.min_policy_version =
      sync_ ? version_ : std::max<std::int64_t>(0, version_ - dist_.max_staleness);
  d.rollouts_requested = m.requested;
  d.finished = finished_;
  return d;
}

void RolloutGatherer::queue_all_locked(Outbox& outbox) const {
  for (const auto& [id, m] : membership_.members())
    if (m.sink) outbox.emplace_back(m.sink, directive_locked(m));
}

void RolloutGatherer::send(const Outbox& outbox) {
  for (const auto& [sink, directive] : outbox) sink->send(directive);
}

void RolloutGatherer::close(const Closing& sinks, const std::optional<Refusal>& why) {
  for (const auto& sink : sinks) sink->close(why);
}

void RolloutGatherer::remove_member_locked(const std::string& actor_id, const std::string& why,
                                           Outbox& outbox, Closing* to_close, bool left) {
  const std::optional<Member> m = membership_.remove(actor_id, left);
  if (!m) return;
  log(member_name(m->actor_id, m->incarnation) + " (slot " + std::to_string(m->slot) +
      ") is gone: " + why);
  if (to_close && m->sink) to_close->push_back(m->sink);
  plan_locked(outbox);  // its unfinished share goes to the others
  changed_.notify_all();
}

// ---------------------------------------------------------------------------------------------
// Work

// Asks members for rollouts until what is asked (and not yet delivered, by members that are not
// late) covers the batch (sync), or so that each member has one rollout in hand while what is
// queued and in flight covers the next batch (async): actors then collect the next batch while
// the learner trains on this one, and never a batch that would only go stale.
void RolloutGatherer::plan_locked(Outbox& outbox) {
  auto& members = membership_.members();
  if (members.empty() || finished_ || version_ < 0) return;
  if (sync_ && batch_taken_) return;
  // A batch begins with the fleet at strength; once begun it goes on with whoever is left.
  const bool begun = sync_ ? batch_begun_ : false;
  if (!begun && membership_.size() < settings_.min_actors) return;
  std::vector<Member*> order;
  for (auto& [id, m] : members) order.push_back(&m);
  // Idle members first, then slots in a rotating order so every actor gets its turn.
  const auto slots = static_cast<std::int64_t>(order.size());
  std::stable_sort(order.begin(), order.end(), [&](const Member* a, const Member* b) {
    const std::int64_t wa = a->requested - a->received, wb = b->requested - b->received;
    if (wa != wb) return wa < wb;
    return (a->slot - rotation_ % slots + slots * 1024) % slots <
           (b->slot - rotation_ % slots + slots * 1024) % slots;
  });
  std::set<Member*> changed;
  const std::int64_t want_envs = settings_.batch_envs;
  if (sync_) {
    std::int64_t planned = pool_envs_;
    for (const Member* m : order)
      if (!m->late) planned += std::max<std::int64_t>(0, m->assigned - m->delivered) * m->num_envs;
    std::size_t i = 0;
    std::size_t since_progress = 0;
    while (planned < want_envs && since_progress < order.size()) {
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
      if (in_flight >= want_envs) break;
      if (m->requested - m->received >= 1) continue;
      ++m->requested;
      in_flight += m->num_envs;
      changed.insert(m);
    }
  }
  for (Member* m : changed)
    if (m->sink) outbox.emplace_back(m->sink, directive_locked(*m));
}

// ---------------------------------------------------------------------------------------------
// Actors' calls

JoinAnswer RolloutGatherer::join(const JoinRequest& request) {
  ActorMembership::check_request(request);
  const std::string& id = request.actor_id;
  Outbox outbox;
  Closing to_close;
  JoinAnswer answer;
  {
    std::lock_guard lock(mutex_);
    if (finished_) {
      membership_.told_run_is_over(id);  // it has the news now
      changed_.notify_all();
      throw Refusal(RefusalCode::kOutOfRange, "join: the run is over");
    }
    membership_.check_not_stale(request);
    if (membership_.members().count(id))
      remove_member_locked(
          id, "it joined again (incarnation " + std::to_string(request.incarnation) + ")", outbox,
          &to_close, /*left=*/true);
    const Member& m = membership_.admit(request, Clock::now());
    answer.slot = m.slot;
    answer.env_seed = membership_.env_seed(m.slot);
    answer.policy_version = version_;
    log(member_name(id, m.incarnation) + " joined from " + request.peer + ": slot " +
        std::to_string(m.slot) + ", " + std::to_string(m.num_envs) + " env copies");
    plan_locked(outbox);
    changed_.notify_all();
  }
  close(to_close, Refusal(RefusalCode::kFailedPrecondition, "this actor joined again"));
  send(outbox);
  return answer;
}

Directive RolloutGatherer::heartbeat(const HeartbeatReport& report,
                                     const std::shared_ptr<DirectiveSink>& sink) {
  Closing to_close;
  Directive directive;
  {
    std::lock_guard lock(mutex_);
    Member& m = membership_.find(report.actor_id, report.incarnation, Clock::now());
    if (m.sink != sink) {
      if (m.sink) to_close.push_back(m.sink);  // the actor opened a new stream
      m.sink = sink;
    }
    m.waiting_seconds = std::max(m.waiting_seconds, report.waiting_seconds);
    m.cut_episodes = std::max(m.cut_episodes, report.cut_episodes);
    m.unstable_steps = std::max(m.unstable_steps, report.unstable_steps);
    directive = directive_locked(m);
  }
  close(to_close, Refusal(RefusalCode::kCancelled, "replaced by a newer heartbeat stream"));
  return directive;
}

void RolloutGatherer::sink_closed(const DirectiveSink* sink) {
  Outbox outbox;
  {
    std::lock_guard lock(mutex_);
    if (const Member* m = membership_.with_sink(sink)) {
      const std::string actor = m->actor_id;
      remove_member_locked(actor, "its heartbeat stream closed", outbox, nullptr);
    }
  }
  send(outbox);
}

Parameters RolloutGatherer::parameters(const std::string& actor_id, std::uint64_t incarnation) {
  std::lock_guard lock(mutex_);
  membership_.find(actor_id, incarnation, Clock::now());
  return {parameters_, version_};
}

PushAdmission RolloutGatherer::admit_push(const PushHeader& header) {
  const std::string actor = member_name(header.actor_id, header.incarnation);
  if (header.sequence < 1)
    throw Refusal(RefusalCode::kInvalidArgument, "push from " + actor + ": sequence must be >= 1");
  std::lock_guard lock(mutex_);
  const Member& m = membership_.find(header.actor_id, header.incarnation, Clock::now());
  PushAdmission admission;
  admission.answer = answer_seen_sequence_locked(m, header);
  if (admission.answer) return admission;
  admission.num_envs = m.num_envs;
  if (header.policy_version > version_)
    throw Refusal(RefusalCode::kInvalidArgument, "push from " + actor + ": policy version " +
                                                     std::to_string(header.policy_version) +
                                                     " is from the future (the learner is at " +
                                                     std::to_string(version_) + ")");
  return admission;
}

PushAnswer RolloutGatherer::take_push(const PushHeader& header, agents::Rollout rollout,
                                      std::int64_t wire_bytes) {
  const std::string actor = member_name(header.actor_id, header.incarnation);
  if (rollout.policy_version != header.policy_version)
    throw Refusal(RefusalCode::kInvalidArgument, "push from " + actor + ": header.policy_version " +
                                                     std::to_string(header.policy_version) +
                                                     " differs from rollout.policy_version " +
                                                     std::to_string(rollout.policy_version));
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
      throw Refusal(RefusalCode::kInvalidArgument, "push from " + actor + ": " + e.what());
    }
  }

  Outbox outbox;
  PushAnswer answer;
  {
    std::lock_guard lock(mutex_);
    Member& m = membership_.find(header.actor_id, header.incarnation, Clock::now());
    if (std::optional<PushAnswer> seen = answer_seen_sequence_locked(m, header))
      return *seen;  // a retry raced with the first push
    ++m.received;
    m.last_sequence = header.sequence;
    const std::int64_t steps = rollout.env_steps();
    const std::int64_t oldest = sync_ ? version_ : version_ - dist_.max_staleness;
    answer.policy_version = version_;
    if (finished_) {
      answer.reason = "not needed: the run is over";
    } else if (rollout.policy_version < oldest) {
      answer.reason = "stale: acted with policy version " + std::to_string(rollout.policy_version) +
                      ", the learner is at " + std::to_string(version_) +
                      (sync_ ? " (synchronous mode takes only the current version)"
                             : " and takes versions >= " + std::to_string(oldest));
    } else if (sync_ && (batch_taken_ || pool_envs_ >= settings_.batch_envs)) {
      answer.reason =
          "not needed: the batch for version " + std::to_string(version_) + " is already complete";
    } else {
      answer.accepted = true;
    }
    if (sync_) {
      // A member still owes at most what it was asked for and has not sent: a rollout of an older
      // version that it was finishing used up a request counted for this version.
      const std::int64_t owed = std::max<std::int64_t>(0, m.requested - m.received);
      m.assigned = std::min(m.assigned, m.delivered + (answer.accepted ? 1 : 0) + owed);
    }
    if (answer.accepted) {
      if (accepted_ == 0)
        log("rollouts of " + std::to_string(rollout.num_envs) + " copies x " +
            std::to_string(rollout.num_steps) + " steps: " + std::to_string(wire_bytes) +
            " bytes each");
      ++m.delivered;
      ++accepted_;
      pool_envs_ += rollout.num_envs;
      pool_.push_back({m.slot, m.actor_id, header.sequence, std::move(rollout)});
      changed_.notify_all();
    } else {
      discarded_steps_ += steps;
    }
    m.last_answer = answer;
    plan_locked(outbox);
  }
  send(outbox);
  return answer;
}

void RolloutGatherer::leave(const std::string& actor_id, std::uint64_t incarnation) {
  Outbox outbox;
  Closing to_close;
  {
    std::lock_guard lock(mutex_);
    membership_.find(actor_id, incarnation, Clock::now());
    remove_member_locked(actor_id, "it left", outbox, &to_close, /*left=*/true);
  }
  close(to_close, std::nullopt);
  send(outbox);
}

// ---------------------------------------------------------------------------------------------
// The training loop

void RolloutGatherer::publish(const agents::PolicySnapshot& snapshot) {
  ByteWriter w;
  snapshot.save(w);
  auto bytes = std::make_shared<const std::vector<std::uint8_t>>(w.take());
  Outbox outbox;
  {
    std::lock_guard lock(mutex_);
    if (!parameters_)
      log("publishing the policy: " + std::to_string(bytes->size()) +
          " bytes per version, in chunks of at most " + std::to_string(settings_.chunk_bytes));
    version_ = snapshot.version;
    parameters_ = std::move(bytes);
    limits_[version_] =
        agents::rollout_limits(snapshot, settings_.num_agents, dist_.reward_bound, settings_.gamma);
    const std::int64_t oldest = sync_ ? version_ : version_ - dist_.max_staleness;
    limits_.erase(limits_.begin(), limits_.lower_bound(oldest));
    ++rotation_;
    batch_taken_ = false;
    batch_begun_ = false;
    if (sync_) {
      // Nothing of an older version is of use now; what members still owe counts for this one.
      for (const auto& p : pool_) discarded_steps_ += p.rollout.env_steps();
      pool_.clear();
      pool_envs_ = 0;
      for (auto& [id, m] : membership_.members()) {
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

bool RolloutGatherer::next_batch(int num_envs, int num_steps, agents::Batch& out) {
  const int want_envs = settings_.batch_envs;
  if (num_envs != want_envs || num_steps != settings_.num_steps)
    throw Error("the learner service gathers batches of " + std::to_string(want_envs) +
                " copies x " + std::to_string(settings_.num_steps) + " steps, not " +
                std::to_string(num_envs) + " x " + std::to_string(num_steps));
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
  while (!stopping_ && pool_envs_ < want_envs) {
    const auto now = Clock::now();
    Outbox outbox;
    Closing to_close;
    // Members silent for too long are gone.
    std::vector<std::string> silent;
    for (const auto& [id, m] : membership_.members())
      if (seconds_between(m.last_seen, now) > dist_.actor_timeout_s) silent.push_back(id);
    for (const auto& id : silent)
      remove_member_locked(id, "no heartbeat for " + std::to_string(dist_.actor_timeout_s) + " s",
                           outbox, &to_close);
    // Late members' shares go to the others.
    if (sync_ && now >= deadline_) {
      bool any_late = false;
      for (auto& [id, m] : membership_.members())
        if (m.assigned > m.delivered && !m.late) {
          m.late = true;
          any_late = true;
          log(member_name(m.actor_id, m.incarnation) + " (slot " + std::to_string(m.slot) +
              ") did not deliver within " + std::to_string(dist_.straggler_timeout_s) +
              " s; its share of version " + std::to_string(version_) + " goes to the others");
        }
      if (any_late) plan_locked(outbox);
      deadline_ = now + to_duration(dist_.straggler_timeout_s);
    }
    const int members = membership_.size();
    if ((members == 0 || (members < settings_.min_actors && !batch_begun_)) && !waiting_logged) {
      log("waiting for actors to join (" + std::to_string(members) + " of " +
          std::to_string(settings_.min_actors) + " are members; " +
          std::to_string(want_envs - pool_envs_) + " env copies of version " +
          std::to_string(version_) + " to go)");
      waiting_logged = true;
    }
    if (!outbox.empty() || !to_close.empty()) {
      lock.unlock();
      close(to_close,
            Refusal(RefusalCode::kDeadlineExceeded, "no heartbeat within actor_timeout_s"));
      send(outbox);
      lock.lock();
      continue;
    }
    // Wake at the next deadline or heartbeat expiry, or when a rollout or member arrives.
    auto wake = now + to_duration(std::min(dist_.actor_timeout_s, 1.0));
    if (sync_) wake = std::min(wake, deadline_);
    changed_.wait_until(lock, wake);
  }
  if (stopping_) return false;

  // Take exactly the copies the batch needs.
  if (sync_)
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
    const int need = want_envs - have;
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
      if (sync_)
        discarded_steps_ += static_cast<std::int64_t>(left) * p.rollout.num_steps;
      else
        rest.push_back(
            {p.slot, p.actor_id, p.sequence, agents::slice_columns(p.rollout, use, left)});
    }
    if (settings_.log_batches)
      took += (took.empty() ? "'" : ", '") + p.actor_id + "' #" + std::to_string(p.sequence) +
              " (" + std::to_string(use) + " copies)";
    have += use;
  }
  pool_ = std::move(rest);
  pool_envs_ = 0;
  for (const auto& p : pool_) pool_envs_ += p.rollout.num_envs;
  // Tests read these lines to prove that no rollout is taken twice or lost: keep their wording.
  if (settings_.log_batches) log("batch for version " + std::to_string(version_) + ": " + took);
  std::vector<const agents::Rollout*> parts;
  for (const auto& r : taken) parts.push_back(&r);
  out.rollout = agents::merge_columns(parts);
  out.mean_version_lag = lag_sum / want_envs;
  out.max_version_lag = max_lag;
  out.actors = static_cast<int>(slots.size());
  out.discarded_steps = discarded_steps_;
  discarded_steps_ = 0;
  out.actor_wait_seconds = 0;
  for (auto& [id, m] : membership_.members()) {
    out.actor_wait_seconds += m.waiting_seconds - m.waiting_counted;
    m.waiting_counted = m.waiting_seconds;
  }
  if (sync_) {
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

void RolloutGatherer::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  changed_.notify_all();
}

void RolloutGatherer::finish() {
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
  changed_.wait_for(lock, to_duration(settings_.finish_grace_s),
                    [&] { return membership_.all_gone(); });
}

int RolloutGatherer::members() const {
  std::lock_guard lock(mutex_);
  return membership_.size();
}

std::int64_t RolloutGatherer::accepted_rollouts() const {
  std::lock_guard lock(mutex_);
  return accepted_;
}

std::int64_t RolloutGatherer::cut_episodes() const {
  std::lock_guard lock(mutex_);
  return membership_.cut_episodes();
}

std::int64_t RolloutGatherer::unstable_steps() const {
  std::lock_guard lock(mutex_);
  return membership_.unstable_steps();
}

void RolloutGatherer::restart(std::uint64_t seed) {
  std::lock_guard lock(mutex_);
  membership_.restart(seed);
}

}  // namespace trustrl::server
