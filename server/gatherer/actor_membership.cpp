#include "server/gatherer/actor_membership.h"

#include <algorithm>

#include "core/rng.h"
#include "server/gatherer/learner_protocol.h"

namespace trustrl::server {

std::string member_name(const std::string& actor_id, std::uint64_t incarnation) {
  return "actor '" + actor_id + "' (incarnation " + std::to_string(incarnation) + ")";
}

ActorMembership::ActorMembership(int max_actors, int max_actors_per_peer, int rank,
                                 std::uint64_t seed)
    : max_actors_(max_actors),
      max_actors_per_peer_(max_actors_per_peer),
      rank_(rank),
      seed_(seed),
      base_seed_(seed) {
  if (max_actors < 1 || max_actors_per_peer < 1)
    throw Error("the caps on actors must be >= 1, got max_actors " + std::to_string(max_actors) +
                " and max_actors_per_peer " + std::to_string(max_actors_per_peer));
}

void ActorMembership::check_request(const JoinRequest& request) {
  const std::string& id = request.actor_id;
  if (id.empty() || id.size() > 128 ||
      !std::all_of(id.begin(), id.end(), [](char c) { return c >= 0x20 && c < 0x7f; }))
    throw Refusal(RefusalCode::kInvalidArgument,
                  "join: actor_id must be 1 to 128 printable ASCII characters");
  if (request.incarnation < 1 || request.incarnation > kMaxIncarnation)
    throw Refusal(RefusalCode::kInvalidArgument,
                  "join: incarnation " + std::to_string(request.incarnation) + " is outside [1, " +
                      std::to_string(kMaxIncarnation) +
                      "] (2^62; the default, the start time in ns, stays below it until 2116)");
  if (request.num_envs < 1 || request.num_envs > 65536)
    throw Refusal(RefusalCode::kInvalidArgument,
                  "join: num_envs must be in [1, 65536], got " + std::to_string(request.num_envs));
}

void ActorMembership::check_not_stale(const JoinRequest& request) const {
  const auto current = members_.find(request.actor_id);
  if (current != members_.end() && current->second.incarnation > request.incarnation)
    throw Refusal(RefusalCode::kFailedPrecondition,
                  "join: " + member_name(request.actor_id, request.incarnation) +
                      " is stale: incarnation " + std::to_string(current->second.incarnation) +
                      " of this actor is a member (it joined since)");
}

Member& ActorMembership::admit(const JoinRequest& request,
                               std::chrono::steady_clock::time_point now) {
  const std::string& id = request.actor_id;
  if (size() >= max_actors_)
    throw Refusal(RefusalCode::kResourceExhausted,
                  "join: this learner already has its maximum of " + std::to_string(max_actors_) +
                      " actors; stop one or raise the limit (--max-actors)");
  const auto from_host = std::count_if(members_.begin(), members_.end(), [&](const auto& m) {
    return m.second.host == request.host;
  });
  if (from_host >= max_actors_per_peer_)
    throw Refusal(RefusalCode::kResourceExhausted,
                  "join: this learner already has its maximum of " +
                      std::to_string(max_actors_per_peer_) + " actors from " + request.host +
                      "; stop one or raise the limit (--max-actors-per-peer)");
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
  m.host = request.host;
  m.incarnation = request.incarnation;
  m.slot = slot;
  m.num_envs = request.num_envs;
  m.last_seen = now;
  return m;
}

std::uint64_t ActorMembership::env_seed(int slot) {
  const std::int64_t generation = slot_joins_[slot]++;
  // The first actor of a run acts exactly as `trustrl train`'s actor: its envs take the seed.
  if (rank_ == 0 && slot == 0 && generation == 0 && !restarted_) return seed_;
  const std::uint64_t stream = (static_cast<std::uint64_t>(rank_) << 40) ^
                               (static_cast<std::uint64_t>(slot) << 20) ^
                               static_cast<std::uint64_t>(generation);
  return Rng::derive(base_seed_ ^ 0x5EEDAC7, stream);
}

Member& ActorMembership::find(const std::string& actor_id, std::uint64_t incarnation,
                              std::chrono::steady_clock::time_point now) {
  const auto it = members_.find(actor_id);
  if (it == members_.end() || it->second.incarnation < incarnation)
    throw Refusal(RefusalCode::kNotFound,
                  member_name(actor_id, incarnation) +
                      " is not a member of this learner (it left, timed out, or the learner "
                      "restarted); join again");
  if (it->second.incarnation > incarnation)
    throw Refusal(RefusalCode::kFailedPrecondition,
                  member_name(actor_id, incarnation) + " is stale: incarnation " +
                      std::to_string(it->second.incarnation) + " of this actor joined since");
  it->second.last_seen = now;
  return it->second;
}

std::optional<Member> ActorMembership::remove(const std::string& actor_id, bool left) {
  const auto it = members_.find(actor_id);
  if (it == members_.end()) return std::nullopt;
  if (left)
    cut_off_.erase(actor_id);
  else
    cut_off_.insert(actor_id);
  Member m = std::move(it->second);
  departed_cut_episodes_ += m.cut_episodes;
  departed_unstable_steps_ += m.unstable_steps;
  slots_.erase(m.slot);
  members_.erase(it);
  return m;
}

Member* ActorMembership::with_sink(const DirectiveSink* sink) {
  if (!sink) return nullptr;
  for (auto& [id, m] : members_)
    if (m.sink.get() == sink) return &m;
  return nullptr;
}

std::int64_t ActorMembership::cut_episodes() const {
  std::int64_t total = departed_cut_episodes_;
  for (const auto& [id, m] : members_) total += m.cut_episodes;
  return total;
}

std::int64_t ActorMembership::unstable_steps() const {
  std::int64_t total = departed_unstable_steps_;
  for (const auto& [id, m] : members_) total += m.unstable_steps;
  return total;
}

void ActorMembership::restart(std::uint64_t seed) {
  base_seed_ = seed;
  restarted_ = true;
}

}  // namespace trustrl::server
