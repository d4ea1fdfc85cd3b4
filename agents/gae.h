#pragma once
// Generalized advantage estimation (Schulman et al. 2016) over a rollout.

#include <cstdint>
#include <vector>

namespace trustrl::agents {

struct GaeInput {
  std::int64_t steps = 0;                    // T
  std::int64_t columns = 0;                  // N x A: one independent stream per env copy and agent
  std::int64_t agents = 1;                   // A: flags are per env copy, shared by its A agents
  const float* rewards = nullptr;            // [T, N, A]
  const float* values = nullptr;             // [T, N, A]
  const std::uint8_t* terminated = nullptr;  // [T, N]
  const std::uint8_t* truncated = nullptr;   // [T, N]
  const float* final_values = nullptr;       // [T, N, A] V(final obs) at truncated steps
  const float* bootstrap_values = nullptr;   // [N, A] V(s_T)
  double gamma = 0.99;
  double lambda = 0.95;
};

/// Fills advantages and returns (= advantages + values), [T, N, A].
/// The one-step target at step t is r_t + gamma * V_next, where V_next is
///   0                   if the episode terminated at t (a terminal state has no future);
///   V(final obs at t)   if it was truncated at t (the episode could have gone on: bootstrap;
///                       Pardo et al. 2018, "Time Limits in Reinforcement Learning");
///   V(s_{t+1})          otherwise (s_T's value after the last step);
/// and the lambda-chain is cut at every episode end.
void compute_gae(const GaeInput& in, std::vector<float>& advantages, std::vector<float>& returns);

}  // namespace trustrl::agents
