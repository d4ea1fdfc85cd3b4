#pragma once
// MAPPO (Yu et al. 2021, "The Surprising Effectiveness of PPO in Cooperative Multi-Agent Games"):
// PPO with a centralized critic. Agents with identical spaces form a group that shares one actor
// and one critic (parameter sharing, optionally told apart by a one-hot agent id); each group's
// critic reads the global state (or the agent-specific global state), its value targets are
// normalized (ValueNorm), GAE runs per agent on denormalized values, and inactive (dead) agents'
// samples are left out of every loss (death masking). The trust-region family is PPO's.
// `critic_input: observation` turns it into independent PPO, for comparison.

#include <cstdint>
#include <memory>
#include <vector>

#include "agents/group_model.h"
#include "agents/learner.h"
#include "core/config.h"
#include "core/rng.h"
#include "envs/multi_agent_env.h"

namespace trustrl::agents {

struct MappoConfig {
  CriticInput critic_input = CriticInput::kState;
  /// Append a one-hot agent id to the actor's and the critic's inputs.
  bool agent_id = false;

  void visit(ConfigVisitor& v);
};

class MappoLearner final : public Learner {
 public:
  /// Throws ConfigError if the critic needs a global state the env lacks.
  MappoLearner(const envs::MultiAgentSpec& spec, const MappoConfig& mappo, const PpoConfig& ppo,
               const TrustRegionConfig& trust_region, const NetworkConfig& network,
               const NormalizeConfig& normalize, std::uint64_t seed);

  UpdateStats update(const Rollout& rollout, double progress_remaining,
                     std::int64_t source = 0) override;
  PolicySnapshot snapshot() const override;
  std::int64_t version() const override { return version_; }
  void set_collective(Collective* collective) override { collective_ = collective; }
  void save(ByteWriter& out) const override;
  void load(ByteReader& in) override;

  const std::vector<std::unique_ptr<GroupModel>>& groups() const { return groups_; }
  const Rng& rng() const { return rng_; }

 private:
  envs::MultiAgentSpec spec_;
  MappoConfig mappo_;
  PpoConfig ppo_;
  std::vector<std::unique_ptr<GroupModel>> groups_;
  RewardScaler reward_scaler_;
  Rng rng_;
  std::int64_t version_ = 0;
  Collective* collective_ = nullptr;
};

}  // namespace trustrl::agents
