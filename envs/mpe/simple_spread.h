#pragma once
// simple_spread: N agents must cover N landmarks without colliding (cooperative navigation).
// References:
//   - PettingZoo simple_spread_v3: pettingzoo/mpe/simple_spread/simple_spread.py (Scenario and
//     raw_env: N=3, local_ratio=0.5, max_cycles=25) over _mpe_utils/simple_env.py and core.py;
//   - MAPPO (Yu et al. 2021) reference code: marlbenchmark/on-policy,
//     onpolicy/envs/mpe/scenarios/simple_spread.py with onpolicy/envs/mpe/environment.py
//     (shared_reward = world.collaborative = True, episode_length 25).
// Constants: agent radius 0.15, agents collide, landmarks neither collide nor move, dim_c = 2,
// agents silent; agents start uniform in [-1, 1]^2 at rest, landmarks uniform in
// [-r, r]^2 with r = 1 (PettingZoo) or 0.8 (MAPPO's reset_world draws 0.8 * U(-1, 1)).
//
// Observation of agent i (6N floats; the reference's order):
//   [vel_i (2), pos_i (2), landmark_l - pos_i for every l (2N), pos_j - pos_i for every j != i
//    (2(N-1)), comm_j for every j != i (2(N-1), always 0: agents are silent)].
// Global state (6N^2 floats): every agent's observation, concatenated in agent order; this is
// MAPPO's share_obs for MPE (the runner reshapes all agents' observations into one vector) and
// PettingZoo's state().
//
// Rewards, with G = -sum over landmarks l of min over agents i of |pos_i - landmark_l| and
// collide(i, j) = |pos_i - pos_j| < 0.3 (the sum of the two radii):
//   reward: pettingzoo  r_i = (1 - local_ratio) * G + local_ratio * -#{j != i : collide(i, j)}
//   reward: mappo       r_i = sum over j of (G - #{k : collide(j, k)}), the same for every i.
// In the MAPPO code the collision count includes k = j (is_collision(a, a) is true: distance
// 0 < 0.3), so each raw per-agent reward carries a constant -1, and the team sum each agent gets
// is  N * G - N - 2 * P  where P is the number of colliding pairs (each pair is counted once from
// each side). With N = 3 and no contact, r_i = 3G - 3. docs/MULTI_AGENT.md works an example.
//
// get_state() layout (6N doubles): for each agent [pos.x, pos.y, vel.x, vel.y], then for each
// landmark [pos.x, pos.y]. Every agent is always active.

#include "envs/mpe/particle_world.h"
#include "envs/multi_agent_env.h"
#include "envs/options.h"

namespace trustrl::envs::mpe {

enum class RewardConvention { kPettingZoo, kMappo };

/// Reads option `reward` ("pettingzoo", the default, or "mappo"); throws Error naming the env
/// and the allowed values.
RewardConvention read_reward_convention(EnvOptions& options, const std::string& env_id);
const char* reward_convention_name(RewardConvention r);

struct SimpleSpreadConfig {
  /// Number of agents and of landmarks.
  int n = 3;
  bool continuous_actions = false;
  RewardConvention reward = RewardConvention::kPettingZoo;
  /// The world step's update order: PettingZoo's by default, the original MPE's (MAPPO's) on
  /// request.
  Integration integration = Integration::kPettingZoo;
  /// PettingZoo's weight of the local (collision) reward; the global one weighs 1 - local_ratio.
  double local_ratio = 0.5;
  /// Landmarks start uniform in [-landmark_range, landmark_range]^2.
  double landmark_range = 1.0;

  /// Options: n, continuous_actions, reward (pettingzoo | mappo), local_ratio (pettingzoo only),
  /// landmark_range (default 1 for pettingzoo, 0.8 for mappo, as in each reference), integration
  /// (pettingzoo | original_mpe).
  static SimpleSpreadConfig from_options(EnvOptions& options);
};

class SimpleSpread final : public MultiAgentEnv {
 public:
  static constexpr double kAgentSize = 0.15;
  static constexpr int kDimC = 2;
  static constexpr int kMaxCycles = 25;

  explicit SimpleSpread(const SimpleSpreadConfig& config);
  explicit SimpleSpread(EnvOptions& options)
      : SimpleSpread(SimpleSpreadConfig::from_options(options)) {}

  std::vector<double> get_state() const override;
  const SimpleSpreadConfig& config() const { return config_; }
  const ParticleWorld& world() const { return world_; }

  /// G: minus the sum over landmarks of the nearest agent's distance.
  double global_reward() const;
  /// Agents within collision distance of `agent`, counting `agent` itself if `count_self`.
  int collisions(int agent, bool count_self) const;

  /// PettingZoo's picture (mpe_drawing.h), 700 x 700: agents (0.35, 0.35, 0.85) and landmarks
  /// (0.25, 0.25, 0.25), as the scenario colours them.
  Frame render() const override;

 protected:
  void reset_impl(const MultiAgentView& out) override;
  MultiAgentStepResult step_impl(const JointAction& action, const MultiAgentView& out,
                                 std::span<double> rewards) override;
  void set_state_impl(std::span<const double> state, const MultiAgentView& out) override;

 private:
  void write_view(const MultiAgentView& out) const;

  SimpleSpreadConfig config_;
  ParticleWorld world_{kDimC};
};

}  // namespace trustrl::envs::mpe
