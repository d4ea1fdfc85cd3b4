#pragma once
// The actor for single-agent envs: a VectorEnv and the policy of group 0.

#include <cstdint>
#include <memory>

#include "agents/actor.h"
#include "agents/inference.h"
#include "envs/vector_env.h"

namespace trustrl::agents {

class SingleAgentActor final : public Actor {
 public:
  /// `seed` seeds the envs (copy i gets seed + i) and the action sampling.
  SingleAgentActor(std::unique_ptr<envs::VectorEnv> env, std::uint64_t seed);

  void set_policy(const PolicySnapshot& snapshot) override;
  std::int64_t policy_version() const override { return version_; }
  void collect(int steps, Rollout& out) override;
  std::int64_t env_steps() const override { return env_steps_; }
  void set_env_steps(std::int64_t steps) override { env_steps_ = steps; }
  std::string env_id() const override { return env_->spec().id; }
  int num_envs() const override { return env_->num_envs(); }
  std::int64_t cut_episodes() const override { return env_->cut_episodes(); }
  bool can_snapshot() const override { return env_->can_snapshot(); }
  void save(ByteWriter& out) const override;
  void load(ByteReader& in) override;
  void restart(std::uint64_t seed) override;
  const Rng& rng() const override { return rng_; }

  envs::VectorEnv& env() { return *env_; }

 private:
  void values(const float* raw_obs, int rows, float* out);

  std::unique_ptr<envs::VectorEnv> env_;
  GroupPolicy group_;
  std::int64_t version_ = 0;
  PolicyInference policy_;
  Rng rng_;
  std::int64_t env_steps_ = 0;
  // scratch
  std::vector<float> normalized_, final_rows_, final_values_, clipped_;
  std::vector<float> exploration_;  // gSDE: one noise matrix per env copy
  std::vector<int> final_index_;
  ActResult act_;
};

}  // namespace trustrl::agents
