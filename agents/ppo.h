#pragma once
// The PPO learner (Schulman et al. 2017) with the details of PPO_CHECKLIST.md: GAE with
// truncation bootstrapping, the update of policy_update.h, observation normalization, reward
// scaling and value normalization, and the KL trust-region family of trust_region.h.

#include <cstdint>
#include <memory>

#include "agents/group_model.h"
#include "agents/learner.h"
#include "agents/normalizer.h"
#include "agents/policy_update.h"
#include "core/rng.h"

namespace trustrl::agents {

class PpoLearner final : public Learner {
 public:
  PpoLearner(const NetworkShape& shape, const PpoConfig& ppo, const TrustRegionConfig& trust_region,
             const NetworkConfig& network, const NormalizeConfig& normalize, std::uint64_t seed);

  UpdateStats update(const Rollout& rollout, double progress_remaining,
                     std::int64_t source = 0) override;
  PolicySnapshot snapshot() const override;
  std::int64_t version() const override { return version_; }
  void set_collective(Collective* collective) override { collective_ = collective; }
  void save(ByteWriter& out) const override;
  void load(ByteReader& in) override;

  ActorCritic& network() { return model_->net; }
  const GroupModel& model() const { return *model_; }
  const ObsNormalizer& obs_normalizer() const { return model_->obs_normalizer; }
  const TrustRegion& trust_region() const { return model_->trust_region; }
  const FlatAdam& optimizer() const { return *model_->optimizer; }
  const RewardScaler& reward_scaler() const { return reward_scaler_; }
  const Rng& rng() const { return rng_; }

 private:
  PpoConfig ppo_;
  NetworkShape shape_;
  std::unique_ptr<GroupModel> model_;
  RewardScaler reward_scaler_;
  Rng rng_;
  std::int64_t version_ = 0;
  Collective* collective_ = nullptr;
};

/// Class indices from env action values (Discrete spaces may start at a value other than 0).
torch::Tensor action_indices(const envs::Space& space, const std::int64_t* values,
                             std::int64_t rows, std::int64_t dim);

}  // namespace trustrl::agents
