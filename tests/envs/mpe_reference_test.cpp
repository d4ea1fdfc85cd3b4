// Replays MPE trajectories recorded from PettingZoo (commit 369c979fa, the last with
// pettingzoo/mpe; tests/data/reference/record_mpe.py): from each episode's recorded world state,
// feed the recorded actions and match every observation, reward and flag exactly. Both ends
// compute in float64 with the same operations in the same order, and the observations are the
// float32 rounding of the same doubles, so nothing is left to tolerate.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "envs/registry.h"

namespace trustrl::envs {
namespace {

using nlohmann::json;

json load(const std::string& file) {
  std::ifstream in(std::string(TRUSTRL_TEST_DATA_DIR) + "/reference/" + file);
  EXPECT_TRUE(in.good()) << "missing reference file " << file;
  return json::parse(in);
}

std::vector<double> xy(const json& v) { return v.get<std::vector<double>>(); }

// The recorded world in the layout of the env's set_state() (simple_spread.h,
// simple_speaker_listener.h).
std::vector<double> trustrl_state(const std::string& id, const json& world) {
  std::vector<double> s;
  auto append = [&s](const std::vector<double>& v) { s.insert(s.end(), v.begin(), v.end()); };
  const json& agents = world.at("agents");
  if (id == "simple_spread_v3") {
    for (const json& a : agents) {
      append(xy(a.at("pos")));
      append(xy(a.at("vel")));
    }
  } else {
    s.push_back(world.at("goal").get<double>());
    append(xy(agents[0].at("pos")));  // the speaker (it does not move)
    append(xy(agents[0].at("c")));
    append(xy(agents[1].at("pos")));
    append(xy(agents[1].at("vel")));
  }
  for (const json& l : world.at("landmarks")) append(xy(l.at("pos")));
  return s;
}

struct Buffers {
  explicit Buffers(const MultiAgentSpec& spec)
      : obs(static_cast<std::size_t>(spec.num_agents() * spec.max_obs_dim())),
        state(static_cast<std::size_t>(spec.state_dim())),
        active(static_cast<std::size_t>(spec.num_agents())),
        rewards(static_cast<std::size_t>(spec.num_agents())) {}
  MultiAgentView view() { return {obs, state, active}; }
  std::vector<float> obs, state;
  std::vector<std::uint8_t> active;
  std::vector<double> rewards;
};

void expect_obs(const MultiAgentSpec& spec, const Buffers& b, const json& want,
                const std::string& where) {
  const auto width = static_cast<std::size_t>(spec.max_obs_dim());
  for (int a = 0; a < spec.num_agents(); ++a) {
    const std::string& name = spec.agent_names[static_cast<std::size_t>(a)];
    const auto w = want.at(name).get<std::vector<double>>();
    ASSERT_EQ(w.size(), static_cast<std::size_t>(spec.obs_dim(a))) << where << " " << name;
    for (std::size_t k = 0; k < w.size(); ++k)
      EXPECT_EQ(b.obs[static_cast<std::size_t>(a) * width + k], static_cast<float>(w[k]))
          << where << " " << name << " obs[" << k << "]";
  }
}

class MpeReplay : public testing::TestWithParam<std::string> {};

TEST_P(MpeReplay, MatchesPettingZooExactly) {
  const json ref = load(GetParam() + ".json");
  const std::string id = ref.at("env_id");
  const bool continuous = ref.at("continuous_actions");
  auto env = make_multi_agent(id, {{"continuous_actions", continuous ? "true" : "false"}});
  const MultiAgentSpec& spec = env->spec();
  Buffers b(spec);
  const auto width = static_cast<std::size_t>(spec.max_action_dim());
  int steps_checked = 0;
  for (const json& episode : ref.at("episodes")) {
    const std::string ep = GetParam() + " episode " + std::to_string(episode.at("seed").get<int>());
    ASSERT_EQ(episode.at("agents").get<std::vector<std::string>>(), spec.agent_names);
    env->reset(0, b.view());
    env->set_state(trustrl_state(id, episode.at("initial_state")), b.view());
    expect_obs(spec, b, episode.at("initial_obs"), ep + " initial");
    int t = 0;
    for (const json& step : episode.at("steps")) {
      const std::string where = ep + " step " + std::to_string(t++);
      std::vector<std::int64_t> discrete(static_cast<std::size_t>(spec.num_agents()) * width);
      std::vector<float> cont(discrete.size());
      for (int a = 0; a < spec.num_agents(); ++a) {
        const json& act = step.at("actions").at(spec.agent_names[static_cast<std::size_t>(a)]);
        const std::size_t row = static_cast<std::size_t>(a) * width;
        if (continuous) {
          const auto v = act.get<std::vector<float>>();
          std::copy(v.begin(), v.end(), cont.begin() + static_cast<std::ptrdiff_t>(row));
        } else {
          discrete[row] = act.get<std::int64_t>();
        }
      }
      const MultiAgentStepResult r = continuous ? env->step({{}, cont}, b.view(), b.rewards)
                                                : env->step({discrete, {}}, b.view(), b.rewards);
      expect_obs(spec, b, step.at("obs"), where);
      for (int a = 0; a < spec.num_agents(); ++a) {
        const std::string& name = spec.agent_names[static_cast<std::size_t>(a)];
        EXPECT_EQ(b.rewards[static_cast<std::size_t>(a)], step.at("rewards").at(name).get<double>())
            << where << " reward of " << name;
        ASSERT_EQ(r.terminated, step.at("terminated").at(name).get<bool>()) << where;
        ASSERT_EQ(r.truncated, step.at("truncated").at(name).get<bool>()) << where;
      }
      ++steps_checked;
    }
  }
  EXPECT_EQ(steps_checked, 75);  // three whole 25-step episodes
}

INSTANTIATE_TEST_SUITE_P(PettingZoo, MpeReplay,
                         testing::Values("simple_spread_v3", "simple_spread_v3-continuous",
                                         "simple_speaker_listener_v4",
                                         "simple_speaker_listener_v4-continuous"),
                         [](const testing::TestParamInfo<std::string>& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

// The issue's example: simple_spread seed 0, actions {0, 2, 2}. PettingZoo moves agent_1 with its
// old velocity (0) and then accelerates it to 0.5; the original MPE order (integration:
// original_mpe) accelerates first and moves it 0.05 along x in the same step.
TEST(MpeReference, IntegrationOrderOfTheIssueExample) {
  const json ref = load("simple_spread_v3.json");
  const json& episode = ref.at("episodes").at(0);
  ASSERT_EQ(episode.at("seed").get<int>(), 0);
  const json& agent_1 = episode.at("initial_state").at("agents").at(1);
  const std::vector<double> start = xy(agent_1.at("pos"));
  EXPECT_NEAR(start[0], -0.918, 5e-4);
  EXPECT_NEAR(start[1], -0.967, 5e-4);
  for (const std::string integration : {"pettingzoo", "original_mpe", ""}) {
    OptionMap options;
    if (!integration.empty()) options["integration"] = integration;
    auto env = make_multi_agent("simple_spread_v3", options);
    Buffers b(env->spec());
    env->reset(0, b.view());
    env->set_state(trustrl_state("simple_spread_v3", episode.at("initial_state")), b.view());
    const std::vector<std::int64_t> actions{0, 2, 2};
    env->step({actions, {}}, b.view(), b.rewards);
    const std::vector<double> s = env->get_state();  // agent_1 is s[4..7]: pos, vel
    const double moved = integration == "original_mpe" ? 0.5 * 0.1 : 0.0;
    EXPECT_EQ(s[4], start[0] + moved) << integration;
    EXPECT_EQ(s[5], start[1]) << integration;
    EXPECT_EQ(s[6], 0.5) << integration;
    EXPECT_EQ(s[7], 0.0) << integration;
  }
}

}  // namespace
}  // namespace trustrl::envs
