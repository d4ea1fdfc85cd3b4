#pragma once
// multiwalker_v9: PettingZoo's SISL MultiWalker (pettingzoo/sisl/multiwalker/multiwalker.py and
// multiwalker_base.py, v9; Gupta, Egorov & Kochenderfer 2017) on MultiWalkerWorld's physics. N
// walkers ("walker_0", ...) must carry a package lying across their hulls to the right.
//
// Observation of walker i (31 float32): its 24 BipedalWalker values (walker_body.h: hull angle,
// angular velocity, vx, vy, per leg hip angle/speed, knee angle + 1/speed, ground contact, ten
// lidar fractions), then the left neighbour's hull position minus its own (dx, dy), the right
// neighbour's (dx, dy), and the package's (dx, dy) and angle; positions are divided by the
// package length (240 px * n / 1.75) and each of the 7 values is drawn from a normal around the
// true one (sd position_noise, or angle_noise for the angle). A missing or removed neighbour
// reads (0, 0) and draws nothing; a removed walker's observation is all zero. The draws come
// from the env's RNG in PettingZoo's order (walkers left to right; left, right, package).
// Action: Box(-1, 1, (4,)) per walker: hip 0, knee 0, hip 1, knee 1 (clipped, as PettingZoo's
// ClipOutOfBoundsWrapper does).
//
// Reward (PettingZoo's scroll_subroutine), raw per walker i each step:
//   -5 (|hull angle_i| - |previous hull angle_i|)            (walkers still present)
//   + forward_reward * 130 / 30 * (package x - previous package x)      (every walker)
//   + fall_reward, and + terminate_reward unless terminate_on_fall   (every step once i fell)
//   + terminate_reward (all walkers) when the episode fails: the package touched the ground or
//     a leg, the package's x < 0, or (terminate_on_fall) some walker has fallen.
// Each agent active before the step then gets the mean of the N raw rewards (shared_reward, the
// default) or its own raw reward. A walker falls when its hull touches anything but the package;
// it is done from then on (inactive), and with remove_on_fall its bodies leave the world.
// The episode terminates when it fails, when the package passes the finish
// ((terrain_length - 10) terrain steps, no bonus), or when no walker is left active; it is
// truncated after max_cycles steps (PettingZoo reports that as termination; docs/MULTI_AGENT.md).
//
// Global state (31 N float32): every walker's observation, concatenated in agent order.
//
// The world cannot be snapshotted (can_snapshot() is false, save()/load() throw). get_state()
// returns a documented subset (7 N + 6 doubles): per walker [hull x, y, angle, vx, vy,
// angular_velocity, active], then the package's [x, y, angle, vx, vy, angular_velocity] (world
// units; a removed walker's kinematics read 0). set_state() places every walker still present and
// the package rigidly, marks walkers with active 0 fallen (removing them with remove_on_fall),
// clears the package-dropped flag, restarts the shaping from the new state and draws fresh
// observation noise: a way to set up situations, not an exact restore. A removed walker cannot be
// made active again.

#include "envs/box2d/multiwalker_world.h"
#include "envs/multi_agent_env.h"
#include "envs/options.h"

namespace trustrl::envs {

/// PettingZoo's MultiWalkerEnv arguments, with its defaults.
struct MultiWalkerConfig {
  int n_walkers = 3;
  /// Standard deviation of the noise on the relative positions (in package lengths).
  double position_noise = 1e-3;
  /// Standard deviation of the noise on the package angle (rad).
  double angle_noise = 1e-3;
  /// Scale of the package-progress reward.
  double forward_reward = 1.0;
  /// Added to every walker when the episode fails.
  double terminate_reward = -100.0;
  /// Added to a walker for (every step after) its fall.
  double fall_reward = -10.0;
  /// Every agent gets the mean reward (else its own).
  bool shared_reward = true;
  /// A fall ends the episode for everyone, with terminate_reward.
  bool terminate_on_fall = true;
  /// Fallen walkers leave the world.
  bool remove_on_fall = true;
  /// Track length in terrain steps.
  int terrain_length = 200;
  /// Steps before truncation.
  int max_cycles = 500;
  /// trustrl's: how the walkers' joint limits act within a step, option joint_limits
  /// ("box2d_2.4" or "box2d_2.3", PettingZoo's Box2D; joint_limit_rule.h, docs/BOX2D.md).
  JointLimitRule joint_limits = JointLimitRule::kBox2D24;

  /// Options with these names (max_episode_steps is accepted as another name for max_cycles).
  /// Throws Error naming a bad value.
  static MultiWalkerConfig from_options(EnvOptions& options);
};

class MultiWalker final : public MultiAgentEnv {
 public:
  static constexpr int kObsDim = WalkerBody::kStateDim + 4 + 3;
  static constexpr int kActionDim = 4;
  static constexpr int kStateValuesPerWalker = 7;

  explicit MultiWalker(const MultiWalkerConfig& config);
  explicit MultiWalker(EnvOptions& options)
      : MultiWalker(MultiWalkerConfig::from_options(options)) {}

  const MultiWalkerConfig& config() const { return config_; }
  const MultiWalkerWorld& world() const { return world_; }

  /// The raw (unshared) rewards of the last step, one per walker: what PettingZoo averages.
  const std::vector<double>& raw_rewards() const { return raw_rewards_; }

  std::vector<double> get_state() const override;
  bool can_snapshot() const override { return false; }
  void save(ByteWriter& out) const override;
  void load(ByteReader& in, const MultiAgentView& out) override;

  /// PettingZoo's picture, 600 x 400 at 70 / n px per metre (render_scale = 30 / package_scale /
  /// 0.75): the walker backdrop and terrain, the package, every walker with its lidar, the start
  /// flag, in a view that follows the walkers' mean x. Throws Error before the first reset().
  Frame render() const override;

 protected:
  void reset_impl(const MultiAgentView& out) override;
  MultiAgentStepResult step_impl(const JointAction& action, const MultiAgentView& out,
                                 std::span<double> rewards) override;
  void set_state_impl(std::span<const double> state, const MultiAgentView& out) override;

 private:
  /// How a step ended the episode, if it did.
  struct Outcome {
    /// The package dropped or went left of x = 0, or (terminate_on_fall) a walker fell.
    bool failed = false;
    /// The package passed the finish.
    bool finished = false;
  };
  /// PettingZoo's scroll_subroutine, in two parts. This one writes every walker's noisy
  /// observation and the state (drawing the noise from rng()).
  void write_observations(const MultiAgentView& out);
  /// This one fills raw_rewards_ from the shaping differences and the falls, removes fallen
  /// walkers (remove_on_fall), and tells whether the episode is over.
  Outcome reward_and_handle_falls();
  /// Restarts the shaping baselines from the current state (no reward).
  void reset_shaping();

  MultiWalkerConfig config_;
  MultiWalkerWorld world_;
  std::vector<double> prev_shaping_;
  double prev_package_shaping_ = 0.0;
  std::vector<double> raw_rewards_;
};

}  // namespace trustrl::envs
