#pragma once
// How a learner gathers its batches from actors in other processes (`trustrl learner` with
// `trustrl actor`s, docs/DISTRIBUTED.md). `trustrl train` runs its one actor in-process and reads
// none of this.

#include <cstdint>

#include "core/config.h"

namespace trustrl::agents {

enum class GatherMode {
  /// Every update uses exactly env.num_envs x ppo.num_steps env steps, all acted with the current
  /// policy version (on-policy PPO/MAPPO as in one process).
  kSync,
  /// Actors never wait for a new version; a rollout acted with a version older than the learner's
  /// minus max_staleness is refused. The ratio is taken against the behaviour policy's log-probs.
  kAsync,
};

struct DistributedConfig {
  GatherMode mode = GatherMode::kSync;
  /// Async mode: the oldest usable rollout is (learner version - max_staleness).
  std::int64_t max_staleness = 1;
  /// Env copies each actor runs unless it says otherwise (trustrl actor --num-envs); 0: the
  /// learner's whole share of env.num_envs, so that one actor fills a batch.
  std::int64_t actor_envs = 0;
  /// Sync mode: how long a learner waits for an asked-for rollout before it asks other actors
  /// for that share of the batch.
  double straggler_timeout_s = 30.0;
  /// How often actors send a heartbeat.
  double heartbeat_interval_s = 1.0;
  /// An actor that sent no heartbeat for this long is gone (a closed connection counts at once).
  double actor_timeout_s = 10.0;
  /// Largest chunk of parameters or rollout bytes per gRPC message.
  std::int64_t chunk_bytes = 4 << 20;
  /// A pushed rollout with a reward beyond +-reward_bound (or a value beyond
  /// +-reward_bound / (1 - gamma)) is refused: no honest env of this run produces it.
  double reward_bound = 1e6;

  void visit(ConfigVisitor& v) {
    v.choice("mode", mode, {{"sync", GatherMode::kSync}, {"async", GatherMode::kAsync}},
             "sync: every update uses exactly one batch of the current policy; async: actors never "
             "wait, "
             "stale rollouts are refused");
    v.field("max_staleness", max_staleness,
            "async: oldest usable rollout is the learner's version minus this",
            Bounds::closed(0, 1000000));
    v.field("actor_envs", actor_envs,
            "env copies per actor unless the actor says otherwise; 0: a whole batch",
            Bounds::closed(0, 65536));
    v.field("straggler_timeout_s", straggler_timeout_s,
            "sync: wait this long for an asked-for rollout, then ask other actors for that share",
            Bounds::positive());
    v.field("heartbeat_interval_s", heartbeat_interval_s, "how often actors send a heartbeat",
            Bounds::positive());
    v.field("actor_timeout_s", actor_timeout_s, "an actor silent for this long is gone",
            Bounds::positive());
    v.field("chunk_bytes", chunk_bytes, "largest chunk of parameters or rollout bytes per message",
            Bounds::closed(1024, 1 << 30));
    v.field("reward_bound", reward_bound,
            "a pushed rollout with a reward beyond +-this (or a value beyond +-this / (1 - gamma)) "
            "is refused",
            Bounds::positive());
  }
};

}  // namespace trustrl::agents
