#pragma once
// What a rollout acted by a known policy can hold: a learner refuses values no honest actor
// could have sent, before they reach an update (docs/RELIABILITY.md, "Rollouts and updates").
//
// The log-probability bounds follow from how PolicyInference (inference.cpp) samples:
//   Categorical  log p = logit - max - log(sum exp(logit - max)) <= 0; a class whose
//                exp(logit - max) underflows to 0 in double (logit - max < -745.2) has an empty
//                slice of the inverse CDF and is never drawn, so log p >= -745.2 - log(n).
//   Gaussian     log p = sum_k -z_k^2 / 2 - log_std_k - log(2 pi) / 2 with z from Rng::normal()
//                (Marsaglia's polar method on 53-bit uniforms): |z| <= sqrt(-2 ln s) with
//                s >= 2^-104, so |z| <= 12.01 and each component lies within
//                [-72.2 - log_std_k - 0.92, -log_std_k - 0.92] for the log_std that acted.
//   gSDE         the per-component std is at least sqrt(1e-6): log p <= sum_k 6.91 - 0.92; no
//                lower bound (the std grows with the latent features).
// Rewards are bounded by a configured `reward_bound`, values by reward_bound / (1 - gamma), the
// largest discounted return such rewards can make.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "agents/policy_snapshot.h"
#include "agents/rollout.h"

namespace trustrl::agents {

struct LogProbRange {
  double low = -std::numeric_limits<double>::infinity();
  double high = std::numeric_limits<double>::infinity();
};

struct RolloutLimits {
  /// Per agent (one for single-agent rollouts).
  std::vector<LogProbRange> log_probs;
  /// |reward| <= this.
  double reward_bound = std::numeric_limits<double>::infinity();
  /// |value| (values, final_values, bootstrap_values) <= this.
  double value_bound = std::numeric_limits<double>::infinity();
};

/// The log-probabilities `policy` can report for an action of one agent row, per agent.
std::vector<LogProbRange> log_prob_ranges(const PolicySnapshot& policy, int num_agents);
/// The limits for rollouts acted by `policy`: its log-prob ranges, |reward| <= reward_bound,
/// |value| <= reward_bound / (1 - gamma) (unbounded when gamma >= 1).
RolloutLimits rollout_limits(const PolicySnapshot& policy, int num_agents, double reward_bound,
                             double gamma);
/// Throws Error naming the field, row, value and bound of the first value outside `limits`
/// (rows of inactive agents are skipped).
void check_rollout_limits(const Rollout& rollout, const RolloutLimits& limits);

/// The first weight or statistic of `policy` that is not finite ("group 0: critic layer 1"), or
/// none. A finding, not an error: the trainer undoes such an update and goes on.
std::optional<std::string> non_finite_parameter(const PolicySnapshot& policy);

}  // namespace trustrl::agents
