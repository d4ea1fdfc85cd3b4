#include "agents/rollout_limits.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace trustrl::agents {

namespace {

// log of the smallest positive double, rounded down: exp(x) is 0 below it (inference.cpp's
// categorical sampling weighs classes by exp(logit - max) in double).
constexpr double kDoubleExpUnderflow = -745.2;
// Rng::normal(): |z| <= sqrt(-2 ln 2^-104) = 12.007.
constexpr double kMaxAbsNormal = 12.01;
constexpr double kHalfLog2Pi = 0.91893853320467274178;
constexpr double kGsdeVarianceEpsilon = 1e-6;  // inference.cpp
// Slack for log-probs summed in float by the actor.
constexpr double kRelativeSlack = 1e-4, kAbsoluteSlack = 1e-3;

LogProbRange categorical_range(const std::vector<std::int64_t>& classes) {
  LogProbRange range{0.0, 0.0};
  for (const std::int64_t n : classes)
    range.low += kDoubleExpUnderflow - std::log(static_cast<double>(n));
  return range;
}

LogProbRange group_range(const PolicyWeights& w) {
  const envs::Space& space = w.action_space;
  if (space.kind == envs::SpaceKind::kDiscrete) return categorical_range({space.n});
  if (space.kind == envs::SpaceKind::kMultiDiscrete) return categorical_range(space.nvec);
  const auto dim = static_cast<std::size_t>(space.flat_dim());
  LogProbRange range{0.0, 0.0};
  if (w.gsde) {
    range.low = -std::numeric_limits<double>::infinity();
    range.high = static_cast<double>(dim) * (-0.5 * std::log(kGsdeVarianceEpsilon) - kHalfLog2Pi);
    return range;
  }
  for (std::size_t k = 0; k < dim && k < w.log_std.size(); ++k) {
    const double top = -static_cast<double>(w.log_std[k]) - kHalfLog2Pi;
    range.high += top;
    range.low += top - 0.5 * kMaxAbsNormal * kMaxAbsNormal;
  }
  return range;
}

LogProbRange widened(LogProbRange r) {
  r.low -= kAbsoluteSlack + kRelativeSlack * std::abs(r.low);
  r.high += kAbsoluteSlack + kRelativeSlack * std::abs(r.high);
  return r;
}

std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// `active`: the [T, N, A] mask of `values`' rows, or empty (every row counts).
void check_magnitude(const std::string& field, const std::vector<float>& values, double bound,
                     const std::vector<std::uint8_t>& active) {
  if (!std::isfinite(bound)) return;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::abs(static_cast<double>(values[i])) <= bound) continue;
    if (!active.empty() && !active[i]) continue;
    throw Error("rollout." + field + "[" + std::to_string(i) + "] is " + number(values[i]) +
                ", beyond +-" + number(bound) +
                (field == "rewards"
                     ? " (distributed.reward_bound)"
                     : " (distributed.reward_bound / (1 - ppo.gamma), the largest discounted "
                       "return such rewards make)"));
  }
}

}  // namespace

std::vector<LogProbRange> log_prob_ranges(const PolicySnapshot& policy, int num_agents) {
  std::vector<LogProbRange> ranges(static_cast<std::size_t>(num_agents));
  for (const GroupPolicy& g : policy.groups) {
    const LogProbRange r = widened(group_range(g.weights));
    for (const int agent : g.agents)
      if (agent >= 0 && agent < num_agents) ranges[static_cast<std::size_t>(agent)] = r;
  }
  return ranges;
}

RolloutLimits rollout_limits(const PolicySnapshot& policy, int num_agents, double reward_bound,
                             double gamma) {
  RolloutLimits limits;
  limits.log_probs = log_prob_ranges(policy, num_agents);
  limits.reward_bound = reward_bound;
  if (gamma < 1.0) limits.value_bound = reward_bound / (1.0 - gamma);
  return limits;
}

void check_rollout_limits(const Rollout& r, const RolloutLimits& limits) {
  const auto agents = static_cast<std::size_t>(r.num_agents);
  for (std::size_t row = 0; row < r.log_probs.size(); ++row) {
    if (!r.active.empty() && !r.active[row]) continue;
    const std::size_t agent = row % agents;
    if (agent >= limits.log_probs.size()) continue;
    const LogProbRange& range = limits.log_probs[agent];
    const double v = r.log_probs[row];
    if (v < range.low || v > range.high)
      throw Error("rollout.log_probs[" + std::to_string(row) + "]" +
                  (agents > 1 ? " (agent " + std::to_string(agent) + ")" : "") + " is " +
                  number(v) + ", outside [" + number(range.low) + ", " + number(range.high) +
                  "], the log-probabilities policy version " + std::to_string(r.policy_version) +
                  " can produce");
  }
  check_magnitude("rewards", r.rewards, limits.reward_bound, r.active);
  check_magnitude("values", r.values, limits.value_bound, r.active);
  check_magnitude("final_values", r.final_values, limits.value_bound, r.active);
  check_magnitude("bootstrap_values", r.bootstrap_values, limits.value_bound, {});
}

namespace {

template <class T>
bool finite(const std::vector<T>& values) {
  for (const T v : values)
    if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace

std::optional<std::string> non_finite_parameter(const PolicySnapshot& policy) {
  for (std::size_t i = 0; i < policy.groups.size(); ++i) {
    const GroupPolicy& g = policy.groups[i];
    const std::string group = "group " + std::to_string(i) + ": ";
    for (std::size_t l = 0; l < g.weights.actor.size(); ++l)
      if (!finite(g.weights.actor[l].w) || !finite(g.weights.actor[l].b))
        return group + "actor layer " + std::to_string(l);
    for (std::size_t l = 0; l < g.weights.critic.size(); ++l)
      if (!finite(g.weights.critic[l].w) || !finite(g.weights.critic[l].b))
        return group + "critic layer " + std::to_string(l);
    if (!finite(g.weights.log_std)) return group + "log_std";
    if (!finite(g.obs_normalizer.stats().mean()) || !finite(g.obs_normalizer.stats().var()))
      return group + "observation statistics";
    if (!finite(g.critic_normalizer.stats().mean()) || !finite(g.critic_normalizer.stats().var()))
      return group + "critic input statistics";
    if (!std::isfinite(g.value_normalizer.mean()) || !std::isfinite(g.value_normalizer.stddev()))
      return group + "value statistics";
  }
  return std::nullopt;
}

}  // namespace trustrl::agents
