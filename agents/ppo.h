#pragma once
// The PPO learner (Schulman et al. 2017) with the details of PPO_CHECKLIST.md: GAE with
// truncation bootstrapping, minibatch epochs reshuffled each epoch, per-minibatch advantage
// normalization, value clipping, entropy bonus, global grad-norm clipping, Adam eps 1e-5, linear
// LR annealing, and the KL trust-region family of trust_region.h.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "agents/flat_adam.h"
#include "agents/network.h"
#include "agents/normalizer.h"
#include "agents/policy_snapshot.h"
#include "agents/rollout.h"
#include "agents/trust_region.h"
#include "core/bytes.h"
#include "core/config.h"
#include "core/metrics.h"
#include "core/rng.h"

namespace trustrl::agents {

struct PpoConfig {
  std::int64_t num_steps = 128;
  double learning_rate = 2.5e-4;
  bool anneal_lr = true;
  double gamma = 0.99;
  double gae_lambda = 0.95;
  std::int64_t num_minibatches = 4;
  /// Samples per minibatch; 0 derives it from num_minibatches.
  std::int64_t minibatch_size = 0;
  std::int64_t update_epochs = 4;
  bool norm_adv = true;
  double ent_coef = 0.01;
  double vf_coef = 0.5;
  std::optional<double> value_clip = 0.2;
  double max_grad_norm = 0.5;
  double adam_eps = 1e-5;

  void visit(ConfigVisitor& v);
};

struct NormalizeConfig {
  bool observations = false;
  bool rewards = false;
  double clip_obs = 10.0;
  double clip_reward = 10.0;
  double epsilon = 1e-8;

  void visit(ConfigVisitor& v);
};

/// What one update measured; names follow CleanRL where it has them.
struct UpdateStats {
  double policy_loss = 0, value_loss = 0, entropy = 0;
  double kl_analytic = 0, kl_k1 = 0, kl_k2 = 0, kl_k3 = 0;
  double clip_fraction = 0, explained_variance = 0;
  double learning_rate = 0, clip_epsilon = 0, beta = 0;
  int epochs = 0, minibatches = 0, backtracks = 0;
  bool early_stopped = false;
  /// Mean ratio on the first minibatch of the first epoch (1 unless the actor's policy differs).
  double first_ratio = 1.0;

  void write(MetricRow& row) const;
};

class PpoLearner {
 public:
  PpoLearner(const NetworkShape& shape, const PpoConfig& ppo, const TrustRegionConfig& trust_region,
             const NetworkConfig& network, const NormalizeConfig& normalize, std::uint64_t seed);

  /// One PPO update on `rollout` (from `source`, an actor id, for reward-scaling streams).
  /// `progress_remaining` goes from 1 to 0 over training and drives LR and clip annealing.
  UpdateStats update(const Rollout& rollout, double progress_remaining, std::int64_t source = 0);

  /// The current policy for actors; its version increases with every update.
  PolicySnapshot snapshot();
  std::int64_t version() const { return version_; }

  ActorCritic& network() { return net_; }
  const ObsNormalizer& obs_normalizer() const { return obs_norm_; }
  const TrustRegion& trust_region() const { return trust_region_; }
  const FlatAdam& optimizer() const { return *optimizer_; }
  const RewardScaler& reward_scaler() const { return reward_scaler_; }
  const Rng& rng() const { return rng_; }

  /// Everything that makes the next update identical after a restart.
  void save(ByteWriter& out) const;
  void load(ByteReader& in);

 private:
  PpoConfig ppo_;
  NormalizeConfig normalize_;
  NetworkShape shape_;
  ActorCritic net_{nullptr};
  std::unique_ptr<FlatAdam> optimizer_;
  TrustRegion trust_region_;
  ObsNormalizer obs_norm_;
  RewardScaler reward_scaler_;
  Rng rng_;
  std::int64_t version_ = 0;
};

/// Minibatch size for a batch, from minibatch_size or num_minibatches; throws ConfigError if it
/// does not fit.
std::int64_t minibatch_size(const PpoConfig& ppo, std::int64_t batch);

}  // namespace trustrl::agents
