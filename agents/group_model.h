#pragma once
// One agent group's trainable policy: its actor-critic, optimizer, trust region, and the running
// statistics of its inputs and values. PPO trains one group; MAPPO one per group of agents with
// identical spaces (agents of a group share its parameters).

#include <memory>
#include <vector>

#include "agents/flat_adam.h"
#include "agents/network.h"
#include "agents/normalizer.h"
#include "agents/policy_snapshot.h"
#include "agents/policy_update.h"
#include "agents/trust_region.h"
#include "core/bytes.h"

namespace trustrl::agents {

class GroupModel {
 public:
  GroupModel(std::vector<int> agents, const NetworkShape& shape, bool agent_id_input,
             int num_agents, CriticInput critic_input, const PpoConfig& ppo,
             const TrustRegionConfig& trust_region, const NetworkConfig& network,
             const NormalizeConfig& normalize);

  /// The group's policy for actors.
  GroupPolicy policy() const;

  void save(ByteWriter& out) const;
  void load(ByteReader& in);

  std::vector<int> agents;
  bool agent_id_input;
  int num_agents;
  CriticInput critic_input;
  ActorCritic net{nullptr};
  std::unique_ptr<FlatAdam> optimizer;
  TrustRegion trust_region;
  ObsNormalizer obs_normalizer;
  ObsNormalizer critic_normalizer;
  ValueNormalizer value_normalizer;
};

}  // namespace trustrl::agents
