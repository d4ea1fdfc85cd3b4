#pragma once
// The learner's members: which actors joined (id, incarnation, client host), the slot each holds,
// the caps on members (in all and per client host), the env seed each join gets, and who lost
// its membership without leaving. Not thread-safe: the rollout gatherer calls it under its lock.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "server/gatherer/gatherer_messages.h"

namespace trustrl::server {

/// One member and what the gatherer counts for it.
struct Member {
  std::string actor_id;
  std::string host;  // the client host it joined from
  std::uint64_t incarnation = 0;
  int slot = 0;
  int num_envs = 0;
  std::int64_t requested = 0;      // rollouts asked for since the join
  std::int64_t received = 0;       // distinct sequence numbers received
  std::int64_t last_sequence = 0;  // the highest one
  PushAnswer last_answer;          // the answer to it, given again to a retry
  // Sync: rollouts asked for / delivered at the current version; late: past the deadline.
  std::int64_t assigned = 0;
  std::int64_t delivered = 0;
  bool late = false;
  std::chrono::steady_clock::time_point last_seen;
  double waiting_seconds = 0, waiting_counted = 0;
  std::int64_t cut_episodes = 0;
  std::int64_t unstable_steps = 0;
  std::shared_ptr<DirectiveSink> sink;
};

/// "actor 'a' (incarnation 3)", as messages and log lines name a member.
std::string member_name(const std::string& actor_id, std::uint64_t incarnation);

class ActorMembership {
 public:
  /// `rank` and `seed` derive env seeds; the caps are >= 1.
  ActorMembership(int max_actors, int max_actors_per_peer, int rank, std::uint64_t seed);

  /// Throws Refusal(kInvalidArgument) naming what is wrong with the request's actor id,
  /// incarnation or copy count.
  static void check_request(const JoinRequest& request);
  /// Throws Refusal(kFailedPrecondition) when a newer incarnation of the actor is a member. Only
  /// against a member still here: a newer one that left or went silent no longer holds the id,
  /// so one bad join cannot lock an actor out for the learner's lifetime.
  void check_not_stale(const JoinRequest& request) const;
  /// Makes `request` a member (an older incarnation must have been removed) in its last slot if
  /// that is free, else the lowest free one. Throws Refusal(kResourceExhausted) at a cap.
  Member& admit(const JoinRequest& request, std::chrono::steady_clock::time_point now);
  /// The env seed of the next join in `slot`: the first actor of a rank-0 run takes the run's
  /// seed (it acts as `trustrl train`'s actor), every other a seed derived from slot and join.
  std::uint64_t env_seed(int slot);

  /// The member of exactly this incarnation, marked as heard from at `now`. Throws Refusal:
  /// kNotFound when the actor is no member (or an older incarnation is), kFailedPrecondition
  /// when a newer incarnation is.
  Member& find(const std::string& actor_id, std::uint64_t incarnation,
               std::chrono::steady_clock::time_point now);
  /// Removes the member and returns it; nullopt if it is none. `left`: it said goodbye (Leave, or
  /// it joined again), so it is not counted as cut off.
  std::optional<Member> remove(const std::string& actor_id, bool left);
  /// The member whose directives go to `sink`; null if none.
  Member* with_sink(const DirectiveSink* sink);

  std::map<std::string, Member>& members() { return members_; }
  const std::map<std::string, Member>& members() const { return members_; }
  int size() const { return static_cast<int>(members_.size()); }

  /// The actor heard that the run is over: it is no longer waited for.
  void told_run_is_over(const std::string& actor_id) { cut_off_.erase(actor_id); }
  /// No members, and none cut off that might come back to hear that the run is over.
  bool all_gone() const { return members_.empty() && cut_off_.empty(); }
  /// Episodes cut by the actors' remote simulators, over members and departed ones.
  std::int64_t cut_episodes() const;
  /// Env steps ended by simulation instability in the actors' envs, members and departed ones.
  std::int64_t unstable_steps() const;
  /// After a resume: joins from now on get env seeds derived from `seed`.
  void restart(std::uint64_t seed);

 private:
  const int max_actors_, max_actors_per_peer_, rank_;
  const std::uint64_t seed_;
  std::uint64_t base_seed_;
  bool restarted_ = false;
  std::map<std::string, Member> members_;   // by actor id
  std::map<std::string, int> last_slot_;    // by actor id
  std::map<int, std::int64_t> slot_joins_;  // joins per slot
  std::set<int> slots_;                     // slots in use
  // Actors that lost their membership without leaving (stream broken, timed out): when the run
  // ends, the learner gives them a grace period to come back and hear that it is over.
  std::set<std::string> cut_off_;
  std::int64_t departed_cut_episodes_ = 0;
  std::int64_t departed_unstable_steps_ = 0;
};

}  // namespace trustrl::server
