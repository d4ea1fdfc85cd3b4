#include "agents/rollout_channel.h"

#include <algorithm>
#include <string>

#include "agents/rollout_columns.h"
#include "core/error.h"

namespace trustrl::agents {

bool LocalRolloutChannel::next_batch(int num_envs, int num_steps, Batch& out) {
  if (num_envs != actor_->num_envs())
    throw Error("a batch of " + std::to_string(num_envs) +
                " env copies was asked of an actor with " + std::to_string(actor_->num_envs()));
  actor_->collect(num_steps, out.rollout);
  out.mean_version_lag = 0;
  out.max_version_lag = 0;
  out.actors = 1;
  out.discarded_steps = 0;
  out.actor_wait_seconds = 0;
  return true;
}

bool all_gather_batch(Collective& collective, Batch& batch, bool have) {
  ByteWriter w;
  w.put<std::uint8_t>(have ? 1 : 0);
  if (have) {
    w.put(batch.mean_version_lag);
    w.put(batch.max_version_lag);
    w.put<std::int32_t>(batch.actors);
    w.put(batch.discarded_steps);
    w.put(batch.actor_wait_seconds);
    save_rollout(batch.rollout, w);
  }
  const auto all = collective.all_gather(w.take());
  std::vector<Rollout> parts(all.size());
  Batch total;
  total.actors = 0;
  double lag_sum = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    ByteReader r(all[i], "the batch of learner rank " + std::to_string(i));
    if (r.get<std::uint8_t>() == 0) return false;  // that learner was stopped
    const double lag = r.get<double>();
    total.max_version_lag = std::max(total.max_version_lag, r.get<std::int64_t>());
    total.actors += r.get<std::int32_t>();
    total.discarded_steps += r.get<std::int64_t>();
    total.actor_wait_seconds += r.get<double>();
    parts[i] = load_rollout(r);
    lag_sum += lag * parts[i].num_envs;
  }
  std::vector<const Rollout*> pointers;
  for (const auto& p : parts) pointers.push_back(&p);
  total.rollout = merge_columns(pointers);
  total.mean_version_lag = lag_sum / std::max(1, total.rollout.num_envs);
  batch = std::move(total);
  return true;
}

}  // namespace trustrl::agents
