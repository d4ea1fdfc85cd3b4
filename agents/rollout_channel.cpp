#include "agents/rollout_channel.h"

#include <string>

#include "core/error.h"

namespace trustrl::agents {

bool LocalRolloutChannel::next_batch(int num_envs, int num_steps, Batch& out) {
  if (num_envs != actor_->num_envs())
    throw Error("a batch of " + std::to_string(num_envs) + " env copies was asked of an actor with " +
                std::to_string(actor_->num_envs()));
  actor_->collect(num_steps, out.rollout);
  out.mean_version_lag = 0;
  out.max_version_lag = 0;
  out.actors = 1;
  out.discarded_steps = 0;
  out.actor_wait_seconds = 0;
  return true;
}

}  // namespace trustrl::agents
