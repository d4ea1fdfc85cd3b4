#pragma once
// A small multi-agent env for tests of the API itself: heterogeneous agents with mixed action
// kinds, and agents that die (go inactive) mid-episode, which MPE envs never do.
//
// Agents 0 and 1: observation Box(-10, 10, (2,)) = [x, t / 10], action Discrete(3) (x += 0.5 *
// (a - 1)). Agent 2: observation Box(-10, 10, (4,)) = [x, t / 10, 1, 0], action Box(-1, 1, (2,))
// (x += 0.5 * clip(a[0])). State Box(-100, 100, (3,)) = [sum of live x, live agents, t].
// Agent a dies after death_step[a] steps (drawn at reset in [2, 11]); it gets -1 on the step it
// dies and +0.1 per step while alive. The episode terminates when every agent is dead; the time
// limit is 10 steps. A Flaw breaks one rule so that tests can check the suite catches it.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "envs/multi_agent_env.h"

namespace trustrl::envs::testing_env {

enum class Flaw { kNone, kRewardsDeadAgents, kRevivesAgents, kIgnoresSeed, kObservationOutOfSpace };

inline MultiAgentSpec toy_team_spec() {
  MultiAgentSpec s;
  s.id = "ToyTeam-v0";
  s.agent_names = {"scout_0", "scout_1", "pilot_0"};
  s.observation_spaces = {Space::box(-10, 10, {2}), Space::box(-10, 10, {2}),
                          Space::box(-10, 10, {4})};
  s.action_spaces = {Space::discrete(3), Space::discrete(3), Space::box(-1, 1, {2})};
  s.state_space = Space::box(-100, 100, {3});
  s.max_episode_steps = 10;
  return s;
}

class ToyTeamEnv final : public MultiAgentEnv {
 public:
  explicit ToyTeamEnv(Flaw flaw = Flaw::kNone) : MultiAgentEnv(toy_team_spec()), flaw_(flaw) {}

  std::vector<double> get_state() const override {
    std::vector<double> s(x_.begin(), x_.end());
    for (int d : death_step_) s.push_back(d);
    for (bool a : alive_) s.push_back(a ? 1.0 : 0.0);
    s.push_back(t_);
    return s;
  }

 protected:
  void reset_impl(const MultiAgentView& out) override {
    for (int a = 0; a < 3; ++a) {
      x_[a] = flaw_ == Flaw::kIgnoresSeed ? 0.0 : rng().uniform(-1.0, 1.0);
      death_step_[a] = 2 + static_cast<int>(flaw_ == Flaw::kIgnoresSeed ? 3 : rng().below(10));
      alive_[a] = true;
    }
    t_ = 0;
    write(out);
  }

  MultiAgentStepResult step_impl(const JointAction& action, const MultiAgentView& out,
                                 std::span<double> rewards) override {
    ++t_;
    const auto width = static_cast<std::size_t>(spec().max_action_dim());
    for (int a = 0; a < 3; ++a) {
      if (!alive_[a]) {
        if (flaw_ == Flaw::kRewardsDeadAgents) rewards[static_cast<std::size_t>(a)] = 0.5;
        if (flaw_ == Flaw::kRevivesAgents) alive_[a] = true;
        continue;
      }
      const std::size_t row = static_cast<std::size_t>(a) * width;
      if (a < 2)
        x_[a] += 0.5 * static_cast<double>(action.discrete[row] - 1);
      else
        x_[a] += 0.5 * std::clamp(static_cast<double>(action.continuous[row]), -1.0, 1.0);
      x_[a] = std::clamp(x_[a], -9.0, 9.0);
      if (t_ >= death_step_[a]) {
        alive_[a] = false;
        rewards[static_cast<std::size_t>(a)] = -1.0;
      } else {
        rewards[static_cast<std::size_t>(a)] = 0.1;
      }
    }
    write(out);
    const bool all_dead = std::none_of(alive_.begin(), alive_.end(), [](bool b) { return b; });
    return {all_dead, false};
  }

  void set_state_impl(std::span<const double> state, const MultiAgentView& out) override {
    if (state.size() != 10) throw Error("ToyTeam-v0: state needs 10 values");
    for (int a = 0; a < 3; ++a) {
      x_[a] = state[static_cast<std::size_t>(a)];
      death_step_[a] = static_cast<int>(state[static_cast<std::size_t>(3 + a)]);
      alive_[a] = state[static_cast<std::size_t>(6 + a)] != 0.0;
    }
    t_ = static_cast<int>(state[9]);
    write(out);
  }

 private:
  void write(const MultiAgentView& out) const {
    const auto width = static_cast<std::size_t>(spec().max_obs_dim());
    double live_sum = 0.0;
    int live = 0;
    for (int a = 0; a < 3; ++a) {
      float* o = out.observations.data() + static_cast<std::size_t>(a) * width;
      o[0] = static_cast<float>(x_[a]);
      o[1] = static_cast<float>(t_) / 10.0f;
      if (flaw_ == Flaw::kObservationOutOfSpace && t_ > 0) o[0] = 20.0f;
      if (a == 2) {
        o[2] = 1.0f;
        o[3] = 0.0f;
      }
      // Deliberate garbage in the padding: the base class must zero it.
      if (a < 2) o[2] = 7.0f;
      out.active[static_cast<std::size_t>(a)] = alive_[a] ? 1 : 0;
      if (alive_[a]) {
        live_sum += x_[a];
        ++live;
      }
    }
    out.state[0] = static_cast<float>(live_sum);
    out.state[1] = static_cast<float>(live);
    out.state[2] = static_cast<float>(t_);
  }

  Flaw flaw_;
  std::array<double, 3> x_{};
  std::array<int, 3> death_step_{};
  std::array<bool, 3> alive_{};
  int t_ = 0;
};

// The buffers one step of one multi-agent env writes into (observations start at -1, so a test
// sees what the env wrote).
struct Buffers {
  explicit Buffers(const MultiAgentSpec& s)
      : obs(static_cast<std::size_t>(s.num_agents() * s.max_obs_dim()), -1.0f),
        state(static_cast<std::size_t>(s.state_dim())),
        active(static_cast<std::size_t>(s.num_agents())),
        rewards(static_cast<std::size_t>(s.num_agents())) {}
  MultiAgentView view() { return {obs, state, active}; }
  std::vector<float> obs, state;
  std::vector<std::uint8_t> active;
  std::vector<double> rewards;
};

}  // namespace trustrl::envs::testing_env
