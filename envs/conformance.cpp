#include "envs/conformance.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "core/text.h"
#include "envs/random_actions.h"

namespace trustrl::envs {

namespace {

[[noreturn]] void fail(const std::string& message) { fail_check(message); }

// For checks run a few times; per-step checks test first and build their message only on failure
// (the suite runs thousands of steps per env).
void expect(bool ok, const std::string& message) {
  if (!ok) fail(message);
}

std::string row_text(std::span<const float> row) {
  std::string s = "[";
  for (std::size_t i = 0; i < row.size(); ++i) s += (i ? ", " : "") + format_number(row[i]);
  return s + "]";
}

// "copy i", with the agent only where there are several: a plain env's author sees no agent axis.
std::string slot(const MultiAgentSpec& spec, int i, int a) {
  const std::string copy = "copy " + std::to_string(i);
  return spec.num_agents() == 1 ? copy : copy + ", agent " + std::to_string(a);
}

// " of agent a" where there are several agents, nothing for one.
std::string of_agent(const MultiAgentSpec& spec, int a) {
  return spec.num_agents() == 1 ? "" : " of agent " + std::to_string(a);
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
                    [&] { return what + " of " + slot(spec, i, a); });
      for (std::size_t p = dim; p < width; ++p)
        if (row[p] != 0.0f)
          fail(what + " of " + slot(spec, i, a) + " has non-zero padding at index " +
               std::to_string(p) + ": " + row_text(row));
      if (active[k] > 1)
        fail("active flags must be 0 or 1; " + what + " has " + std::to_string(active[k]) +
             " for " + slot(spec, i, a));
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

// What two envs stepped alike must agree on, or "" when they do.
std::string difference(const StepBuffers& x, const StepBuffers& y, bool stepped) {
  if (x.observations != y.observations) return "observations differ";
  if (x.states != y.states) return "states differ";
  if (x.active != y.active) return "active masks differ";
  if (!stepped) return "";
  if (x.rewards != y.rewards) return "rewards differ";
  if (x.terminated != y.terminated || x.truncated != y.truncated) return "flags differ";
  return "";
}

// What two envs that ended the same episodes this step must agree on about them, or "" (rows
// of copies whose episode goes on hold stale data).
std::string ended_episode_difference(const StepBuffers& x, const StepBuffers& y) {
  const auto agents = static_cast<std::size_t>(x.num_agents);
  const auto obs = agents * static_cast<std::size_t>(x.obs_dim);
  for (int i = 0; i < x.num_envs; ++i) {
    if (!x.done(i)) continue;
    const auto k = static_cast<std::size_t>(i);
    auto same = [k](const auto& a, const auto& b, std::size_t width) {
      return std::equal(a.begin() + static_cast<std::ptrdiff_t>(k * width),
                        a.begin() + static_cast<std::ptrdiff_t>((k + 1) * width),
                        b.begin() + static_cast<std::ptrdiff_t>(k * width));
    };
    if (!same(x.final_observations, y.final_observations, obs))
      return "final observations of copy " + std::to_string(i) + " differ";
    if (!same(x.episode_returns, y.episode_returns, 1) ||
        !same(x.agent_episode_returns, y.agent_episode_returns, agents) ||
        !same(x.episode_lengths, y.episode_lengths, 1))
      return "episode statistics of copy " + std::to_string(i) + " differ";
  }
  return "";
}

ConformanceCheck check_spec(const VectorEnvMaker& make, int n) {
  return run_check("spec", [&] {
    auto env = make(n, std::nullopt);
    const MultiAgentSpec& spec = env->spec();
    const int agents = spec.num_agents();
    expect(!spec.id.empty(), "the spec has no id");
    expect(agents > 0, "the env has no agents");
    expect(spec.observation_spaces.size() == spec.agent_names.size() &&
               spec.action_spaces.size() == spec.agent_names.size(),
           "the spec has " + std::to_string(agents) + " agent names but " +
               std::to_string(spec.observation_spaces.size()) + " observation spaces and " +
               std::to_string(spec.action_spaces.size()) + " action spaces");
    for (int a = 0; a < agents; ++a) {
      const Space& obs = spec.observation_spaces[static_cast<std::size_t>(a)];
      const Space& act = spec.action_spaces[static_cast<std::size_t>(a)];
      expect(obs.kind == SpaceKind::kBox,
             "observations" + of_agent(spec, a) + " must be a float32 Box, got " + obs.describe());
      expect(obs.flat_dim() > 0, "the observation space" + of_agent(spec, a) + " is empty");
      expect(act.flat_dim() > 0, "the action space" + of_agent(spec, a) + " is empty");
      if (act.kind == SpaceKind::kBox)
        expect(act.bounded(),
               "the Box action space" + of_agent(spec, a) + " must be bounded on every component");
    }
    expect(spec.max_episode_steps >= 0, "max_episode_steps is negative");
    spec.validate();  // the remaining rules of multi_agent_env.h (names, the sentinel, state)
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
    if (env->single_agent())
      return spec.observation_spaces[0].describe() + " -> " + spec.action_spaces[0].describe();
    return std::to_string(agents) + " agents in " + std::to_string(spec.agent_groups().size()) +
           " group(s), obs width " + std::to_string(spec.max_obs_dim()) + ", state " +
           std::to_string(spec.state_dim());
  });
}

ConformanceCheck check_reset(const VectorEnvMaker& make, const ConformanceOptions& opt) {
  return run_check("reset", [&] {
    const int n = opt.num_envs;
    auto env = make(n, std::nullopt);
    env->reset(opt.seed);
    const MultiAgentSpec& spec = env->spec();
    const StepBuffers& b = env->buffers();
    const auto expected = static_cast<std::size_t>(n * spec.num_agents()) *
                          static_cast<std::size_t>(spec.max_obs_dim());
    expect(b.observations.size() == expected,
           "reset filled " + std::to_string(b.observations.size()) +
               " observation values, expected " + std::to_string(expected));
    expect_view(spec, b.observations, b.states, b.active, n, "the first observation");
    for (int i = 0; i < n; ++i)
      expect(any_active(b.active, i, spec.num_agents()),
             "copy " + std::to_string(i) + " starts an episode with no active agent");
    if (spec.num_agents() == 1)
      return std::string("first observations lie in the observation space");
    return std::string("first observations and states lie in their spaces, padding is zero");
  });
}

ConformanceCheck check_step_contract(const VectorEnvMaker& make, const ConformanceOptions& opt) {
  return run_check("step contract", [&] {
    const int n = opt.num_envs;
    auto env = make(n, std::nullopt);
    const MultiAgentSpec& spec = env->spec();
    const int agents = spec.num_agents();
    const auto slots = static_cast<std::size_t>(n * agents);
    env->reset(opt.seed);
    RandomJointActions actions(spec, n, opt.seed + 1);
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
            fail("reward of " + slot(spec, i, a) + at + " is " + format_number(b.rewards[k]));
          if (!before[k] && b.rewards[k] != 0.0)
            fail("inactive " + slot(spec, i, a) + " got reward " + format_number(b.rewards[k]) +
                 at);
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
            fail(slot(spec, i, a) + " became active again" + at +
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
            fail("episode return of " + slot(spec, i, a) + at + " is reported as " +
                 format_number(b.agent_episode_returns[k]) + ", its rewards sum to " +
                 format_number(returns[k]));
          returns[k] = 0.0;
        }
        if (!(std::fabs(b.episode_returns[ii] - team) <= 1e-6 * (1 + std::fabs(team))))
          fail(std::string(agents == 1 ? "" : "team ") + "episode return of copy " +
               std::to_string(i) + at + " is reported as " + format_number(b.episode_returns[ii]) +
               ", the rewards sum to " + format_number(team));
        lengths[ii] = 0;
      }
    }
    std::string done = std::to_string(opt.steps) + " steps of " + std::to_string(n) + " copies, " +
                       std::to_string(episodes) + " episodes ended";
    if (agents > 1) done += ", " + std::to_string(deaths) + " agents went inactive";
    return done;
  });
}

