// The multi-agent API: spec helpers, the base class's checks and bookkeeping, and the registry
// (the vector env's team tests are in vector_env_test.cpp). MPE itself is tested in mpe_test.cpp.

#include "envs/multi_agent_env.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "envs/registry.h"
#include "tests/envs/toy_team_env.h"

namespace trustrl::envs {
namespace {

using testing_env::Buffers;
using testing_env::Flaw;
using testing_env::ToyTeamEnv;

// A joint action for ToyTeam: scouts' discrete values, the pilot's continuous ones.
struct ToyAction {
  std::vector<std::int64_t> discrete = {
      1, kNoDiscreteAction, 1, kNoDiscreteAction, kNoDiscreteAction, kNoDiscreteAction};
  std::vector<float> continuous = {kNoContinuousAction,
                                   kNoContinuousAction,
                                   kNoContinuousAction,
                                   kNoContinuousAction,
                                   0.5f,
                                   0.0f};
  JointAction get() const { return {discrete, continuous}; }
};

void expect_error(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing \"" << fragment << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(MultiAgentSpec, PaddedDimsAndGroups) {
  const MultiAgentSpec s = testing_env::toy_team_spec();
  EXPECT_EQ(s.num_agents(), 3);
  EXPECT_EQ(s.max_obs_dim(), 4);
  EXPECT_EQ(s.max_action_dim(), 2);
  EXPECT_EQ(s.state_dim(), 3);
  EXPECT_TRUE(s.has_discrete_actions());
  EXPECT_TRUE(s.has_continuous_actions());
  const auto groups = s.agent_groups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].agents, (std::vector<int>{0, 1}));
  EXPECT_EQ(groups[0].action_space, Space::discrete(3));
  EXPECT_EQ(groups[1].agents, (std::vector<int>{2}));
  EXPECT_EQ(groups[1].observation_space, Space::box(-10, 10, {4}));
}

TEST(MultiAgentSpec, CanonicalNamesAgentsAndSpellsOutAMissingState) {
  MultiAgentSpec s = testing_env::toy_team_spec();
  EXPECT_NE(s.canonical().find("pilot_0:obs=Box(-10, 10, (4,))"), std::string::npos)
      << s.canonical();
  s.state_space = Space{};
  EXPECT_EQ(s.state_dim(), 0);
  EXPECT_NE(s.canonical().find(";state=none;"), std::string::npos) << s.canonical();
  s.validate();
  // The time limit is part of the canonical text (compared with an otherwise identical spec).
  MultiAgentSpec t = testing_env::toy_team_spec();
  t.max_episode_steps = 11;
  EXPECT_NE(testing_env::toy_team_spec().canonical(), t.canonical());
}

TEST(MultiAgentSpec, ValidateNamesTheProblem) {
  auto broken = [](auto change) {
    MultiAgentSpec s = testing_env::toy_team_spec();
    change(s);
    return s;
  };
  expect_error([&] { broken([](MultiAgentSpec& s) { s.agent_names[1] = "scout_0"; }).validate(); },
               "agent name 'scout_0' is used twice");
  expect_error([&] { broken([](MultiAgentSpec& s) { s.action_spaces.pop_back(); }).validate(); },
               "3 agent names but 3 observation spaces and 2 action spaces");
  expect_error(
      [&] {
        broken([](MultiAgentSpec& s) { s.observation_spaces[0] = Space::discrete(2); }).validate();
      },
      "observation space of agent 0 (scout_0) must be a non-empty float32 Box");
  expect_error(
      [&] {
        broken([](MultiAgentSpec& s) { s.action_spaces[1] = Space::discrete(3, -1); }).validate();
      },
      "contains -1, the no-action sentinel");
  expect_error([&] { broken([](MultiAgentSpec& s) { s.agent_names.clear(); }).validate(); },
               "at least one agent");
  // The constructor validates.
  EXPECT_THROW(
      {
        struct Bad : MultiAgentEnv {
          Bad() : MultiAgentEnv(MultiAgentSpec{}) {}
          std::vector<double> get_state() const override { return {}; }
          void reset_impl(const MultiAgentView&) override {}
          MultiAgentStepResult step_impl(const JointAction&, const MultiAgentView&,
                                         std::span<double>) override {
            return {};
          }
          void set_state_impl(std::span<const double>, const MultiAgentView&) override {}
        } bad;
      },
      Error);
}

TEST(MultiAgentEnv, ResetZeroesPaddingAndSetsTheMask) {
  ToyTeamEnv env;
  Buffers b(env.spec());
  env.reset(3, b.view());
  // Scouts' rows are 2 wide in a 4-wide buffer: the garbage the env wrote past them is gone.
  EXPECT_EQ(b.obs[2], 0.0f);
  EXPECT_EQ(b.obs[3], 0.0f);
  EXPECT_EQ(b.obs[6], 0.0f);
  EXPECT_EQ(b.obs[7], 0.0f);
  EXPECT_EQ(b.obs[10], 1.0f);  // the pilot's own third component
  EXPECT_EQ(b.active, (std::vector<std::uint8_t>{1, 1, 1}));
  EXPECT_EQ(std::vector<std::uint8_t>(env.active().begin(), env.active().end()), b.active);
}

TEST(MultiAgentEnv, BadJointActionsAreNamed) {
  ToyTeamEnv env;
  Buffers b(env.spec());
  expect_error([&] { env.step(ToyAction{}.get(), b.view(), b.rewards); }, "call reset() first");
  env.reset(3, b.view());
  {
    ToyAction a;
    a.discrete.pop_back();
    expect_error([&] { env.step(a.get(), b.view(), b.rewards); },
                 "expected a joint action of 6 discrete values ([3 agents, 2 per agent]), got 5");
  }
  {
    ToyAction a;
    a.continuous.clear();
    expect_error([&] { env.step(a.get(), b.view(), b.rewards); }, "6 continuous values");
  }
  {
    ToyAction a;
    a.discrete[2] = 3;
    expect_error([&] { env.step(a.get(), b.view(), b.rewards); },
                 "action 3 of agent 1 (scout_1) is outside Discrete(3)");
  }
  {
    ToyAction a;
    a.discrete[0] = kNoDiscreteAction;  // the sentinel is not an action for an active agent
    expect_error([&] { env.step(a.get(), b.view(), b.rewards); }, "agent 0 (scout_0) is outside");
  }
  {
    ToyAction a;
    a.continuous[5] = NAN;
    expect_error(
        [&] { env.step(a.get(), b.view(), b.rewards); },
        "action component 1 of agent 2 (pilot_0) is nan; actions of active agents must be finite");
  }
  {
    std::vector<double> two(2);
    expect_error([&] { env.step(ToyAction{}.get(), b.view(), two); }, "one per agent, 3");
    std::vector<float> short_obs(5);
    expect_error(
        [&] {
          env.step(ToyAction{}.get(), {short_obs, b.state, b.active}, b.rewards);
        },
        "expected 12 ([3 agents, 4])");
  }
  // Padding values are ignored.
  ToyAction a;
  a.discrete[1] = 99;
  a.continuous[0] = 5.0f;
  EXPECT_NO_THROW(env.step(a.get(), b.view(), b.rewards));
}

TEST(MultiAgentEnv, InactiveAgentsTakeOnlyTheSentinel) {
  ToyTeamEnv env;
  Buffers b(env.spec());
  env.reset(0, b.view());
  // Scout 1 dies after its first step; the others live on.
  env.set_state(std::vector<double>{0, 0, 0, 5, 1, 5, 1, 1, 1, 0}, b.view());
  env.step(ToyAction{}.get(), b.view(), b.rewards);
  EXPECT_EQ(b.active, (std::vector<std::uint8_t>{1, 0, 1}));
  EXPECT_EQ(b.rewards, (std::vector<double>{0.1, -1.0, 0.1}));  // its last reward arrives
  ToyAction a;
  a.discrete[2] = 1;
  expect_error([&] { env.step(a.get(), b.view(), b.rewards); },
               "agent 1 (scout_1) is inactive; its action must be -1 (no action), got 1");
  a.discrete[2] = kNoDiscreteAction;
  env.step(a.get(), b.view(), b.rewards);
  EXPECT_EQ(b.rewards[1], 0.0);
  EXPECT_EQ(b.active, (std::vector<std::uint8_t>{1, 0, 1}));
}

TEST(MultiAgentEnv, InactiveContinuousAgentTakesOnlyNaN) {
  ToyTeamEnv env;
  Buffers b(env.spec());
  env.reset(0, b.view());
  env.set_state(std::vector<double>{0, 0, 0, 5, 5, 1, 1, 1, 1, 0}, b.view());
  env.step(ToyAction{}.get(), b.view(), b.rewards);
  ASSERT_EQ(b.active[2], 0);
  ToyAction a;  // pilot's row still holds 0.5
  expect_error([&] { env.step(a.get(), b.view(), b.rewards); },
               "agent 2 (pilot_0) is inactive; its action must be NaN (no action), got 0.5");
  a.continuous[4] = a.continuous[5] = kNoContinuousAction;
  EXPECT_NO_THROW(env.step(a.get(), b.view(), b.rewards));
}

TEST(MultiAgentEnv, TimeLimitTruncatesAndAllDeadTerminates) {
  ToyTeamEnv env;
  Buffers b(env.spec());
  env.reset(0, b.view());
  env.set_state(std::vector<double>{0, 0, 0, 50, 50, 50, 1, 1, 1, 0}, b.view());
  MultiAgentStepResult r;
  for (int t = 0; t < 10; ++t) {
    EXPECT_FALSE(env.needs_reset());
    r = env.step(ToyAction{}.get(), b.view(), b.rewards);
    EXPECT_EQ(r.truncated, t == 9);
  }
  EXPECT_FALSE(r.terminated);
  EXPECT_TRUE(env.needs_reset());

  env.reset(0, b.view());
  env.set_state(std::vector<double>{0, 0, 0, 1, 1, 1, 1, 1, 1, 0}, b.view());
  r = env.step(ToyAction{}.get(), b.view(), b.rewards);
  EXPECT_TRUE(r.terminated);
  EXPECT_FALSE(r.truncated);
  EXPECT_EQ(b.active, (std::vector<std::uint8_t>{0, 0, 0}));
}

TEST(MultiAgentEnv, StepCheckedStepsAsStepDoes) {
  ToyTeamEnv a, c;
  Buffers ba(a.spec()), bc(c.spec());
  a.reset(5, ba.view());
  c.reset(5, bc.view());
  for (int t = 0; t < 3 && !a.needs_reset(); ++t) {
    const MultiAgentStepResult ra = a.step(ToyAction{}.get(), ba.view(), ba.rewards);
    const MultiAgentStepResult rc = c.step_checked(ToyAction{}.get(), bc.view(), bc.rewards);
    EXPECT_EQ(ba.obs, bc.obs);  // padding zeroed on both paths
    EXPECT_EQ(bc.obs[2], 0.0f);
    EXPECT_EQ(ba.rewards, bc.rewards);
    EXPECT_EQ(ba.active, bc.active);
    EXPECT_EQ(ra.terminated, rc.terminated);
    EXPECT_EQ(ra.truncated, rc.truncated);
    EXPECT_EQ(a.elapsed_steps(), c.elapsed_steps());
  }
}

TEST(MultiAgentEnv, SnapshotRestoresMaskAndRng) {
  ToyTeamEnv a, c;
  Buffers ba(a.spec()), bc(c.spec());
  a.reset(9, ba.view());
  a.step(ToyAction{}.get(), ba.view(), ba.rewards);
  ByteWriter w;
  a.save(w);
  ByteReader r(w.bytes(), "snapshot");
  c.load(r, bc.view());
  EXPECT_EQ(ba.obs, bc.obs);
  EXPECT_EQ(ba.active, bc.active);
  EXPECT_EQ(a.elapsed_steps(), c.elapsed_steps());
  a.reset(std::nullopt, ba.view());  // continues the RNG stream
  c.reset(std::nullopt, bc.view());
  EXPECT_EQ(ba.obs, bc.obs);
  EXPECT_EQ(a.get_state(), c.get_state());
}

// --- registry ----------------------------------------------------------------------------

TEST(MultiAgentRegistry, HasTheMpeIds) {
  const auto ids = EnvRegistry::global().ids(/*multi_agent=*/true);
  for (const char* id : {"simple_spread_v3", "simple_speaker_listener_v4"})
    EXPECT_NE(std::find(ids.begin(), ids.end(), id), ids.end()) << id;
}

TEST(MultiAgentRegistry, UnknownIdAndOptionAreNamed) {
  expect_error([] { make_multi_agent("simple_spread_v2"); }, "did you mean 'simple_spread_v3'");
  expect_error([] { make_multi_agent("simple_spread_v3", {{"N", "4"}}); }, "unknown option 'N'");
  expect_error(
      [] {
        make_multi_agent("simple_spread_v3", {{"max_episode_steps", "0"}});
      },
      "max_episode_steps");
}

TEST(MultiAgentRegistry, TimeLimitOverride) {
  EXPECT_EQ(make_multi_agent("simple_spread_v3")->spec().max_episode_steps, 25);
  EXPECT_EQ(
      make_multi_agent("simple_spread_v3", {{"max_episode_steps", "7"}})->spec().max_episode_steps,
      7);
}

}  // namespace
}  // namespace trustrl::envs
