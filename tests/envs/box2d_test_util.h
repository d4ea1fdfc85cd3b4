#pragma once
// Helpers shared by the Box2D env tests: recording trajectories to compare bit for bit.

#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "core/rng.h"
#include "envs/env.h"
#include "envs/vector_env.h"

namespace trustrl::envs::testing {

/// Everything an episode produced, as raw bytes, so that == means bit for bit (NaN-safe).
struct Trace {
  std::vector<std::uint8_t> bytes;
  template <class T>
  void add(const T& v) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
  }
  void add_all(const std::vector<float>& v) {
    for (float x : v) add(x);
  }
  bool operator==(const Trace&) const = default;
};

/// Runs `episodes` episodes (reset with seeds[i]) with actions drawn from the action space by an
/// Rng seeded `action_seed`, at most `max_steps` steps each, and records obs, rewards and flags.
inline Trace record_episodes(Env& env, const std::vector<std::uint64_t>& seeds,
                             std::uint64_t action_seed, int max_steps = 2000) {
  Trace trace;
  Rng actions(action_seed);
  const Space& space = env.spec().action_space;
  std::vector<float> obs(static_cast<std::size_t>(env.obs_dim()));
  std::vector<std::int64_t> discrete(static_cast<std::size_t>(space.flat_dim()));
  std::vector<float> continuous(static_cast<std::size_t>(space.flat_dim()));
  for (std::uint64_t seed : seeds) {
    env.reset(seed, obs);
    trace.add_all(obs);
    for (int t = 0; t < max_steps; ++t) {
      StepResult r;
      if (space.is_discrete()) {
        space.sample(actions, std::span(discrete));
        r = env.step({discrete, {}}, obs);
      } else {
        space.sample(actions, std::span(continuous));
        r = env.step({{}, continuous}, obs);
      }
      trace.add_all(obs);
      trace.add(r.reward);
      trace.add(r.terminated);
      trace.add(r.truncated);
      if (r.terminated || r.truncated) break;
    }
  }
  return trace;
}

/// Steps a LocalVectorEnv of `num_envs` copies on `threads` threads with random actions (auto
/// reset included) and records every buffer.
inline Trace record_vector(const std::string& id, int num_envs, int threads, int steps,
                           std::uint64_t seed) {
  auto env = LocalVectorEnv::make(id, {}, num_envs, threads);
  env->reset(seed);
  Trace trace;
  trace.add_all(env->buffers().observations);
  const Space& space = env->single_agent_spec().action_space;
  Rng actions(seed + 1);
  std::vector<std::int64_t> discrete(static_cast<std::size_t>(num_envs * space.flat_dim()));
  std::vector<float> continuous(static_cast<std::size_t>(num_envs * space.flat_dim()));
  for (int t = 0; t < steps; ++t) {
    if (space.is_discrete()) {
      for (auto& a : discrete) space.sample(actions, std::span(&a, 1));
      env->step({discrete, {}});
    } else {
      const auto dim = static_cast<std::size_t>(space.flat_dim());
      for (std::size_t i = 0; i < static_cast<std::size_t>(num_envs); ++i)
        space.sample(actions, std::span(continuous).subspan(i * dim, dim));
      env->step({{}, continuous});
    }
    const StepBuffers& b = env->buffers();
    trace.add_all(b.observations);
    trace.add_all(b.final_observations);
    for (int i = 0; i < num_envs; ++i) {
      trace.add(b.rewards[static_cast<std::size_t>(i)]);
      trace.add(b.terminated[static_cast<std::size_t>(i)]);
      trace.add(b.truncated[static_cast<std::size_t>(i)]);
    }
  }
  return trace;
}

}  // namespace trustrl::envs::testing