ConformanceCheck check_truncation(const VectorEnvMaker& make, const ConformanceOptions& opt) {
  return run_check("truncation", [&] {
    const int n = opt.num_envs;
    const int limit = 5;
    auto env = make(n, limit);
    const int expected = env->spec().max_episode_steps;
    if (expected <= 0) return std::string("no time limit: nothing to truncate");
    env->reset(opt.seed);
    RandomJointActions actions(env->spec(), n, opt.seed + 2);
    std::vector<int> lengths(static_cast<std::size_t>(n), 0);
    int truncations = 0;
    for (int t = 0; t < std::min(opt.steps, 4 * expected); ++t) {
      env->step(actions.next(env->buffers().active));
      const StepBuffers& b = env->buffers();
      for (int i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        ++lengths[k];
        if (lengths[k] == expected && !b.done(i))
          fail("copy " + std::to_string(i) + " was not cut at its time limit of " +
               std::to_string(expected) + " steps");
        if (b.truncated[k] && !b.terminated[k]) {
          if (lengths[k] != expected)
            fail("copy " + std::to_string(i) + " was truncated after " +
                 std::to_string(lengths[k]) + " steps; the limit is " + std::to_string(expected));
          ++truncations;
        }
        if (b.done(i)) lengths[k] = 0;
      }
    }
    return "time limit " + std::to_string(expected) + ": " + std::to_string(truncations) +
           " truncations, each at the limit";
  });
}

