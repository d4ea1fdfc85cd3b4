// A plain env seen as one agent must behave exactly as the plain env: same seed, same actions,
// same observations, rewards and flags, bit for bit, through resets and the time limit; its spec
// keeps the plain env's identity; save/load carries the wrapped env's own RNG in the plain env's
// own bytes.

#include "envs/single_agent_adapter.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "envs/registry.h"

namespace trustrl::envs {
namespace {

// Steps a plain env and its adapted twin with the same random actions, resetting both when an
// episode ends; returns the number of episodes that ended. Fails at the first difference.
int expect_same_run(Env& plain, MultiAgentEnv& adapted, std::uint64_t seed, int steps) {
  const Space& space = plain.spec().action_space;
  const auto obs_dim = static_cast<std::size_t>(plain.obs_dim());
  std::vector<float> obs(obs_dim), view_obs(obs_dim);
  std::vector<std::uint8_t> active(1);
  std::vector<double> rewards(1);
  const MultiAgentView view{view_obs, {}, active};
  plain.reset(seed, obs);
  adapted.reset(seed, view);
  EXPECT_EQ(obs, view_obs) << "first observation";
  Rng rng(seed + 7);
  std::vector<std::int64_t> discrete(space.is_discrete() ? space.flat_dim() : 0);
  std::vector<float> continuous(space.is_discrete() ? 0 : space.flat_dim());
  int episodes = 0;
  for (int t = 0; t < steps; ++t) {
    if (space.is_discrete())
      space.sample(rng, std::span(discrete));
    else
      space.sample(rng, std::span(continuous));
    const StepResult r = plain.step({discrete, continuous}, obs);
    const MultiAgentStepResult m = adapted.step({discrete, continuous}, view, rewards);
    const std::string at = plain.spec().id + " step " + std::to_string(t);
    if (obs != view_obs || r.reward != rewards[0] || r.terminated != m.terminated ||
        r.truncated != m.truncated || active[0] != 1) {
      ADD_FAILURE() << at << ": reward " << r.reward << " vs " << rewards[0] << ", terminated "
                    << r.terminated << " vs " << m.terminated << ", truncated " << r.truncated
                    << " vs " << m.truncated << ", observations equal: " << (obs == view_obs);
      return episodes;
    }
    if (r.terminated || r.truncated) {
      ++episodes;
      plain.reset(std::nullopt, obs);
      adapted.reset(std::nullopt, view);
      if (obs != view_obs) {
        ADD_FAILURE() << at << ": the next episode's first observation differs";
        return episodes;
      }
    }
  }
  return episodes;
}

class EveryPlainEnv : public testing::TestWithParam<std::string> {};

TEST_P(EveryPlainEnv, BehavesExactlyAsThePlainEnv) {
  // A short time limit so that truncation and resets without a seed are crossed too.
  const OptionMap options{{"max_episode_steps", "40"}};
  auto plain = make(GetParam(), options);
  auto adapted = make_multi_agent(GetParam(), options);
  EXPECT_GE(expect_same_run(*plain, *adapted, 3, 300), 7);
}

TEST_P(EveryPlainEnv, KeepsThePlainSpecAsItsIdentity) {
  auto plain = make(GetParam());
  auto adapted = make_multi_agent(GetParam());
  const MultiAgentSpec& spec = adapted->spec();
  ASSERT_EQ(spec.num_agents(), 1);
  EXPECT_EQ(spec.observation_spaces[0], plain->spec().observation_space);
  EXPECT_EQ(spec.action_spaces[0], plain->spec().action_space);
  EXPECT_EQ(spec.state_dim(), 0);
  EXPECT_EQ(spec.max_episode_steps, plain->spec().max_episode_steps);
  EXPECT_EQ(spec.reward_threshold, plain->spec().reward_threshold);
  ASSERT_TRUE(spec.single_agent.has_value());
  EXPECT_EQ(spec.canonical(), plain->spec().canonical());
  // A changed time limit is part of the identity, on both sides.
  adapted->set_time_limit(7);
  plain->set_time_limit(7);
  EXPECT_EQ(spec.canonical(), plain->spec().canonical());
  EXPECT_NE(spec.canonical(), make(GetParam())->spec().canonical());
}

INSTANTIATE_TEST_SUITE_P(Registered, EveryPlainEnv,
                         testing::ValuesIn(EnvRegistry::global().ids(/*multi_agent=*/false)),
                         [](const testing::TestParamInfo<std::string>& param) {
                           std::string n = param.param;
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

TEST(SingleAgentAdapter, SaveAndLoadContinueExactly) {
  // Pendulum draws its initial state from the env's RNG at every reset: a restored copy must
  // carry that RNG to start its next episode as the original does.
  auto a = make_multi_agent("Pendulum-v1", {{"max_episode_steps", "5"}});
  std::vector<float> obs(3), obs_b(3);
  std::vector<std::uint8_t> active(1), active_b(1);
  std::vector<double> reward(1);
  const MultiAgentView view{obs, {}, active}, view_b{obs_b, {}, active_b};
  a->reset(11, view);
  const std::vector<float> torque{0.5f};
  a->step({{}, torque}, view, reward);
  ByteWriter out;
  a->save(out);
  auto b = make_multi_agent("Pendulum-v1", {{"max_episode_steps", "5"}});
  b->reset(99, view_b);
  ByteReader in(out.bytes(), "an adapted Pendulum snapshot");
  b->load(in, view_b);
  EXPECT_EQ(obs, obs_b);
  EXPECT_EQ(b->elapsed_steps(), 1);
  for (int t = 0; t < 12; ++t) {
    double ra = 0, rb = 0;
    std::vector<double> rew_b(1);
    const auto x = a->step({{}, torque}, view, reward);
    ra = reward[0];
    const auto y = b->step({{}, torque}, view_b, rew_b);
    rb = rew_b[0];
    ASSERT_EQ(obs, obs_b) << "step " << t;
    ASSERT_EQ(ra, rb) << "step " << t;
    ASSERT_EQ(x.truncated, y.truncated) << "step " << t;
    if (x.truncated) {
      a->reset(std::nullopt, view);
      b->reset(std::nullopt, view_b);
      ASSERT_EQ(obs, obs_b) << "the episode after the restore starts differently";
    }
  }
}

TEST(SingleAgentAdapter, SavesThePlainEnvsOwnBytes) {
  auto plain = make("Pendulum-v1");
  auto adapted = make_multi_agent("Pendulum-v1");
  std::vector<float> obs(3), obs_a(3);
  std::vector<std::uint8_t> active(1);
  std::vector<double> reward(1);
  const MultiAgentView view{obs_a, {}, active};
  plain->reset(4, obs);
  adapted->reset(4, view);
  const std::vector<float> torque{-1.0f};
  for (int t = 0; t < 3; ++t) {
    plain->step({{}, torque}, obs);
    adapted->step({{}, torque}, view, reward);
  }
  ByteWriter a, b;
  plain->save(a);
  adapted->save(b);
  EXPECT_EQ(a.bytes(), b.bytes());
}

TEST(SingleAgentAdapter, ARestoreAfterTheTimeLimitStillNeedsAReset) {
  // The wrapped env does not see the wrapper's limit, so its bytes say "running"; the restored
  // wrapper must still know that the limit ended the episode.
  auto a = make_multi_agent("CartPole-v1", {{"max_episode_steps", "2"}});
  std::vector<float> obs(4);
  std::vector<std::uint8_t> active(1);
  std::vector<double> reward(1);
  const MultiAgentView view{obs, {}, active};
  a->reset(1, view);
  const std::vector<std::int64_t> action{1};
  a->step({action, {}}, view, reward);
  ASSERT_TRUE(a->step({action, {}}, view, reward).truncated);
  ByteWriter out;
  a->save(out);
  auto b = make_multi_agent("CartPole-v1", {{"max_episode_steps", "2"}});
  ByteReader in(out.bytes(), "an adapted CartPole snapshot");
  b->load(in, view);
  EXPECT_EQ(b->elapsed_steps(), 2);
  EXPECT_TRUE(b->needs_reset());
  EXPECT_EQ(active, (std::vector<std::uint8_t>{1}));
  EXPECT_THROW(b->step({action, {}}, view, reward), Error);
}

TEST(SingleAgentAdapter, RefusesWhatThePlainEnvRefuses) {
  auto env = make_multi_agent("CartPole-v1");
  std::vector<float> obs(4);
  std::vector<std::uint8_t> active(1);
  std::vector<double> reward(1);
  const MultiAgentView view{obs, {}, active};
  const std::vector<std::int64_t> action{1};
  EXPECT_THROW(env->step({action, {}}, view, reward), Error);  // no episode yet
  env->reset(0, view);
  const std::vector<std::int64_t> outside{2};
  EXPECT_THROW(env->step({outside, {}}, view, reward), Error);
  EXPECT_NO_THROW(env->step({action, {}}, view, reward));
}

TEST(SingleAgentAdapter, AllowsDiscreteActionsBelowZero) {
  // The -1 "no action" sentinel concerns agents that can go inactive; a plain env's one agent
  // never does, so Discrete(3, start=-1) (Gymnasium allows it) stays servable.
  EnvSpec spec;
  spec.id = "Shifted-v0";
  spec.observation_space = Space::box({-1.0f}, {1.0f});
  spec.action_space = Space::discrete(3, -1);
  EXPECT_NO_THROW(one_agent_spec(spec).validate());
  MultiAgentSpec team = one_agent_spec(spec);
  team.single_agent.reset();
  EXPECT_THROW(team.validate(), Error);
}

TEST(Registry, OneRegistryHoldsBothKinds) {
  const EnvRegistry& registry = EnvRegistry::global();
  EXPECT_TRUE(registry.is_multi_agent("simple_spread_v3"));
  EXPECT_FALSE(registry.is_multi_agent("CartPole-v1"));
  EXPECT_FALSE(registry.is_multi_agent("NoSuchEnv-v0"));
  const auto all = registry.ids(), plain = registry.ids(false), multi = registry.ids(true);
  EXPECT_EQ(all.size(), plain.size() + multi.size());
  EXPECT_NE(std::find(plain.begin(), plain.end(), "CartPole-v1"), plain.end());
  EXPECT_EQ(std::find(plain.begin(), plain.end(), "simple_spread_v3"), plain.end());
  try {
    make("simple_spread_v3");
    FAIL() << "a multi-agent id made a plain env";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("multi-agent env"), std::string::npos) << e.what();
  }
  EnvRegistry local;
  EXPECT_THROW(local.add({"Both-v0", "", [](EnvOptions&) { return make("CartPole-v1"); },
                          [](EnvOptions&) { return make_multi_agent("CartPole-v1"); }}),
               Error);
  EXPECT_THROW(local.add({"Neither-v0", "", {}, {}}), Error);
}

}  // namespace
}  // namespace trustrl::envs
