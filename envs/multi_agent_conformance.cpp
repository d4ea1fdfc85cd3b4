#include "envs/multi_agent_conformance.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "core/text.h"

namespace trustrl::envs {

namespace {

[[noreturn]] void fail(const std::string& message) { fail_check(message); }

// Messages are built only on failure: the suite runs thousands of steps per env.
void expect(bool ok, const std::string& message) {
  if (!ok) fail(message);
}

std::string row_text(std::span<const float> row) {
  std::string s = "[";
  for (std::size_t i = 0; i < row.size(); ++i) s += (i ? ", " : "") + format_number(row[i]);
  return s + "]";
}

std::string slot(int i, int a) {
  return "copy " + std::to_string(i) + ", agent " + std::to_string(a);
}

// A row must lie in a Box (no NaN, within bounds).
void expect_in_box(const Space& space, std::span<const float> row,
                   const std::function<std::string()>& what) {
  for (std::size_t k = 0; k < row.size(); ++k) {
    if (std::isnan(row[k]))
      fail(what() + " has NaN at index " + std::to_string(k) + ": " + row_text(row));
    if (!(row[k] >= space.low[k] && row[k] <= space.high[k]))
      fail(what() + " is outside " + space.describe() + " at index " + std::to_string(k) + ": " +
           row_text(row));
  }
}

// Observations [N, A, width] in each agent's space with zeros past its obs_dim; states [N, S]
// in the state space; active flags 0 or 1.
void expect_view(const MultiAgentSpec& spec, std::span<const float> observations,
                 std::span<const float> states, std::span<const std::uint8_t> active, int n,
                 const std::string& what) {
  const int agents = spec.num_agents();
  const auto width = static_cast<std::size_t>(spec.max_obs_dim());
  const auto state_dim = static_cast<std::size_t>(spec.state_dim());
  for (int i = 0; i < n; ++i) {
    for (int a = 0; a < agents; ++a) {
      const auto k = static_cast<std::size_t>(i * agents + a);
      const auto row = observations.subspan(k * width, width);
      const auto dim = static_cast<std::size_t>(spec.obs_dim(a));
      expect_in_box(spec.observation_spaces[static_cast<std::size_t>(a)], row.first(dim),
                    [&] { return what + " of " + slot(i, a); });
      for (std::size_t p = dim; p < width; ++p)
        if (row[p] != 0.0f)
          fail(what + " of " + slot(i, a) + " has non-zero padding at index " + std::to_string(p) +
               ": " + row_text(row));
      if (active[k] > 1)
        fail("active flags must be 0 or 1; " + what + " has " + std::to_string(active[k]) +
             " for " + slot(i, a));
    }
    if (state_dim > 0)
      expect_in_box(spec.state_space,
                    states.subspan(static_cast<std::size_t>(i) * state_dim, state_dim),
                    [&] { return what + " state of copy " + std::to_string(i); });
  }
}

bool any_active(std::span<const std::uint8_t> active, int i, int agents) {
  const auto row =
      active.subspan(static_cast<std::size_t>(i * agents), static_cast<std::size_t>(agents));
  return std::any_of(row.begin(), row.end(), [](std::uint8_t x) { return x != 0; });
}

// Random joint actions: active agents sample their space, inactive ones get the sentinel.
struct JointActionSource {
  JointActionSource(const MultiAgentSpec& s, int n, std::uint64_t seed)
      : spec(s), num(n), width(static_cast<std::size_t>(s.max_action_dim())), rng(seed) {
    const auto size = static_cast<std::size_t>(n * s.num_agents()) * width;
    if (s.has_discrete_actions()) discrete.assign(size, kNoDiscreteAction);
    if (s.has_continuous_actions()) continuous.assign(size, kNoContinuousAction);
  }
  ActionBatch next(std::span<const std::uint8_t> active) {
    std::fill(discrete.begin(), discrete.end(), kNoDiscreteAction);
    std::fill(continuous.begin(), continuous.end(), kNoContinuousAction);
    const int agents = spec.num_agents();
    for (int i = 0; i < num; ++i) {
      for (int a = 0; a < agents; ++a) {
        const auto k = static_cast<std::size_t>(i * agents + a);
        if (!active[k]) continue;
        const Space& space = spec.action_spaces[static_cast<std::size_t>(a)];
        const auto dim = static_cast<std::size_t>(space.flat_dim());
        if (space.is_discrete())
          space.sample(rng, std::span(discrete).subspan(k * width, dim));
        else
          space.sample(rng, std::span(continuous).subspan(k * width, dim));
      }
    }
    return batch();
  }
  ActionBatch batch() const { return {discrete, continuous}; }