ConformanceCheck check_same_seed(const VectorEnvMaker& make, const ConformanceOptions& opt) {
  return run_check("same seed, same episode", [&] {
    const int n = opt.num_envs;
    auto a = make(n, std::nullopt);
    auto b = make(n, std::nullopt);
    a->reset(opt.seed);
    b->reset(opt.seed);
    RandomJointActions actions_a(a->spec(), n, opt.seed + 3), actions_b(b->spec(), n, opt.seed + 3);
    for (int t = 0; t <= opt.steps; ++t) {
      const std::string differ = difference(a->buffers(), b->buffers(), t > 0);
      if (!differ.empty())
        fail(differ + (t == 0 ? " after reset" : " at step " + std::to_string(t - 1)));
      if (t == opt.steps) break;
      a->step(actions_a.next(a->buffers().active));
      b->step(actions_b.next(b->buffers().active));
    }
    return "two envs reset with seed " + std::to_string(opt.seed) + " gave identical batches";
  });
}

ConformanceCheck check_different_seeds(const VectorEnvMaker& make, const ConformanceOptions& opt) {
  return run_check("different seeds, different episodes", [&] {
    const int n = opt.num_envs;
    auto a = make(n, std::nullopt);
    auto b = make(n, std::nullopt);
    a->reset(opt.seed);
    b->reset(opt.seed + 1000);
    RandomJointActions actions_a(a->spec(), n, 7), actions_b(b->spec(), n, 7);
    for (int t = 0; t < 50; ++t) {
      if (a->buffers().observations != b->buffers().observations) return std::string("they differ");
      a->step(actions_a.next(a->buffers().active));
      b->step(actions_b.next(b->buffers().active));
    }
    fail("seeds " + std::to_string(opt.seed) + " and " + std::to_string(opt.seed + 1000) +
         " gave identical episodes; is the seed used?");
  });
}

// A checkpoint resumes exactly: an env loaded into a fresh copy steps as the saved one did.
ConformanceCheck check_save_load(const VectorEnvMaker& make, const ConformanceOptions& opt) {
  return run_check("save and load", [&] {
    const int n = opt.num_envs;
    auto env = make(n, std::nullopt);
    if (!env->can_snapshot())
      return std::string(
          "nothing to check: this env cannot be saved (can_snapshot() is false, as for remote "
          "envs and Box2D worlds)");
    env->reset(opt.seed);
    RandomJointActions actions(env->spec(), n, opt.seed + 5);
    const int steps = std::max(1, opt.steps / 3);
    for (int t = 0; t < steps; ++t) env->step(actions.next(env->buffers().active));
    ByteWriter saved;
    env->save(saved);
    const StepBuffers at_save = env->buffers();
    std::vector<std::vector<std::int64_t>> discrete;
    std::vector<std::vector<float>> continuous;
    std::vector<StepBuffers> expected;
    for (int t = 0; t < steps; ++t) {
      const ActionBatch batch = actions.next(env->buffers().active);
      discrete.emplace_back(batch.discrete.begin(), batch.discrete.end());
      continuous.emplace_back(batch.continuous.begin(), batch.continuous.end());
      env->step(batch);
      expected.push_back(env->buffers());
    }
    auto resumed = make(n, std::nullopt);
    const std::vector<std::uint8_t> bytes = saved.take();
    ByteReader in(bytes, env->spec().id + " saved by the conformance suite");
    resumed->load(in);
    const std::string differ = difference(resumed->buffers(), at_save, false);
    if (!differ.empty()) fail(differ + " between the loaded env and the saved one");
    for (int t = 0; t < steps; ++t) {
      resumed->step(
          {discrete[static_cast<std::size_t>(t)], continuous[static_cast<std::size_t>(t)]});
      const StepBuffers& x = resumed->buffers();
      const StepBuffers& y = expected[static_cast<std::size_t>(t)];
      std::string what = difference(x, y, true);
      if (what.empty()) what = ended_episode_difference(x, y);
      if (!what.empty())
        fail(what + " at step " + std::to_string(t) +
             " after loading; a loaded env must go on as the saved one did");
    }
    return "saved after " + std::to_string(steps) + " steps, loaded into a fresh env: the next " +
           std::to_string(steps) + " steps are identical";
  });
}

