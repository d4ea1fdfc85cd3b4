#pragma once
// Conversion between agents/ types and the messages of proto/trustrl/learner/v1/learner.proto,
// with the checks a learner makes before it trusts a rollout from another process.

#include <cstdint>
#include <string>
#include <vector>

#include "agents/rollout.h"
#include "envs/multi_agent_env.h"
#include "envs/space.h"
#include "server/env_protocol/convert.h"
#include "trustrl/learner/v1/learner.pb.h"

namespace trustrl::server {

namespace learner_wire = ::trustrl::learner::v1;

/// What every rollout of a run must look like, whoever sends it.
struct RolloutShape {
  int num_steps = 0;
  int num_agents = 1;
  int obs_dim = 0;
  int action_dim = 0;
  int critic_dim = 0;
  bool multi_agent = false;
  /// Per agent (one for single-agent envs): its action space.
  std::vector<envs::Space> action_spaces;
  /// Whether rollouts carry discrete and/or continuous actions.
  bool discrete = false;
  bool continuous = false;
};

/// The shape of a single-agent run's rollouts (num_steps steps).
RolloutShape rollout_shape(const envs::EnvSpec& spec, int num_steps);
/// The shape of a multi-agent run's rollouts, with critic rows of `critic_dim` values.
RolloutShape rollout_shape(const envs::MultiAgentSpec& spec, int num_steps, int critic_dim);

void to_wire(const agents::Rollout& rollout, learner_wire::Rollout* out);
/// The rollout a message carries, after every check a learner needs: the header against `shape`
/// and `num_envs`, buffer sizes and finite values (Rollout::validate), discrete actions inside
/// their spaces (active agents), 0/1 flags, one episode record per ended episode with a finite
/// return. Throws Error naming the field, index and value.
agents::Rollout from_wire(const learner_wire::Rollout& message, const RolloutShape& shape,
                          int num_envs);

/// An upper bound on the serialized size of a well-formed rollout of `num_envs` copies.
std::int64_t max_rollout_bytes(const RolloutShape& shape, int num_envs);

}  // namespace trustrl::server
