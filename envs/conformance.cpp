#include "envs/conformance.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include "core/error.h"
#include "core/rng.h"
#include "core/text.h"

namespace trustrl::envs {

namespace {

void expect(bool ok, const std::string& message) {
  if (!ok) fail_check(message);
}

std::string row_text(std::span<const float> row) {
  std::string s = "[";
  for (std::size_t i = 0; i < row.size(); ++i) s += (i ? ", " : "") + format_number(row[i]);
  return s + "]";
}

// Observation rows must lie in the observation space (and be finite where it is bounded).
void expect_in_space(const Space& space, std::span<const float> rows, int n,
                     const std::string& what) {
  const auto dim = static_cast<std::size_t>(space.flat_dim());
  for (int i = 0; i < n; ++i) {
    const auto row = rows.subspan(static_cast<std::size_t>(i) * dim, dim);
    for (std::size_t k = 0; k < dim; ++k) {
      expect(!std::isnan(row[k]), what + " of copy " + std::to_string(i) + " has NaN at index " +
                                      std::to_string(k) + ": " + row_text(row));
      expect(row[k] >= space.low[k] && row[k] <= space.high[k],
             what + " of copy " + std::to_string(i) + " is outside " + space.describe() +
                 " at index " + std::to_string(k) + ": " + row_text(row));
    }
  }
}

// Random actions for every copy, drawn from the action space.
struct ActionSource {
  explicit ActionSource(const EnvSpec& spec, int n, std::uint64_t seed)
      : space(spec.action_space), num(n), rng(seed) {
    const auto size = static_cast<std::size_t>(n * space.flat_dim());
    if (space.is_discrete())
      discrete.resize(size);
    else
      continuous.resize(size);
  }
  ActionBatch next() {
    const auto dim = static_cast<std::size_t>(space.flat_dim());
    for (int i = 0; i < num; ++i) {
      if (space.is_discrete())
        space.sample(rng, std::span(discrete).subspan(static_cast<std::size_t>(i) * dim, dim));
      else
        space.sample(rng, std::span(continuous).subspan(static_cast<std::size_t>(i) * dim, dim));
    }
    return {discrete, continuous};
  }
  Space space;
  int num;
  Rng rng;
  std::vector<std::int64_t> discrete;
  std::vector<float> continuous;
};

}  // namespace

std::vector<ConformanceCheck> run_conformance(const VectorEnvMaker& make,
                                              const ConformanceOptions& opt) {
  std::vector<ConformanceCheck> out;
  const int n = opt.num_envs;

  out.push_back(run_check("spec", [&] {
    auto env = make(n, std::nullopt);
    const EnvSpec& spec = env->single_agent_spec();
    expect(!spec.id.empty(), "the spec has no id");
    expect(spec.observation_space.kind == SpaceKind::kBox,
           "observations must be a float32 Box, got " + spec.observation_space.describe());
    expect(spec.observation_space.flat_dim() > 0, "the observation space is empty");
    expect(spec.action_space.flat_dim() > 0, "the action space is empty");
    if (spec.action_space.kind == SpaceKind::kBox)
      expect(spec.action_space.bounded(), "a Box action space must be bounded on every component");
    expect(spec.max_episode_steps >= 0, "max_episode_steps is negative");
    expect(env->num_envs() == n,
           "asked for " + std::to_string(n) + " copies, got " + std::to_string(env->num_envs()));
    return spec.observation_space.describe() + " -> " + spec.action_space.describe();
  }));

  out.push_back(run_check("reset", [&] {
    auto env = make(n, std::nullopt);
    env->reset(opt.seed);
    const StepBuffers& b = env->buffers();
    expect(static_cast<int>(b.observations.size()) ==
               n * env->single_agent_spec().observation_space.flat_dim(),
           "reset filled " + std::to_string(b.observations.size()) +
               " observation values, expected " +
               std::to_string(n * env->single_agent_spec().observation_space.flat_dim()));
    expect_in_space(env->single_agent_spec().observation_space, b.observations, n,
                    "the first observation");
    return "first observations lie in the observation space";
  }));

  out.push_back(run_check("step contract", [&] {
    auto env = make(n, std::nullopt);
    const EnvSpec& spec = env->single_agent_spec();
    env->reset(opt.seed);
    ActionSource actions(spec, n, opt.seed + 1);
    std::vector<double> returns(static_cast<std::size_t>(n), 0.0);
    std::vector<int> lengths(static_cast<std::size_t>(n), 0);
    int episodes = 0;
    for (int t = 0; t < opt.steps; ++t) {
      env->step(actions.next());
      const StepBuffers& b = env->buffers();
      const std::string at = " at step " + std::to_string(t);
      expect_in_space(spec.observation_space, b.observations, n, "the observation" + at);
      for (int i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        expect(std::isfinite(b.rewards[k]),
               "reward of copy " + std::to_string(i) + at + " is " + format_number(b.rewards[k]));
        expect(b.terminated[k] <= 1 && b.truncated[k] <= 1, "flags must be 0 or 1" + at);
        returns[k] += b.rewards[k];
        lengths[k] += 1;
        if (spec.max_episode_steps > 0)
          expect(lengths[k] <= spec.max_episode_steps,
                 "copy " + std::to_string(i) + " ran past the time limit of " +
                     std::to_string(spec.max_episode_steps) + " steps without truncation");
        if (b.done(i)) {
          ++episodes;
          const auto dim = static_cast<std::size_t>(spec.observation_space.flat_dim());
          expect_in_space(spec.observation_space,
                          std::span(b.final_observations).subspan(k * dim, dim), 1,
                          "the final observation of copy " + std::to_string(i) + at);
          expect(b.episode_lengths[k] == lengths[k], "episode length of copy " + std::to_string(i) +
                                                         at + " is reported as " +
                                                         std::to_string(b.episode_lengths[k]) +
                                                         ", counted " + std::to_string(lengths[k]));
          expect(std::fabs(b.episode_returns[k] - returns[k]) <= 1e-6 * (1 + std::fabs(returns[k])),
                 "episode return of copy " + std::to_string(i) + at + " is reported as " +
                     format_number(b.episode_returns[k]) + ", the rewards sum to " +
                     format_number(returns[k]));
          if (spec.max_episode_steps > 0 && lengths[k] == spec.max_episode_steps)
            expect(b.truncated[k] || b.terminated[k],
                   "copy " + std::to_string(i) + " reached the time limit without truncated=1");
          returns[k] = 0;
          lengths[k] = 0;
        }
      }
    }
    return std::to_string(opt.steps) + " steps of " + std::to_string(n) + " copies, " +
           std::to_string(episodes) + " episodes ended";
  }));

  out.push_back(run_check("truncation", [&] {
    const int limit = 5;
    auto env = make(n, limit);
    const int expected = env->single_agent_spec().max_episode_steps;
    if (expected <= 0) return std::string("no time limit: nothing to truncate");
    env->reset(opt.seed);
    ActionSource actions(env->single_agent_spec(), n, opt.seed + 2);
    std::vector<int> lengths(static_cast<std::size_t>(n), 0);
    int truncations = 0;
    for (int t = 0; t < std::min(opt.steps, 4 * expected); ++t) {
      env->step(actions.next());
      const StepBuffers& b = env->buffers();
      for (int i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        ++lengths[k];
        if (lengths[k] == expected)
          expect(b.done(i), "copy " + std::to_string(i) + " was not cut at its time limit of " +
                                std::to_string(expected) + " steps");
        if (b.truncated[k] && !b.terminated[k]) {
          expect(lengths[k] == expected, "copy " + std::to_string(i) + " was truncated after " +
                                             std::to_string(lengths[k]) + " steps; the limit is " +
                                             std::to_string(expected));
          ++truncations;
        }
        if (b.done(i)) lengths[k] = 0;
      }
    }
    return "time limit " + std::to_string(expected) + ": " + std::to_string(truncations) +
           " truncations, each at the limit, each with its final observation";
  }));

  out.push_back(run_check("same seed, same episode", [&] {
    auto a = make(n, std::nullopt);
    auto b = make(n, std::nullopt);
    a->reset(opt.seed);
    b->reset(opt.seed);
    ActionSource actions_a(a->single_agent_spec(), n, opt.seed + 3),
        actions_b(b->single_agent_spec(), n, opt.seed + 3);
    for (int t = 0; t <= opt.steps; ++t) {
      const StepBuffers& x = a->buffers();
      const StepBuffers& y = b->buffers();
      const std::string at = t == 0 ? " after reset" : " at step " + std::to_string(t - 1);
      expect(x.observations == y.observations, "observations differ" + at);
      if (t > 0) {
        expect(x.rewards == y.rewards, "rewards differ" + at);
        expect(x.terminated == y.terminated && x.truncated == y.truncated, "flags differ" + at);
      }
      if (t == opt.steps) break;
      a->step(actions_a.next());
      b->step(actions_b.next());
    }
    return "two envs reset with seed " + std::to_string(opt.seed) + " gave identical batches";
  }));

  out.push_back(run_check("different seeds, different episodes", [&] {
    auto a = make(n, std::nullopt);
    auto b = make(n, std::nullopt);
    a->reset(opt.seed);
    b->reset(opt.seed + 1000);
    ActionSource actions_a(a->single_agent_spec(), n, 7), actions_b(b->single_agent_spec(), n, 7);
    for (int t = 0; t < 50; ++t) {
      if (a->buffers().observations != b->buffers().observations) return std::string("they differ");
      a->step(actions_a.next());
      b->step(actions_b.next());
    }
    throw CheckFailed{"seeds " + std::to_string(opt.seed) + " and " +
                      std::to_string(opt.seed + 1000) +
                      " gave identical episodes; is the seed used?"};
  }));

  out.push_back(run_check("invalid actions are refused", [&] {
    auto env = make(n, std::nullopt);
    env->reset(opt.seed);
    const Space& space = env->single_agent_spec().action_space;
    const auto size = static_cast<std::size_t>(n * space.flat_dim());
    std::string seen;
    auto refused = [&](const ActionBatch& batch, const std::string& what) {
      try {
        env->step(batch);
      } catch (const std::exception& e) {
        seen += what + " -> \"" + e.what() + "\"; ";
        return;
      }
      throw CheckFailed{"an action batch with " + what + " was accepted"};
    };
    if (space.is_discrete()) {
      std::vector<std::int64_t> bad(size, 0);
      if (space.kind == SpaceKind::kDiscrete) {
        std::fill(bad.begin(), bad.end(), space.start);
        bad[0] = space.start + space.n;
      } else {
        bad[0] = space.nvec[0];
      }
      refused({bad, {}}, "an out-of-range discrete value");
      std::vector<std::int64_t> short_batch(size - 1,
                                            space.kind == SpaceKind::kDiscrete ? space.start : 0);
      refused({short_batch, {}}, "too few values");
    } else {
      std::vector<float> bad(size, 0.0f);
      for (std::size_t k = 0; k < size; ++k)
        bad[k] = 0.5f * (space.low[k % space.low.size()] + space.high[k % space.high.size()]);
      bad[0] = NAN;
      refused({{}, bad}, "a NaN value");
      std::vector<float> short_batch(size - 1, 0.0f);
      refused({{}, short_batch}, "too few values");
    }
    return seen;
  }));

  return out;
}

VectorEnvMaker local_env_maker(const std::string& id, const OptionMap& options, int num_threads) {
  return [=](int num_envs, std::optional<int> time_limit) -> std::unique_ptr<VectorEnv> {
    OptionMap opts = options;
    if (time_limit) opts["max_episode_steps"] = std::to_string(*time_limit);
    return LocalVectorEnv::make(id, opts, num_envs, num_threads);
  };
}

}  // namespace trustrl::envs