// One env and its twin, reset alike, for refusal probes: a bad batch sent to the env must throw
// and leave every copy as it was, so that the env goes on exactly as the twin that never saw it.
// Each probe has fresh envs because a remote session ends at a refused request
// (docs/REMOTE_ENVS.md, "Errors end the session"): such an env asks for a reset instead.
class RefusalProbe {
 public:
  RefusalProbe(const VectorEnvMaker& make, const ConformanceOptions& opt)
      : env_(make(opt.num_envs, std::nullopt)),
        twin_(make(opt.num_envs, std::nullopt)),
        actions_(env_->spec(), opt.num_envs, opt.seed + 4) {
    env_->reset(opt.seed);
    twin_->reset(opt.seed);
    actions_.next(env_->buffers().active);
  }

  const MultiAgentSpec& spec() const { return env_->spec(); }
  const StepBuffers& buffers() const { return env_->buffers(); }
  /// A valid batch for the current step, to spoil.
  std::vector<std::int64_t> discrete() const {
    const ActionBatch b = actions_.last();
    return {b.discrete.begin(), b.discrete.end()};
  }
  std::vector<float> continuous() const {
    const ActionBatch b = actions_.last();
    return {b.continuous.begin(), b.continuous.end()};
  }

  /// Steps both envs with the valid batch and draws the next one.
  void step_both() {
    env_->step(actions_.last());
    twin_->step(actions_.last());
    actions_.next(env_->buffers().active);
  }

  /// Sends `batch`, which must be refused with the buffers untouched; returns what it saw.
  std::string refuse(const ActionBatch& batch, const std::string& what) {
    const StepBuffers before = env_->buffers();
    try {
      env_->step(batch);
    } catch (const std::exception& e) {
      const std::string differ = difference(env_->buffers(), before, false);
      expect(differ.empty(), "a refused batch (" + what + ") changed the buffers: " + differ +
                                 "; no copy may step");
      return what + " -> \"" + e.what() + "\"; ";
    }
    fail("a batch with " + what + " was accepted");
  }

  /// After the refusals: 20 steps identical to the twin (true), or the env asks for a reset at
  /// the first (false).
  bool goes_on_as_twin() {
    for (int t = 0; t < 20; ++t) {
      try {
        env_->step(actions_.last());
      } catch (const std::exception&) {
        if (t > 0) throw;
        return false;
      }
      twin_->step(actions_.last());
      const std::string differ = difference(env_->buffers(), twin_->buffers(), true);
      if (!differ.empty())
        fail(differ + " from a twin env that never saw the refused batch, at step " +
             std::to_string(t) + " after it; a refused batch must leave every copy unchanged");
      actions_.next(env_->buffers().active);
    }
    return true;
  }

 private:
  std::unique_ptr<VectorEnv> env_;
  std::unique_ptr<VectorEnv> twin_;
  RandomJointActions actions_;
};

