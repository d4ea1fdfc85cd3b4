#pragma once
// The one type that carries experience from an actor to a learner, in one process or over the
// wire (the gRPC layer only serializes it).
//
// Layout: T steps x N env copies x A agents (A = 1 for single-agent envs), row-major in that
// order. Observations and rewards are raw (the learner normalizes and scales them with the
// statistics of the policy version that acted, see normalizer.h).

#include <cstdint>
#include <vector>

namespace trustrl::agents {

struct EpisodeRecord {
  /// The return of the episode; for multi-agent envs the mean over agents of each agent's
  /// return (MAPPO's "average episode reward").
  double episode_return = 0.0;
  std::int32_t length = 0;
  /// Multi-agent envs: the rewards summed over agents and steps (= episode_return for one agent).
  double team_return = 0.0;
};

struct Rollout {
  std::int32_t num_steps = 0;   // T
  std::int32_t num_envs = 0;    // N
  std::int32_t num_agents = 1;  // A
  std::int32_t obs_dim = 0;
  std::int32_t action_dim = 0;
  std::int32_t critic_dim = 0;  // width of critic_inputs rows; 0 when the critic reads observations
  /// The policy version that produced the actions.
  std::int64_t policy_version = 0;

  /// [T, N, A, obs_dim] raw observations the actions were chosen at.
  std::vector<float> observations;
  /// [T, N, A, critic_dim] raw critic inputs (e.g. a global state) when critic_dim > 0.
  std::vector<float> critic_inputs;
  /// [T, N, A, action_dim] env action values (Discrete/MultiDiscrete agents) ...
  std::vector<std::int64_t> discrete_actions;
  /// ... and/or the unclipped Gaussian samples (Box agents); the env saw them clipped to its
  /// bounds. A multi-agent env with both kinds of agents fills both (zeros in the other rows).
  std::vector<float> continuous_actions;
  /// [T, N, A] log pi_behaviour(a | s).
  std::vector<float> log_probs;
  /// [T, N, A] V(s) from the behaviour policy's critic.
  std::vector<float> values;
  /// [T, N, A] raw rewards.
  std::vector<float> rewards;
  /// [T, N] episode ended in a terminal state / was cut at this step.
  std::vector<std::uint8_t> terminated;
  std::vector<std::uint8_t> truncated;
  /// [T, N, A] V(final observation) where the step was truncated and not terminated, else 0:
  /// the bootstrap a cut episode needs (PPO details 4 in docs/DESIGN.md).
  std::vector<float> final_values;
  /// [N, A] V(s_T), the bootstrap after the last step.
  std::vector<float> bootstrap_values;
  /// [T, N, A] 1 where the agent was alive (multi-agent), empty for single-agent rollouts.
  std::vector<std::uint8_t> active;
  /// Episodes that ended during the rollout.
  std::vector<EpisodeRecord> episodes;

  std::int64_t rows() const { return static_cast<std::int64_t>(num_steps) * num_envs * num_agents; }
  std::int64_t env_steps() const { return static_cast<std::int64_t>(num_steps) * num_envs; }
  /// Sizes every buffer for T x N x A (continuous or discrete actions).
  void allocate(int steps, int envs, int agents, int obs, int action, bool discrete, int critic = 0,
                bool continuous_too = false);
  /// Throws Error naming the first buffer whose size disagrees with the header, or a non-finite
  /// value: what a learner checks before it trusts a rollout from elsewhere.
  void validate() const;
};

}  // namespace trustrl::agents
