// Replays trajectories recorded from Gymnasium 1.4.0 (tests/data/reference, kept in the repo so a
// fresh clone has them): from each episode's recorded initial state, feed the recorded
// actions and match every observation, reward and flag.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "envs/registry.h"

namespace trustrl::envs {
namespace {

using nlohmann::json;

json load(const std::string& id) {
  std::ifstream in(std::string(TRUSTRL_TEST_DATA_DIR) + "/reference/" + id + ".json");
  EXPECT_TRUE(in.good()) << "missing reference file for " << id;
  // Python's json writes the spaces' infinite bounds as bare Infinity, which JSON lacks.
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const std::string token : {"-Infinity", "Infinity", "NaN"})
    for (auto pos = text.find(token); pos != std::string::npos; pos = text.find(token, pos))
      text.replace(pos, token.size(), "null");
  return json::parse(text);
}

std::vector<double> state_of(const json& s) {
  std::vector<double> state = s.at("state").get<std::vector<double>>();
  if (s.contains("last_u"))
    state.push_back(s.at("last_u").is_null() ? NAN : s.at("last_u").get<double>());
  return state;
}

// float32 observations to 1e-5 relative (with a 1e-6 floor for values at zero).
void expect_close(double got, double want, const std::string& where) {
  EXPECT_LE(std::fabs(got - want), 1e-5 * std::fabs(want) + 1e-6)
      << where << ": got " << got << ", want " << want;
}

class ReferenceReplay : public testing::TestWithParam<std::string> {};

TEST_P(ReferenceReplay, MatchesGymnasium) {
  const std::string id = GetParam();
  const json ref = load(id);
  auto env = make(id);
  std::vector<float> obs(static_cast<std::size_t>(env->obs_dim()));
  int steps_checked = 0;
  for (const json& episode : ref.at("episodes")) {
    const std::string ep = id + " episode " + std::to_string(episode.at("seed").get<int>());
    env->reset(0, obs);
    env->set_state(state_of(episode.at("initial_state")), obs);
    const auto initial = episode.at("initial_obs").get<std::vector<double>>();
    for (std::size_t k = 0; k < obs.size(); ++k)
      expect_close(obs[k], initial[k], ep + " initial obs");
    int t = 0;
    for (const json& step : episode.at("steps")) {
      const std::string where = ep + " step " + std::to_string(t++);
      StepResult r;
      if (env->spec().action_space.is_discrete()) {
        std::vector<std::int64_t> a{step.at("action").get<std::int64_t>()};
        r = env->step({a, {}}, obs);
      } else {
        const auto a = step.at("action").get<std::vector<float>>();
        r = env->step({{}, a}, obs);
      }
      const auto want = step.at("obs").get<std::vector<double>>();
      for (std::size_t k = 0; k < obs.size(); ++k)
        expect_close(obs[k], want[k], where + " obs[" + std::to_string(k) + "]");
      expect_close(r.reward, step.at("reward").get<double>(), where + " reward");
      ASSERT_EQ(r.terminated, step.at("terminated").get<bool>()) << where;
      ASSERT_EQ(r.truncated, step.at("truncated").get<bool>()) << where;
      ++steps_checked;
    }
  }
  EXPECT_GT(steps_checked, 100);
}

INSTANTIATE_TEST_SUITE_P(Gymnasium, ReferenceReplay,
                         testing::Values("CartPole-v1", "Pendulum-v1", "MountainCarContinuous-v0"),
                         [](const testing::TestParamInfo<std::string>& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace trustrl::envs
