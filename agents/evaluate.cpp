#include "agents/evaluate.h"

#include <algorithm>
#include <cmath>

#include "agents/env_actor.h"
#include "core/error.h"

namespace trustrl::agents {

namespace {
template <class T>
std::pair<double, double> moments(const std::vector<T>& v) {
  if (v.empty()) return {NAN, NAN};
  double mean = 0;
  for (auto x : v) mean += static_cast<double>(x);
  mean /= static_cast<double>(v.size());
  double var = 0;
  for (auto x : v) var += (static_cast<double>(x) - mean) * (static_cast<double>(x) - mean);
  return {mean, std::sqrt(var / static_cast<double>(v.size()))};
}
}  // namespace

double EvalResult::mean_return() const { return moments(returns).first; }
double EvalResult::std_return() const { return moments(returns).second; }
double EvalResult::mean_length() const { return moments(lengths).first; }
double EvalResult::std_length() const { return moments(lengths).second; }

EvalResult evaluate(std::unique_ptr<envs::VectorEnv> env, const PolicySnapshot& policy,
                    int episodes, bool deterministic, std::uint64_t seed,
                    const std::function<void(const envs::Frame&)>& on_frame) {
  if (episodes < 1)
    throw Error("evaluation needs at least 1 episode, got " + std::to_string(episodes));
  const int n = env->num_envs();
  const int agents = env->spec().num_agents();
  // The sampling streams of the two evaluations that were once separate (plain envs', teams'),
  // kept so that a seeded evaluation repeats.
  const std::uint64_t stream = env->single_agent() ? 0xE7A1 : EnvActor::kCollectStream;
  EnvActor actor(std::move(env), seed, stream);
  actor.set_policy(policy);
  std::vector<int> quota(static_cast<std::size_t>(n)), done(static_cast<std::size_t>(n), 0);
  for (int i = 0; i < n; ++i)
    quota[static_cast<std::size_t>(i)] = episodes / n + (i < episodes % n ? 1 : 0);
  EvalResult result;
  if (on_frame && quota[0] > 0) on_frame(actor.env().render(0));
  while (static_cast<int>(result.returns.size()) < episodes) {
    actor.step(deterministic);
    const envs::StepBuffers& b = actor.env().buffers();
    for (int i = 0; i < n; ++i) {
      const auto k = static_cast<std::size_t>(i);
      if (!b.done(i) || done[k] >= quota[k]) continue;
      ++done[k];
      double mean = 0;
      for (int a = 0; a < agents; ++a)
        mean += b.agent_episode_returns[k * static_cast<std::size_t>(agents) +
                                        static_cast<std::size_t>(a)];
      result.returns.push_back(mean / agents);
      result.team_returns.push_back(b.episode_returns[k]);
      result.lengths.push_back(b.episode_lengths[k]);
    }
    if (on_frame && done[0] < quota[0]) on_frame(actor.env().render(0));
  }
  return result;
}

}  // namespace trustrl::agents
