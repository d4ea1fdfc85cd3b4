#pragma once
// The actor: a VectorEnv and one policy per agent group, for 1..N agents (a plain env is one
// agent, single_agent_adapter.h). Agents of a group act through the group's shared actor
// network, batched over env copies and agents.

#include <cstdint>
#include <memory>
#include <vector>

#include "agents/actor.h"
#include "agents/inference.h"
#include "envs/vector_env.h"

namespace trustrl::agents {

/// Throws Error naming the mismatch unless `policy` covers each of the env's agents once, with
/// the agent count, observation and critic widths and action spaces the env has.
void check_policy_fits(const PolicySnapshot& policy, const envs::MultiAgentSpec& spec);

class EnvActor final : public Actor {
 public:
  /// The stream of the action-sampling RNG when collecting rollouts.
  static constexpr std::uint64_t kCollectStream = 0xAC7;

  /// `seed` seeds the envs (copy i gets seed + i) and, with `stream`, the action sampling.
  EnvActor(std::unique_ptr<envs::VectorEnv> env, std::uint64_t seed,
           std::uint64_t stream = kCollectStream);

  /// For a single-agent env the policy must also fit its plain spec (one group of one agent
  /// whose critic reads the observation).
  void set_policy(const PolicySnapshot& snapshot) override;
  std::int64_t policy_version() const override { return version_; }
  void collect(int steps, Rollout& out) override;
  std::int64_t env_steps() const override { return env_steps_; }
  void set_env_steps(std::int64_t steps) override { env_steps_ = steps; }
  std::string env_id() const override { return env_->spec().id; }
  int num_envs() const override { return env_->num_envs(); }
  std::int64_t cut_episodes() const override { return env_->cut_episodes(); }
  std::int64_t unstable_steps() const override { return env_->unstable_steps(); }
  std::string env_threads_report() const override { return env_->threads_report(); }
  bool can_snapshot() const override { return env_->can_snapshot(); }
  void save(ByteWriter& out) const override;
  void load(ByteReader& in) override;
  void restart(std::uint64_t seed) override;
  const Rng& rng() const override { return rng_; }

  /// One step of every copy with the current policy (for evaluation): acts (sampling, or the
  /// mode when `deterministic`) and steps the env.
  void step(bool deterministic);
  envs::VectorEnv& env() { return *env_; }

  /// Width of a critic input row for `input` (state and/or padded observation, then the id).
  static int critic_width(const envs::MultiAgentSpec& spec, CriticInput input, bool agent_id);
  /// Writes agent `agent`'s critic input row from a copy's state and padded observation row.
  static void write_critic_input(const envs::MultiAgentSpec& spec, CriticInput input, bool agent_id,
                                 const float* state, const float* observation, int agent,
                                 float* out);

 private:
  // Chooses every agent's action for the current buffers; fills the joint action and, when
  // `out` is set, the rollout's step t.
  void act(bool deterministic, Rollout* out, int t);
  // V (reward units) of agent rows given their critic inputs, for group g.
  void group_values(std::size_t g, const float* critic_rows, int rows, float* out);

  std::unique_ptr<envs::VectorEnv> env_;
  std::uint64_t stream_;
  std::vector<GroupPolicy> groups_;
  std::vector<PolicyInference> policies_;
  std::vector<int> group_of_;  // agent -> group
  std::int64_t version_ = 0;
  Rng rng_;
  std::int64_t env_steps_ = 0;
  // scratch
  std::vector<std::int64_t> joint_discrete_;
  std::vector<float> joint_continuous_;
  std::vector<float> inputs_, critic_rows_, normalized_critic_, values_;
  std::vector<std::vector<float>> exploration_;  // gSDE: per group, one noise matrix per row
  ActResult act_;
};

}  // namespace trustrl::agents
