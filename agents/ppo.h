#pragma once
// trustrl's one learner, for 1..N agents: PPO (Schulman et al. 2017) with the implementation
// details listed in docs/DESIGN.md ("PPO details"), and MAPPO (Yu et al. 2021, "The Surprising
// Effectiveness of PPO in Cooperative Multi-Agent Games") as the same learner with agent groups and
// a centralized critic.
//
// Agents with identical spaces form a group that shares one actor and one critic (GroupModel;
// parameter sharing, optionally told apart by a one-hot agent id). Every update goes one way:
// rewards scaled per (copy, agent) stream, GAE per agent with truncation bootstrapping on values
// in reward units, dead agents' rows left out (death masking), observations, critic inputs and
// value targets normalized with the statistics the actor acted with, then each group's batch
// trained by run_policy_update (every trust region, gSDE, the fused minibatch step).
//
// `algo: ppo` is one group of one agent whose critic reads its observation; `algo: mappo` groups a
// multi-agent env's agents and gives the critic what `mappo.critic_input` names (mappo.h).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agents/frozen_policy.h"
#include "agents/group_model.h"
#include "agents/learner.h"
#include "agents/mappo.h"
#include "agents/normalizer.h"
#include "agents/policy_update.h"
#include "core/rng.h"
#include "envs/multi_agent_env.h"

namespace trustrl::agents {

class PpoLearner final : public Learner {
 public:
  /// algo: ppo on a plain env: one agent, the critic on the observation (shape.critic_input_dim
  /// must equal shape.obs_dim).
  PpoLearner(const NetworkShape& shape, const PpoConfig& ppo, const TrustRegionConfig& trust_region,
             const NetworkConfig& network, const NormalizeConfig& normalize, std::uint64_t seed);
  /// algo: mappo: a group per set of agents with identical spaces. Throws ConfigError if the
  /// critic needs a global state the env lacks.
  PpoLearner(const envs::MultiAgentSpec& spec, const MappoConfig& mappo, const PpoConfig& ppo,
             const TrustRegionConfig& trust_region, const NetworkConfig& network,
             const NormalizeConfig& normalize, std::uint64_t seed);

  /// trust_region.reference: the policy whose KL every group's loss carries, group for group
  /// (its spec checked by the caller, agents/policy_source.h). Throws Error naming `what` when
  /// its groups' inputs or actions do not match this learner's, or it uses gSDE.
  void set_reference(const PolicySnapshot& reference, const std::string& what);

  UpdateStats update(const Rollout& rollout, double progress_remaining,
                     std::int64_t source = 0) override;
  PolicySnapshot snapshot() const override;
  std::int64_t version() const override { return version_; }
  void set_collective(Collective* collective) override { collective_ = collective; }
  void save(ByteWriter& out) const override;
  void load(ByteReader& in) override;

  const std::vector<std::unique_ptr<GroupModel>>& groups() const { return groups_; }
  const RewardScaler& reward_scaler() const { return reward_scaler_; }
  const Rng& rng() const { return rng_; }

 private:
  PpoLearner(const PpoConfig& ppo, const NormalizeConfig& normalize, std::uint64_t seed,
             int num_agents, bool plain_env);
  // Throws Error naming what in `rollout` does not fit this learner's agents and groups.
  void check(const Rollout& rollout) const;
  /// mappo.update sequential's weights for one agent's update: `factor` (in, one per env step) is
  /// M, the product of the ratios of the agents updated before; `ratio` (out, one per env step, 1
  /// where the agent is not live) is its pi_new / pi_old of its own actions after its update.
  struct SequentialWeights {
    const std::vector<float>& factor;
    std::vector<float>& ratio;
    double factor_mean = 1, factor_min = 1, factor_max = 1;
  };
  /// Raw inputs an update saw, whose normalizer statistics move only once the whole update is
  /// done: a shared policy updated agent by agent normalizes every pass with the statistics its
  /// actor acted with.
  struct PendingInputs {
    std::vector<float> obs, critic;
    std::int64_t rows = 0;
  };
  // The live rows of `agents` (empty: all of group g's) in `rollout` as a batch, trained on g
  // (the `parts` of it: agents/policy_update.h); g's input statistics move after, or are left in
  // `pending` when given. A kCritic pass moves no input statistics (its policy passes saw the
  // rows) and the value statistics move only in passes that train the critic.
  UpdateStats update_group(GroupModel& g, const Rollout& rollout,
                           const std::vector<float>& advantages, const std::vector<float>& returns,
                           double progress_remaining, SequentialWeights* sequential = nullptr,
                           std::span<const int> agents = {}, PendingInputs* pending = nullptr,
                           UpdateParts parts = UpdateParts::kPolicyAndCritic);
  // Group g's update on `batch` (its live `rows` of the rollout) with its advantages weighted by
  // M; writes its own ratios after the update into `sequential`.
  UpdateStats update_weighted(GroupModel& g, const UpdateBatch& batch,
                              const std::vector<std::size_t>& rows, double progress_remaining,
                              SequentialWeights& sequential, UpdateParts parts);
  // mappo.update sequential: the agents one after another in an order drawn from rng_, each
  // updating its group's policy on its own rows (a shared policy is updated once per agent). In
  // the natural-gradient mode a group's critic is trained once, on all its agents' rows, after the
  // last of them (HARL's one critic after the agents); the clipped modes train the critic in each
  // agent's minibatches.
  std::vector<UpdateStats> update_sequentially(const Rollout& rollout,
                                               const std::vector<float>& advantages,
                                               const std::vector<float>& returns,
                                               double progress_remaining,
                                               UpdateStats::Sequential& log);

  PpoConfig ppo_;
  MultiAgentUpdate update_mode_ = MultiAgentUpdate::kSimultaneous;
  int num_agents_;
  /// Trained on a plain env (algo: ppo): its rollouts may omit active masks and critic inputs,
  /// and its checkpoints carry no group count (the form they had before MAPPO shared this code).
  bool plain_env_;
  std::vector<std::unique_ptr<GroupModel>> groups_;
  /// trust_region.reference's policy per group; empty without one.
  std::vector<FrozenPolicy> references_;
  RewardScaler reward_scaler_;
  Rng rng_;
  std::int64_t version_ = 0;
  Collective* collective_ = nullptr;
};

/// Class indices from env action values (Discrete spaces may start at a value other than 0).
torch::Tensor action_indices(const envs::Space& space, const std::int64_t* values,
                             std::int64_t rows, std::int64_t dim);

}  // namespace trustrl::agents