  MultiAgentSpec spec;
  int num;
  std::size_t width;
  Rng rng;
  std::vector<std::int64_t> discrete;
  std::vector<float> continuous;
};

}  // namespace

std::vector<ConformanceCheck> run_multi_agent_conformance(const VectorEnvMaker& make,
                                                          const ConformanceOptions& opt) {
  std::vector<ConformanceCheck> out;
  const int n = opt.num_envs;

  out.push_back(run_check("spec", [&] {
    auto env = make(n, std::nullopt);
    const MultiAgentSpec& spec = env->spec();
    spec.validate();
    const int agents = spec.num_agents();
    for (int a = 0; a < agents; ++a) {
      const Space& act = spec.action_spaces[static_cast<std::size_t>(a)];
      if (act.kind == SpaceKind::kBox)
        expect(act.bounded(), "the Box action space of agent " + std::to_string(a) +
                                  " must be bounded on every component");
    }
    std::vector<int> seen(static_cast<std::size_t>(agents), 0);
    for (const AgentGroup& g : spec.agent_groups())
      for (int a : g.agents) ++seen[static_cast<std::size_t>(a)];
    expect(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }),
           "agent groups must hold every agent exactly once");
    expect(env->num_envs() == n,
           "asked for " + std::to_string(n) + " copies, got " + std::to_string(env->num_envs()));
    const StepBuffers& b = env->buffers();
    expect(b.num_agents == agents && b.obs_dim == spec.max_obs_dim() &&
               b.state_dim == spec.state_dim(),
           "the buffers' shapes (" + std::to_string(b.num_agents) + " agents, obs width " +
               std::to_string(b.obs_dim) + ", state " + std::to_string(b.state_dim) +
               ") do not match the spec");
    return std::to_string(agents) + " agents in " + std::to_string(spec.agent_groups().size()) +
           " group(s), obs width " + std::to_string(spec.max_obs_dim()) + ", state " +
           std::to_string(spec.state_dim());
  }));

  out.push_back(run_check("reset", [&] {
    auto env = make(n, std::nullopt);
    env->reset(opt.seed);
    const MultiAgentSpec& spec = env->spec();
    const StepBuffers& b = env->buffers();
    const auto agents = static_cast<std::size_t>(spec.num_agents());
    expect(b.observations.size() ==
               static_cast<std::size_t>(n) * agents * static_cast<std::size_t>(spec.max_obs_dim()),
           "reset filled " + std::to_string(b.observations.size()) + " observation values");
    expect_view(spec, b.observations, b.states, b.active, n, "the first observation");
    for (int i = 0; i < n; ++i)
      expect(any_active(b.active, i, spec.num_agents()),
             "copy " + std::to_string(i) + " starts an episode with no active agent");
    return std::string("first observations and states lie in their spaces, padding is zero");
  }));

  out.push_back(run_check("step contract", [&] {
    auto env = make(n, std::nullopt);
    const MultiAgentSpec& spec = env->spec();
    const int agents = spec.num_agents();
    const auto slots = static_cast<std::size_t>(n * agents);
    env->reset(opt.seed);
    JointActionSource actions(spec, n, opt.seed + 1);
    std::vector<double> returns(slots, 0.0);
    std::vector<int> lengths(static_cast<std::size_t>(n), 0);
    std::vector<std::uint8_t> before;
    int episodes = 0, deaths = 0;
    for (int t = 0; t < opt.steps; ++t) {
      before = env->buffers().active;
      env->step(actions.next(before));
      const StepBuffers& b = env->buffers();
      const std::string at = " at step " + std::to_string(t);
      expect_view(spec, b.observations, b.states, b.active, n, "the observation" + at);
      for (int i = 0; i < n; ++i) {
        const auto ii = static_cast<std::size_t>(i);
        if (!(b.terminated[ii] <= 1 && b.truncated[ii] <= 1)) fail("flags must be 0 or 1" + at);
        for (int a = 0; a < agents; ++a) {
          const auto k = static_cast<std::size_t>(i * agents + a);
          if (!(std::isfinite(b.rewards[k])))
            fail("reward of " + slot(i, a) + at + " is " + format_number(b.rewards[k]));
          if (!before[k] && b.rewards[k] != 0.0)
            fail("inactive " + slot(i, a) + " got reward " + format_number(b.rewards[k]) + at);
          returns[k] += b.rewards[k];
        }
        lengths[ii] += 1;
        if (spec.max_episode_steps > 0 && lengths[ii] > spec.max_episode_steps)
          fail("copy " + std::to_string(i) + " ran past the time limit of " +
               std::to_string(spec.max_episode_steps) + " steps without truncation");
        if (spec.max_episode_steps > 0 && lengths[ii] == spec.max_episode_steps && !b.done(i))
          fail("copy " + std::to_string(i) + " reached the time limit" + at +
               " without truncated=1");
        // The mask after the step: the live one, or the final one when the episode ended.
        const auto& after = b.done(i) ? b.final_active : b.active;
        for (int a = 0; a < agents; ++a) {
          const auto k = static_cast<std::size_t>(i * agents + a);
          if (!(after[k] <= before[k]))
            fail(slot(i, a) + " became active again" + at +
                 "; an inactive agent stays inactive until reset");
          if (before[k] && !after[k]) ++deaths;
        }
        if (!b.done(i)) {
          if (!(any_active(b.active, i, agents)))
            fail("copy " + std::to_string(i) + " has no active agent" + at +
                 " but its episode goes on");
          continue;
        }
        ++episodes;
        expect_view(spec,
                    std::span(b.final_observations)
                        .subspan(ii * static_cast<std::size_t>(agents * b.obs_dim)),
                    std::span(b.final_states).subspan(ii * static_cast<std::size_t>(b.state_dim)),
                    std::span(b.final_active).subspan(ii * static_cast<std::size_t>(agents)), 1,
                    "the final observation of copy " + std::to_string(i) + at);
        if (!(any_active(b.active, i, agents)))
          fail("copy " + std::to_string(i) + " was auto-reset" + at +
               " into an episode with no active agent");
        if (!(b.episode_lengths[ii] == lengths[ii]))
          fail("episode length of copy " + std::to_string(i) + at + " is reported as " +
               std::to_string(b.episode_lengths[ii]) + ", counted " + std::to_string(lengths[ii]));
        double team = 0.0;
        for (int a = 0; a < agents; ++a) {
          const auto k = static_cast<std::size_t>(i * agents + a);
          team += returns[k];
          if (!(std::fabs(b.agent_episode_returns[k] - returns[k]) <=
                1e-6 * (1 + std::fabs(returns[k]))))
            fail("episode return of " + slot(i, a) + at + " is reported as " +
                 format_number(b.agent_episode_returns[k]) + ", its rewards sum to " +
                 format_number(returns[k]));
          returns[k] = 0.0;
        }
        if (!(std::fabs(b.episode_returns[ii] - team) <= 1e-6 * (1 + std::fabs(team))))
          fail("team episode return of copy " + std::to_string(i) + at + " is reported as " +
               format_number(b.episode_returns[ii]) + ", the rewards sum to " +
               format_number(team));
        lengths[ii] = 0;
      }
    }
    return std::to_string(opt.steps) + " steps of " + std::to_string(n) + " copies, " +
           std::to_string(episodes) + " episodes ended, " + std::to_string(deaths) +
           " agents went inactive";
  }));

  out.push_back(run_check("truncation", [&] {
    const int limit = 5;
    auto env = make(n, limit);
    const int expected = env->spec().max_episode_steps;
    if (expected <= 0) return std::string("no time limit: nothing to truncate");
    env->reset(opt.seed);
    JointActionSource actions(env->spec(), n, opt.seed + 2);
    std::vector<int> lengths(static_cast<std::size_t>(n), 0);
    int truncations = 0;
    for (int t = 0; t < std::min(opt.steps, 4 * expected); ++t) {
      env->step(actions.next(env->buffers().active));
      const StepBuffers& b = env->buffers();
      for (int i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        ++lengths[k];
        if (lengths[k] == expected)
          if (!(b.done(i)))
            fail("copy " + std::to_string(i) + " was not cut at its time limit of " +
                 std::to_string(expected) + " steps");
        if (b.truncated[k] && !b.terminated[k]) {
          if (!(lengths[k] == expected))
            fail("copy " + std::to_string(i) + " was truncated after " +
                 std::to_string(lengths[k]) + " steps; the limit is " + std::to_string(expected));
          ++truncations;
        }
        if (b.done(i)) lengths[k] = 0;
      }
    }
    return "time limit " + std::to_string(expected) + ": " + std::to_string(truncations) +
           " truncations, each at the limit";
  }));

  out.push_back(run_check("same seed, same episode", [&] {
    auto a = make(n, std::nullopt);
    auto b = make(n, std::nullopt);
    a->reset(opt.seed);
    b->reset(opt.seed);
    JointActionSource actions_a(a->spec(), n, opt.seed + 3), actions_b(b->spec(), n, opt.seed + 3);
    for (int t = 0; t <= opt.steps; ++t) {
      const StepBuffers& x = a->buffers();
      const StepBuffers& y = b->buffers();
      const std::string at = t == 0 ? " after reset" : " at step " + std::to_string(t - 1);
      expect(x.observations == y.observations, "observations differ" + at);
      expect(x.states == y.states, "states differ" + at);
      expect(x.active == y.active, "active masks differ" + at);
      if (t > 0) {
        expect(x.rewards == y.rewards, "rewards differ" + at);
        expect(x.terminated == y.terminated && x.truncated == y.truncated, "flags differ" + at);
      }
      if (t == opt.steps) break;
      a->step(actions_a.next(x.active));
      b->step(actions_b.next(y.active));
    }
    return "two envs reset with seed " + std::to_string(opt.seed) + " gave identical batches";
  }));

  out.push_back(run_check("different seeds, different episodes", [&] {
    auto a = make(n, std::nullopt);
    auto b = make(n, std::nullopt);
    a->reset(opt.seed);
    b->reset(opt.seed + 1000);
    JointActionSource actions_a(a->spec(), n, 7), actions_b(b->spec(), n, 7);
    for (int t = 0; t < 50; ++t) {
      if (a->buffers().observations != b->buffers().observations) return std::string("they differ");
      a->step(actions_a.next(a->buffers().active));
      b->step(actions_b.next(b->buffers().active));
    }
    throw CheckFailed{"seeds " + std::to_string(opt.seed) + " and " +
                      std::to_string(opt.seed + 1000) +
                      " gave identical episodes; is the seed used?"};
  }));

  out.push_back(run_check("invalid joint actions are refused", [&] {
    auto env = make(n, std::nullopt);
    env->reset(opt.seed);
    const MultiAgentSpec& spec = env->spec();
    const int agents = spec.num_agents();
    const auto width = static_cast<std::size_t>(spec.max_action_dim());
    JointActionSource actions(spec, n, opt.seed + 4);
    std::string seen;
    auto refused = [&](const ActionBatch& batch, const std::string& what) {
      const std::vector<float> obs_before = env->buffers().observations;
      try {
        env->step(batch);
      } catch (const std::exception& e) {
        seen += what + " -> \"" + e.what() + "\"; ";
        expect(env->buffers().observations == obs_before,
               "a refused batch (" + what + ") changed the observations; no copy may step");
        return;
      }
      throw CheckFailed{"a joint-action batch with " + what + " was accepted"};
    };

    // Too few values.
    actions.next(env->buffers().active);
    if (spec.has_discrete_actions()) {
      std::vector<std::int64_t> short_batch(actions.discrete.begin(), actions.discrete.end() - 1);
      refused({short_batch, actions.continuous}, "one discrete value too few");
    }
    if (spec.has_continuous_actions()) {
      std::vector<float> short_batch(actions.continuous.begin(), actions.continuous.end() - 1);
      refused({actions.discrete, short_batch}, "one continuous value too few");
    }
    // A bad value for an active agent (the last copy's first active agent).
    const int last = n - 1;
    int target = -1;
    for (int a = 0; a < agents && target < 0; ++a)
      if (env->buffers().active[static_cast<std::size_t>(last * agents + a)]) target = a;
    expect(target >= 0, "no active agent after reset");
    {
      const Space& space = spec.action_spaces[static_cast<std::size_t>(target)];
      const std::size_t k = static_cast<std::size_t>(last * agents + target) * width;
      auto discrete = actions.discrete;
      auto continuous = actions.continuous;
      if (space.kind == SpaceKind::kDiscrete) {
        discrete[k] = space.start + space.n;
        refused({discrete, continuous}, "an out-of-range discrete value for an active agent");
      } else if (space.kind == SpaceKind::kMultiDiscrete) {
        discrete[k] = space.nvec[0];
        refused({discrete, continuous}, "an out-of-range discrete value for an active agent");
      } else {
        continuous[k] = NAN;
        refused({discrete, continuous}, "a NaN continuous value for an active agent");
      }
    }
    // A real action in an inactive agent's slot: step until some agent is inactive.
    bool tested_inactive = false;
    for (int t = 0; t < opt.steps && !tested_inactive; ++t) {
      const auto& active = env->buffers().active;
      actions.next(active);
      for (std::size_t k = 0; k < active.size() && !tested_inactive; ++k) {
        if (active[k]) continue;
        const Space& space = spec.action_spaces[k % static_cast<std::size_t>(agents)];
        auto discrete = actions.discrete;
        auto continuous = actions.continuous;
        if (space.is_discrete())
          discrete[k * width] = space.kind == SpaceKind::kDiscrete ? space.start : 0;
        else
          continuous[k * width] = 0.5f * (space.low[0] + space.high[0]);
        refused({discrete, continuous}, "an action for an inactive agent");
        tested_inactive = true;
      }
      if (!tested_inactive) env->step(actions.batch());
    }
    if (!tested_inactive)
      seen += "(no agent went inactive, so the no-action sentinel was not tested)";
    return seen;
  }));

  return out;
}

}  // namespace trustrl::envs
