#include "agents/evaluate.h"

#include <algorithm>
#include <cmath>

#include "agents/inference.h"
#include "agents/multi_agent_actor.h"
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

EvalResult evaluate(envs::VectorEnv& env, const PolicySnapshot& policy, int episodes,
                    bool deterministic, std::uint64_t seed,
                    const std::function<void(const envs::Frame&)>& on_frame) {
  if (episodes < 1)
    throw Error("evaluation needs at least 1 episode, got " + std::to_string(episodes));
  const int n = env.num_envs();
  const envs::EnvSpec& spec = env.single_agent_spec();
  const int obs_dim = static_cast<int>(spec.observation_space.flat_dim());
  const int act_dim = static_cast<int>(spec.action_space.flat_dim());
  check_policy_fits(policy, spec);
  const GroupPolicy& group = policy.groups.front();
  PolicyInference inference(group.weights);
  Rng rng(Rng::derive(seed, 0xE7A1));
  std::vector<int> quota(static_cast<std::size_t>(n)), done(static_cast<std::size_t>(n), 0);
  for (int i = 0; i < n; ++i)
    quota[static_cast<std::size_t>(i)] = episodes / n + (i < episodes % n ? 1 : 0);

  EvalResult result;
  std::vector<float> obs(static_cast<std::size_t>(n * obs_dim));
  std::vector<float> clipped(static_cast<std::size_t>(n * act_dim));
  ActResult act;
  env.reset(seed);
  if (on_frame && quota[0] > 0) on_frame(env.render(0));
  while (static_cast<int>(result.returns.size()) < episodes) {
    group.obs_normalizer.normalize(env.buffers().observations.data(), n, obs.data());
    inference.act(obs.data(), n, deterministic, rng, act);
    envs::ActionBatch batch;
    if (spec.action_space.is_discrete()) {
      batch.discrete = act.discrete_actions;
    } else {
      for (std::size_t k = 0; k < clipped.size(); ++k) {
        const std::size_t c = k % static_cast<std::size_t>(act_dim);
        clipped[k] = std::clamp(act.continuous_actions[k], spec.action_space.low[c],
                                spec.action_space.high[c]);
      }
      batch.continuous = clipped;
    }
    env.step(batch);
    const envs::StepBuffers& b = env.buffers();
    for (int i = 0; i < n; ++i) {
      const auto k = static_cast<std::size_t>(i);
      if (b.done(i) && done[k] < quota[k]) {
        ++done[k];
        result.returns.push_back(b.episode_returns[k]);
        result.team_returns.push_back(b.episode_returns[k]);
        result.lengths.push_back(b.episode_lengths[k]);
      }
    }
    if (on_frame && done[0] < quota[0]) on_frame(env.render(0));
  }
  return result;
}

EvalResult evaluate(std::unique_ptr<envs::VectorEnv> env, const PolicySnapshot& policy,
                    int episodes, bool deterministic, std::uint64_t seed,
                    const std::function<void(const envs::Frame&)>& on_frame) {
  if (episodes < 1)
    throw Error("evaluation needs at least 1 episode, got " + std::to_string(episodes));
  const int n = env->num_envs();
  const int agents = env->spec().num_agents();
  MultiAgentActor actor(std::move(env), seed);
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