ConformanceCheck check_refusals(const VectorEnvMaker& make, const ConformanceOptions& opt) {
  return run_check("invalid actions are refused", [&] {
    const int n = opt.num_envs;
    std::string seen;
    int went_on = 0, asked_reset = 0;
    auto finish = [&](RefusalProbe& probe) { ++(probe.goes_on_as_twin() ? went_on : asked_reset); };
    int agents = 1;

    {
      RefusalProbe probe(make, opt);
      agents = probe.spec().num_agents();
      if (probe.spec().has_discrete_actions()) {
        auto d = probe.discrete();
        d.pop_back();
        seen += probe.refuse({d, probe.continuous()}, "one discrete value too few");
      }
      if (probe.spec().has_continuous_actions()) {
        auto c = probe.continuous();
        c.pop_back();
        seen += probe.refuse({probe.discrete(), c}, "one continuous value too few");
      }
      finish(probe);
    }
    // A bad value for the first active agent of the last copy, and of the first: a copy found bad
    // late must not leave the copies before it stepped.
    for (const int copy : n > 1 ? std::vector<int>{n - 1, 0} : std::vector<int>{0}) {
      RefusalProbe probe(make, opt);
      const MultiAgentSpec& spec = probe.spec();
      int target = -1;
      for (int a = 0; a < agents && target < 0; ++a)
        if (probe.buffers().active[static_cast<std::size_t>(copy * agents + a)]) target = a;
      expect(target >= 0, "copy " + std::to_string(copy) + " has no active agent after reset");
      const Space& space = spec.action_spaces[static_cast<std::size_t>(target)];
      const std::size_t k = static_cast<std::size_t>(copy * agents + target) *
                            static_cast<std::size_t>(spec.max_action_dim());
      auto d = probe.discrete();
      auto c = probe.continuous();
      const std::string where = " for " + slot(spec, copy, target);
      if (space.kind == SpaceKind::kDiscrete) {
        d[k] = space.start + space.n;
        seen += probe.refuse({d, c}, "an out-of-range discrete value" + where);
      } else if (space.kind == SpaceKind::kMultiDiscrete) {
        d[k] = space.nvec[0];
        seen += probe.refuse({d, c}, "an out-of-range discrete value" + where);
      } else {
        c[k] = NAN;
        seen += probe.refuse({d, c}, "a NaN value" + where);
      }
      finish(probe);
    }
    // A real action in an inactive agent's slot: step until some agent is inactive. A lone agent
    // is never inactive while its episode runs.
    if (agents > 1) {
      RefusalProbe probe(make, opt);
      const MultiAgentSpec& spec = probe.spec();
      const auto width = static_cast<std::size_t>(spec.max_action_dim());
      bool tested = false;
      for (int t = 0; t < opt.steps && !tested; ++t) {
        const auto& active = probe.buffers().active;
        for (std::size_t k = 0; k < active.size() && !tested; ++k) {
          if (active[k]) continue;
          const Space& space = spec.action_spaces[k % static_cast<std::size_t>(agents)];
          auto d = probe.discrete();
          auto c = probe.continuous();
          if (space.is_discrete())
            d[k * width] = space.kind == SpaceKind::kDiscrete ? space.start : 0;
          else
            c[k * width] = 0.5f * (space.low[0] + space.high[0]);
          seen += probe.refuse({d, c}, "an action for an inactive agent");
          tested = true;
        }
        if (!tested) probe.step_both();
      }
      if (tested)
        finish(probe);
      else
        seen += "(no agent went inactive, so the no-action sentinel was not tested); ";
    }
    std::string after = "after each, the env went on exactly as a twin that never saw it";
    if (asked_reset > 0)
      after += " or (" + std::to_string(asked_reset) + " of " +
               std::to_string(went_on + asked_reset) +
               ") asked for a reset, as a remote session does after a refused request";
    return seen + after;
  });
}

}  // namespace

std::vector<ConformanceCheck> run_conformance(const VectorEnvMaker& make,
                                              const ConformanceOptions& opt) {
  return {check_spec(make, opt.num_envs), check_reset(make, opt),
          check_step_contract(make, opt), check_truncation(make, opt),
          check_same_seed(make, opt),     check_different_seeds(make, opt),
          check_save_load(make, opt),     check_refusals(make, opt)};
}

VectorEnvMaker local_env_maker(const std::string& id, const OptionMap& options, int num_threads) {
  return [=](int num_envs, std::optional<int> time_limit) -> std::unique_ptr<VectorEnv> {
    OptionMap opts = options;
    if (time_limit) opts["max_episode_steps"] = std::to_string(*time_limit);
    return LocalVectorEnv::make(id, opts, num_envs, num_threads);
  };
}

}  // namespace trustrl::envs
