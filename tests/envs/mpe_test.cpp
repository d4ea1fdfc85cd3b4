// MPE: particle-world physics, simple_spread_v3 and simple_speaker_listener_v4 on hand-made
// states (set_state), both reward conventions, spaces, bad input and determinism.

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/error.h"
#include "envs/mpe/particle_world.h"
#include "envs/mpe/simple_speaker_listener.h"
#include "envs/mpe/simple_spread.h"
#include "envs/registry.h"
#include "envs/vector_env.h"

namespace trustrl::envs {
namespace {

using mpe::Entity;
using mpe::ParticleWorld;
using mpe::Vec2;

// One MPE env with its buffers.
struct Harness {
  explicit Harness(const std::string& id, const OptionMap& options = {})
      : env(make_multi_agent(id, options)) {
    const MultiAgentSpec& s = env->spec();
    obs.resize(static_cast<std::size_t>(s.num_agents() * s.max_obs_dim()));
    state.resize(static_cast<std::size_t>(s.state_dim()));
    active.resize(static_cast<std::size_t>(s.num_agents()));
    rewards.resize(static_cast<std::size_t>(s.num_agents()));
    env->reset(0, view());
  }
  MultiAgentView view() { return {obs, state, active}; }
  void set(const std::vector<double>& s) { env->set_state(s, view()); }
  MultiAgentStepResult step(std::vector<std::int64_t> discrete) {
    return env->step({discrete, {}}, view(), rewards);
  }
  MultiAgentStepResult step_continuous(std::vector<float> continuous) {
    return env->step({{}, continuous}, view(), rewards);
  }
  std::vector<float> obs_of(int a) const {
    const auto w = static_cast<std::size_t>(env->spec().max_obs_dim());
    const auto d = static_cast<std::size_t>(env->spec().obs_dim(a));
    return {obs.begin() + static_cast<std::ptrdiff_t>(a * w),
            obs.begin() + static_cast<std::ptrdiff_t>(a * w + d)};
  }
  std::unique_ptr<MultiAgentEnv> env;
  std::vector<float> obs, state;
  std::vector<std::uint8_t> active;
  std::vector<double> rewards;
};

void expect_error(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing \"" << fragment << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

void expect_floats_near(const std::vector<float>& got, const std::vector<double>& want,
                        double tol = 1e-6) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "index " << i;
}

// Independent re-statement of the reward ingredients, for post-step states.
// Layout (simple_spread get_state): per agent pos.x, pos.y, vel.x, vel.y; per landmark pos.
struct SpreadGeometry {
  SpreadGeometry(const std::vector<double>& s, int n) {
    for (int i = 0; i < n; ++i) agents.push_back({s[4 * i], s[4 * i + 1]});
    for (int l = 0; l < n; ++l) landmarks.push_back({s[4 * n + 2 * l], s[4 * n + 2 * l + 1]});
  }
  static double dist(Vec2 a, Vec2 b) { return std::hypot(a.x - b.x, a.y - b.y); }
  double coverage() const {
    double g = 0;
    for (auto l : landmarks) {
      double m = 1e300;
      for (auto a : agents) m = std::min(m, dist(a, l));
      g -= m;
    }
    return g;
  }
  bool collide(int i, int j) const {
    return dist(agents[static_cast<std::size_t>(i)], agents[static_cast<std::size_t>(j)]) < 0.3;
  }
  int pairs() const {
    int p = 0;
    for (std::size_t i = 0; i < agents.size(); ++i)
      for (std::size_t j = i + 1; j < agents.size(); ++j)
        p += collide(static_cast<int>(i), static_cast<int>(j));
    return p;
  }
  std::vector<Vec2> agents, landmarks;
};

// --- spaces --------------------------------------------------------------------------------

TEST(SimpleSpread, SpacesMatchPettingZoo) {
  Harness h("simple_spread_v3");
  const MultiAgentSpec& s = h.env->spec();
  EXPECT_EQ(s.agent_names, (std::vector<std::string>{"agent_0", "agent_1", "agent_2"}));
  const float inf = INFINITY;
  for (int a = 0; a < 3; ++a) {
    EXPECT_EQ(s.observation_spaces[static_cast<std::size_t>(a)], Space::box(-inf, inf, {18}));
    EXPECT_EQ(s.action_spaces[static_cast<std::size_t>(a)], Space::discrete(5));
  }
  EXPECT_EQ(s.state_space, Space::box(-inf, inf, {54}));
  EXPECT_EQ(s.max_episode_steps, 25);
  EXPECT_EQ(s.agent_groups().size(), 1u);

  Harness c("simple_spread_v3", {{"continuous_actions", "true"}, {"n", "5"}});
  EXPECT_EQ(c.env->spec().action_spaces[4], Space::box(0, 1, {5}));
  EXPECT_EQ(c.env->spec().observation_spaces[0], Space::box(-inf, inf, {30}));
  EXPECT_EQ(c.env->spec().state_dim(), 150);
}

TEST(SimpleSpeakerListener, SpacesMatchPettingZoo) {
  const float inf = INFINITY;
  Harness h("simple_speaker_listener_v4");
  const MultiAgentSpec& s = h.env->spec();
  EXPECT_EQ(s.agent_names, (std::vector<std::string>{"speaker_0", "listener_0"}));
  EXPECT_EQ(s.observation_spaces[0], Space::box(-inf, inf, {3}));
  EXPECT_EQ(s.observation_spaces[1], Space::box(-inf, inf, {11}));
  EXPECT_EQ(s.action_spaces[0], Space::discrete(3));
  EXPECT_EQ(s.action_spaces[1], Space::discrete(5));
  EXPECT_EQ(s.state_dim(), 14);
  EXPECT_EQ(s.max_obs_dim(), 11);
  EXPECT_EQ(s.agent_groups().size(), 2u);  // heterogeneous: one actor each
  Harness c("simple_speaker_listener_v4", {{"continuous_actions", "true"}});
  EXPECT_EQ(c.env->spec().action_spaces[0], Space::box(0, 1, {3}));
  EXPECT_EQ(c.env->spec().action_spaces[1], Space::box(0, 1, {5}));
  EXPECT_EQ(c.env->spec().max_action_dim(), 5);
}

// --- simple_spread observations and rewards ------------------------------------------------

// Agents at (0, 0), (1, 0), (0, 1); landmarks at (0, 0.5), (1, 0), (0, -2). Nearest distances to
// the landmarks: 0.5, 0, 2, so G = -2.5; the closest pair of agents is 1 apart: no collision.
const std::vector<double> kApart = {0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0.5, 1, 0, 0, -2};

TEST(SimpleSpread, ObservationLayoutAndStateAsInTheReference) {
  Harness h("simple_spread_v3");
  std::vector<double> s = kApart;
  s[2] = 0.1;  // agent 0's velocity
  s[3] = -0.2;
  h.set(s);
  // [vel, pos, landmarks - pos, others - pos, others' comm (silent: 0)]
  expect_floats_near(h.obs_of(0), {0.1, -0.2, 0, 0, 0, 0.5, 1, 0, 0, -2, 1, 0, 0, 1, 0, 0, 0, 0});
  expect_floats_near(h.obs_of(1), {0, 0, 1, 0, -1, 0.5, 0, 0, -1, -2, -1, 0, -1, 1, 0, 0, 0, 0});
  // The state is the three observations back to back.
  std::vector<float> concat;
  for (int a = 0; a < 3; ++a) {
    const auto o = h.obs_of(a);
    concat.insert(concat.end(), o.begin(), o.end());
  }
  EXPECT_EQ(h.state, concat);
  EXPECT_EQ(h.env->get_state(), s);
}

TEST(SimpleSpread, PettingZooRewardMixesGlobalAndLocal) {
  for (const auto& [ratio, want] : std::vector<std::pair<std::string, double>>{
           {"0.5", -1.25}, {"0", -2.5}, {"1", 0.0}, {"0.2", -2.0}}) {
    Harness h("simple_spread_v3", {{"local_ratio", ratio}});
    h.set(kApart);
    h.step({0, 0, 0});
    for (double r : h.rewards) EXPECT_NEAR(r, want, 1e-9) << "local_ratio " << ratio;
  }
}

TEST(SimpleSpread, MappoRewardIsTheTeamSumWithSelfCollisions) {
  Harness h("simple_spread_v3", {{"reward", "mappo"}});
  h.set(kApart);
  h.step({0, 0, 0});
  // Each agent's raw reward is G - 1 (it collides with itself), the team sum 3 * (G - 1).
  for (double r : h.rewards) EXPECT_NEAR(r, 3 * (-2.5) - 3, 1e-9);
}

// Agents 0 and 1 overlap and move into each other slowly enough to still overlap after the step
// (the default PettingZoo order moves them 0.1 with their velocity before the step: 0.1 apart
// then); agent 2 is far away.
const std::vector<double> kOnePair = {0, 0, 1, 0, 0.1, 0, -1, 0, 3, 3, 0, 0, 0, 0.5, 1, 0, 0, -2};
// All three agents overlap and move toward their centre (each passes it by 0.05).
const std::vector<double> kThreeWay = {0.05,    0,   -1,    0, -0.025, 0.0433, 0.5, -0.866, -0.025,
                                       -0.0433, 0.5, 0.866, 0, 0.5,    1,      0,   0,      -2};

TEST(SimpleSpread, PettingZooCollisionPenaltyExcludesSelf) {
  {
    Harness h("simple_spread_v3");
    h.set(kOnePair);
    h.step({0, 0, 0});
    const SpreadGeometry geo(h.env->get_state(), 3);
    ASSERT_TRUE(geo.collide(0, 1));
    ASSERT_EQ(geo.pairs(), 1);
    const double g = geo.coverage();
    EXPECT_NEAR(h.rewards[0], 0.5 * g - 0.5, 1e-9);
    EXPECT_NEAR(h.rewards[1], 0.5 * g - 0.5, 1e-9);
    EXPECT_NEAR(h.rewards[2], 0.5 * g, 1e-9);
  }
  {
    Harness h("simple_spread_v3");
    h.set(kThreeWay);
    h.step({0, 0, 0});
    const SpreadGeometry geo(h.env->get_state(), 3);
    ASSERT_EQ(geo.pairs(), 3);
    for (double r : h.rewards) EXPECT_NEAR(r, 0.5 * geo.coverage() - 1.0, 1e-9);
  }
}

TEST(SimpleSpread, MappoRewardArithmetic) {
  // Every agent gets N * G - N - 2P: the self-collisions give -N, each colliding pair -2.
  for (const auto* start : {&kApart, &kOnePair, &kThreeWay}) {
    Harness h("simple_spread_v3", {{"reward", "mappo"}});
    h.set(*start);
    h.step({0, 0, 0});
    const SpreadGeometry geo(h.env->get_state(), 3);
    const double want = 3 * geo.coverage() - 3 - 2 * geo.pairs();
    for (double r : h.rewards) EXPECT_NEAR(r, want, 1e-9);
  }
  // The same worlds under both conventions: team reward per step differs by exactly this much.
  Harness p("simple_spread_v3"), m("simple_spread_v3", {{"reward", "mappo"}});
  p.set(kOnePair);
  m.set(kOnePair);
  p.step({0, 0, 0});
  m.step({0, 0, 0});
  const SpreadGeometry geo(p.env->get_state(), 3);
  const double pz_team = p.rewards[0] + p.rewards[1] + p.rewards[2];  // 1.5 G - 1
  EXPECT_NEAR(pz_team, 1.5 * geo.coverage() - 1.0, 1e-9);
  EXPECT_NEAR(m.rewards[0], 2 * pz_team - 3, 1e-9);  // 3G - 5 = 2 (1.5G - 1) - 3
}

TEST(SimpleSpread, HelpersCountCollisionsWithAndWithoutSelf) {
  mpe::SimpleSpread env(mpe::SimpleSpreadConfig{});
  std::vector<float> obs(54), state(54);
  std::vector<std::uint8_t> active(3);
  env.reset(0, {obs, state, active});
  env.set_state(kOnePair, {obs, state, active});
  EXPECT_EQ(env.collisions(0, false), 1);
  EXPECT_EQ(env.collisions(0, true), 2);
  EXPECT_EQ(env.collisions(2, false), 0);
  EXPECT_EQ(env.collisions(2, true), 1);
  EXPECT_NEAR(env.global_reward(), -(0.5 + 0.9 + 2), 1e-12);  // agent 1 is 0.9 from landmark 1
}

// --- physics -------------------------------------------------------------------------------

TEST(ParticleWorld, DampingAndIntegration) {
  Harness h("simple_spread_v3");
  std::vector<double> s = kApart;
  s[2] = 1.0;
  s[3] = 0.5;
  h.set(s);
  h.step({0, 0, 0});
  const auto after = h.env->get_state();
  // PettingZoo's order (the default): p += v dt with the old v (dt = 0.1), then v = 0.75 v
  // (damping 0.25).
  EXPECT_NEAR(after[2], 0.75, 1e-12);
  EXPECT_NEAR(after[3], 0.375, 1e-12);
  EXPECT_NEAR(after[0], 0.1, 1e-12);
  EXPECT_NEAR(after[1], 0.05, 1e-12);
  h.step({0, 0, 0});
  EXPECT_NEAR(h.env->get_state()[2], 0.5625, 1e-12);
  EXPECT_NEAR(h.env->get_state()[0], 0.175, 1e-12);

  // The original MPE order: v = 0.75 v first, then p += v dt with the new v.
  Harness o("simple_spread_v3", {{"integration", "original_mpe"}});
  o.set(s);
  o.step({0, 0, 0});
  const auto original = o.env->get_state();
  EXPECT_NEAR(original[2], 0.75, 1e-12);
  EXPECT_NEAR(original[3], 0.375, 1e-12);
  EXPECT_NEAR(original[0], 0.075, 1e-12);
  EXPECT_NEAR(original[1], 0.0375, 1e-12);
}

TEST(ParticleWorld, DiscreteAndContinuousMoves) {
  // Action force 5 (sensitivity) for dt 0.1 from rest: v = 0.5 along the action's axis.
  const std::vector<std::pair<std::int64_t, Vec2>> moves = {
      {0, {0, 0}}, {1, {-0.5, 0}}, {2, {0.5, 0}}, {3, {0, -0.5}}, {4, {0, 0.5}}};
  for (const auto& [action, v] : moves) {
    Harness h("simple_spread_v3");
    h.set(kApart);
    h.step({action, 0, 0});
    const auto s = h.env->get_state();
    EXPECT_NEAR(s[2], v.x, 1e-12) << action;
    EXPECT_NEAR(s[3], v.y, 1e-12) << action;
    EXPECT_EQ(s[0], 0.0) << action;  // PettingZoo's order moved it with its old velocity, 0
    h.step({0, 0, 0});
    EXPECT_NEAR(h.env->get_state()[0], v.x * 0.1, 1e-12) << action;
    Harness o("simple_spread_v3", {{"integration", "original_mpe"}});
    o.set(kApart);
    o.step({action, 0, 0});
    EXPECT_NEAR(o.env->get_state()[0], v.x * 0.1, 1e-12) << action;  // moved with the new one
  }
  Harness c("simple_spread_v3", {{"continuous_actions", "true"}});
  c.set(kApart);
  // u = (a2 - a1, a4 - a3) * 5; out-of-range values are clipped to [0, 1] first.
  c.step_continuous({0, 0.3f, 0.8f, 0.1f, 0.6f, /**/ 0, -5, 2, 0, 0, /**/ 1, 0, 0, 0, 0});
  const auto s = c.env->get_state();
  EXPECT_NEAR(s[2], 0.25, 1e-6);
  EXPECT_NEAR(s[3], 0.25, 1e-6);
  EXPECT_NEAR(s[6], 0.5, 1e-12);
  EXPECT_NEAR(s[7], 0.0, 1e-12);
  EXPECT_NEAR(s[10], 0.0, 1e-12);  // a[0] is the no-op component
}

TEST(ParticleWorld, MaxSpeedMassAndAccel) {
  ParticleWorld world(0, mpe::Integration::kOriginalMpe);
  Entity fast;
  fast.movable = true;
  fast.silent = true;
  fast.max_speed = 0.2;
  world.add_agent(fast);
  Entity heavy;
  heavy.movable = true;
  heavy.silent = true;
  heavy.mass = 2.0;
  heavy.pos = {10, 10};
  world.add_agent(heavy);
  Entity quick;
  quick.movable = true;
  quick.silent = true;
  quick.accel = 3.0;
  quick.pos = {-10, -10};
  world.add_agent(quick);
  world.agents()[0].action_u = {3.0, 4.0};  // v = (0.3, 0.4), speed 0.5 > 0.2
  world.set_action(1, std::int64_t{2});
  world.set_action(2, std::int64_t{4});
  world.step();
  EXPECT_NEAR(world.agents()[0].vel.x, 0.12, 1e-12);  // rescaled to 0.2, direction kept
  EXPECT_NEAR(world.agents()[0].vel.y, 0.16, 1e-12);
  EXPECT_NEAR(world.agents()[0].pos.x, 0.012, 1e-12);  // moved with the new, capped velocity
  EXPECT_NEAR(world.agents()[1].vel.x, 0.25, 1e-12);   // force / mass
  EXPECT_NEAR(world.agents()[2].vel.y, 0.3, 1e-12);    // accel replaces the sensitivity of 5
}

TEST(ParticleWorld, SoftContactForce) {
  // Two agents of radius 0.15 whose centres are 0.2 apart: penetration k * softplus(100) with
  // k = 1e-3, about 0.1, so a force of about 100 * 0.1 = 10 pushes them apart (dv = 1).
  Harness h("simple_spread_v3");
  h.set({0, 0, 0, 0, 0.2, 0, 0, 0, 5, 5, 0, 0, 0, 0, 0, 0, 0, 0});
  h.step({0, 0, 0});
  const auto s = h.env->get_state();
  const double penetration = 1e-3 * (100 + std::log1p(std::exp(-100.0)));
  EXPECT_NEAR(s[2], -100 * penetration * 0.1, 1e-12);
  EXPECT_NEAR(s[6], +100 * penetration * 0.1, 1e-12);
  EXPECT_NEAR(s[3], 0.0, 1e-12);
  EXPECT_NEAR(s[10], 0.0, 1e-12);  // agent 2 is far: nothing
}

TEST(ParticleWorld, LandmarksDoNotCollideAndCoincidentCentresStayFinite) {
  Harness h("simple_spread_v3");
  // Agent 0 sits on landmark 0; agents 1 and 2 share one centre.
  h.set({0, 0.5, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0.5, 1, 0, 0, -2});
  h.step({0, 0, 0});
  const auto s = h.env->get_state();
  for (double x : s) EXPECT_TRUE(std::isfinite(x));
  EXPECT_EQ(s[2], 0.0);
  EXPECT_EQ(s[3], 0.0);
  for (double r : h.rewards) EXPECT_TRUE(std::isfinite(r));
}

// --- simple_speaker_listener ---------------------------------------------------------------

// Goal landmark 1; speaker at (0.3, 0.3) silent so far; listener at (0.5, -0.5) at rest;
// landmarks at (0, 0), (1, 1), (-1, 0.5).
const std::vector<double> kSpeakerListener = {1, 0.3, 0.3, 0, 0, 0, 0.5, -0.5,
                                              0, 0,   0,   0, 1, 1, -1,  0.5};

TEST(SimpleSpeakerListener, ObservationsAndUtterances) {
  Harness h("simple_speaker_listener_v4");
  h.set(kSpeakerListener);
  expect_floats_near(h.obs_of(0), {0.15, 0.65, 0.15});  // the goal's colour
  expect_floats_near(h.obs_of(1), {0, 0, -0.5, 0.5, 0.5, 1.5, -1.5, 1.0, 0, 0, 0});
  h.step({2, 4});  // say word 2; listener moves +y
  auto listener = h.obs_of(1);
  EXPECT_NEAR(listener[1], 0.5, 1e-6);  // v = 0.5 along +y
  EXPECT_EQ(std::vector<float>(listener.begin() + 8, listener.end()),
            (std::vector<float>{0, 0, 1}));
  // The state is the speaker's observation followed by the listener's.
  std::vector<float> concat = h.obs_of(0);
  concat.insert(concat.end(), listener.begin(), listener.end());
  EXPECT_EQ(h.state, concat);
  // The speaker cannot move.
  EXPECT_EQ(h.env->get_state()[1], 0.3);

  Harness c("simple_speaker_listener_v4", {{"continuous_actions", "true"}});
  c.set(kSpeakerListener);
  c.step_continuous({0.2f, 1.5f, 0.4f, kNoContinuousAction, kNoContinuousAction, 0, 0, 0, 0, 0});
  listener = c.obs_of(1);
  expect_floats_near({listener.begin() + 8, listener.end()}, {0.2, 1.0, 0.4});  // clipped to [0, 1]
}

TEST(SimpleSpeakerListener, RewardIsMinusSquaredDistanceShared) {
  for (const auto& [convention, scale] :
       std::vector<std::pair<std::string, double>>{{"pettingzoo", 1.0}, {"mappo", 2.0}}) {
    Harness h("simple_speaker_listener_v4", {{"reward", convention}});
    h.set(kSpeakerListener);
    h.step({0, 0});
    // The listener did not move; the goal (1, 1) is (0.5, 1.5) away: d2 = 2.5.
    EXPECT_NEAR(h.rewards[0], -2.5 * scale, 1e-12) << convention;
    EXPECT_EQ(h.rewards[0], h.rewards[1]);
  }
}

TEST(SimpleSpeakerListener, ResetDrawsEveryGoal) {
  Harness h("simple_speaker_listener_v4");
  std::set<int> goals;
  for (std::uint64_t seed = 0; seed < 60; ++seed) {
    h.env->reset(seed, h.view());
    const auto s = h.env->get_state();
    goals.insert(static_cast<int>(s[0]));
    const auto colour = h.obs_of(0);
    const double* want = mpe::SimpleSpeakerListener::kLandmarkColors[static_cast<int>(s[0])];
    EXPECT_NEAR(colour[0], want[0], 1e-6);
    EXPECT_NEAR(colour[2], want[2], 1e-6);
    for (double x : {s[6], s[7], s[10], s[15]}) EXPECT_LE(std::fabs(x), 1.0);
  }
  EXPECT_EQ(goals, (std::set<int>{0, 1, 2}));
}

// --- episodes, masks, options, bad input -----------------------------------------------------

TEST(Mpe, AgentsAreAlwaysActiveAndEpisodesTruncateAt25) {
  for (const char* id : {"simple_spread_v3", "simple_speaker_listener_v4"}) {
    Harness h(id);
    EXPECT_TRUE(std::all_of(h.active.begin(), h.active.end(), [](auto a) { return a == 1; }));
    for (int t = 0; t < 25; ++t) {
      const auto r = id == std::string("simple_spread_v3") ? h.step({1, 2, 3}) : h.step({1, 2});
      EXPECT_FALSE(r.terminated);
      EXPECT_EQ(r.truncated, t == 24) << id << " step " << t;
      EXPECT_TRUE(std::all_of(h.active.begin(), h.active.end(), [](auto a) { return a == 1; }));
    }
  }
}

TEST(Mpe, ResetIsUniformAtRestAndLandmarkRangeFollowsTheConvention) {
  double max_pz = 0, max_mappo = 0;
  Harness pz("simple_spread_v3"), mappo("simple_spread_v3", {{"reward", "mappo"}});
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    pz.env->reset(seed, pz.view());
    mappo.env->reset(seed, mappo.view());
    const auto a = pz.env->get_state(), b = mappo.env->get_state();
    for (int i = 0; i < 3; ++i) {
      EXPECT_LE(std::fabs(a[static_cast<std::size_t>(4 * i)]), 1.0);
      EXPECT_EQ(a[static_cast<std::size_t>(4 * i + 2)], 0.0);
    }
    for (std::size_t k = 12; k < 18; ++k) {
      max_pz = std::max(max_pz, std::fabs(a[k]));
      max_mappo = std::max(max_mappo, std::fabs(b[k]));
    }
  }
  EXPECT_LE(max_mappo, 0.8);  // MAPPO's reset_world: 0.8 * U(-1, 1)
  EXPECT_GT(max_pz, 0.9);     // PettingZoo: U(-1, 1)
  EXPECT_LE(max_pz, 1.0);
  Harness custom("simple_spread_v3", {{"landmark_range", "0.1"}});
  for (std::size_t k = 12; k < 18; ++k) EXPECT_LE(std::fabs(custom.env->get_state()[k]), 0.1);
}

TEST(Mpe, BadOptionsAreNamed) {
  expect_error(
      [] {
        make_multi_agent("simple_spread_v3", {{"reward", "shared"}});
      },
      "simple_spread_v3: option 'reward' must be pettingzoo or mappo, got 'shared'");
  expect_error(
      [] {
        make_multi_agent("simple_speaker_listener_v4", {{"integration", "mappo"}});
      },
      "simple_speaker_listener_v4: option 'integration' must be pettingzoo or original_mpe, got "
      "'mappo'");
  expect_error(
      [] {
        make_multi_agent("simple_spread_v3", {{"reward", "mappo"}, {"local_ratio", "0.3"}});
      },
      "'local_ratio' applies to reward: pettingzoo only");
  expect_error([] { make_multi_agent("simple_spread_v3", {{"n", "0"}}); }, "option 'n'");
  expect_error(
      [] {
        make_multi_agent("simple_spread_v3", {{"local_ratio", "1.5"}});
      },
      "option 'local_ratio'");
  expect_error(
      [] {
        make_multi_agent("simple_speaker_listener_v4", {{"n", "3"}});
      },
      "unknown option 'n'");
  expect_error(
      [] {
        make_multi_agent("simple_speaker_listener_v4", {{"reward", "x"}});
      },
      "simple_speaker_listener_v4: option 'reward'");
}

TEST(Mpe, BadActionsAndStatesAreNamed) {
  Harness h("simple_spread_v3");
  expect_error([&] { h.step({0, 5, 0}); }, "action 5 of agent 1 (agent_1) is outside Discrete(5)");
  expect_error([&] { h.step({0, kNoDiscreteAction, 0}); }, "agent 1 (agent_1) is outside");
  expect_error([&] { h.step({0, 0}); }, "expected a joint action of 3 discrete values");
  expect_error([&] { h.set({0, 0}); }, "state needs 18 values");
  Harness c("simple_spread_v3", {{"continuous_actions", "true"}});
  std::vector<float> a(15, 0.0f);
  a[7] = NAN;
  expect_error([&] { c.step_continuous(a); }, "action component 2 of agent 1 (agent_1) is nan");
  Harness sl("simple_speaker_listener_v4");
  expect_error([&] { sl.step({3, 0}); }, "action 3 of agent 0 (speaker_0) is outside Discrete(3)");
  expect_error([&] { sl.set(std::vector<double>(16, 0.5)); }, "goal index must be 0, 1 or 2");
}

// --- vector env ----------------------------------------------------------------------------

std::vector<float> spread_trace(int threads) {
  auto env = LocalVectorEnv::make("simple_spread_v3", {{"reward", "mappo"}}, 6, threads);
  env->reset(123);
  std::vector<float> trace;
  std::vector<std::int64_t> actions(6 * 3);
  for (int t = 0; t < 60; ++t) {
    for (std::size_t k = 0; k < actions.size(); ++k)
      actions[k] = static_cast<std::int64_t>((t * 3 + k * 7) % 5);
    env->step({actions, {}});
    const auto& b = env->buffers();
    trace.insert(trace.end(), b.observations.begin(), b.observations.end());
    for (double r : b.rewards) trace.push_back(static_cast<float>(r));
    trace.insert(trace.end(), b.truncated.begin(), b.truncated.end());
  }
  return trace;
}

TEST(Mpe, VectorEnvIsDeterministicWhateverTheThreadCount) {
  const auto serial = spread_trace(1);
  EXPECT_EQ(serial, spread_trace(2));
  EXPECT_EQ(serial, spread_trace(3));
}

TEST(Mpe, VectorEnvReportsTeamAndAgentReturns) {
  auto env = LocalVectorEnv::make("simple_speaker_listener_v4", {{"reward", "mappo"}}, 2, 1);
  env->reset(4);
  std::vector<std::int64_t> actions{0, 0, 1, 2};
  double sum0 = 0;
  for (int t = 0; t < 25; ++t) {
    env->step({actions, {}});
    sum0 += env->buffers().rewards[0];
  }
  const auto& b = env->buffers();
  ASSERT_TRUE(b.truncated[0]);
  EXPECT_EQ(b.episode_lengths[0], 25);
  EXPECT_NEAR(b.agent_episode_returns[0], sum0, 1e-9);
  EXPECT_NEAR(b.agent_episode_returns[1], sum0, 1e-9);  // shared reward
  EXPECT_NEAR(b.episode_returns[0], 2 * sum0, 1e-9);
  EXPECT_EQ(b.final_active, (std::vector<std::uint8_t>{1, 1, 1, 1}));
}

TEST(Mpe, VectorEnvSnapshotContinuesExactly) {
  auto a = LocalVectorEnv::make("simple_spread_v3", {{"continuous_actions", "true"}}, 3, 1);
  a->reset(8);
  std::vector<float> actions(3 * 3 * 5);
  auto fill = [&](int t) {
    for (std::size_t k = 0; k < actions.size(); ++k)
      actions[k] = static_cast<float>((t + k * 3) % 7) / 6.0f;
  };
  for (int t = 0; t < 17; ++t) {
    fill(t);
    a->step({{}, actions});
  }
  ByteWriter w;
  a->save(w);
  auto b = LocalVectorEnv::make("simple_spread_v3", {{"continuous_actions", "true"}}, 3, 1);
  ByteReader r(w.bytes(), "snapshot");
  b->load(r);
  for (int t = 17; t < 70; ++t) {
    fill(t);
    a->step({{}, actions});
    b->step({{}, actions});
    ASSERT_EQ(a->buffers().observations, b->buffers().observations) << t;
    ASSERT_EQ(a->buffers().rewards, b->buffers().rewards) << t;
    for (int i = 0; i < 3; ++i) {
      if (!a->buffers().done(i)) continue;
      ASSERT_EQ(a->buffers().episode_returns[static_cast<std::size_t>(i)],
                b->buffers().episode_returns[static_cast<std::size_t>(i)])
          << t;
    }
  }
}

}  // namespace
}  // namespace trustrl::envs
