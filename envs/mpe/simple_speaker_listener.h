#pragma once
// simple_speaker_listener: a speaker that sees the goal colour but cannot move, and a listener
// that moves but cannot see the goal, must get the listener onto the goal landmark.
// References: PettingZoo simple_speaker_listener_v4 (pettingzoo/mpe/simple_speaker_listener/
// simple_speaker_listener.py, max_cycles=25, no local_ratio) over _mpe_utils/simple_env.py and
// core.py; the same scenario in MAPPO's reference code (marlbenchmark/on-policy,
// onpolicy/envs/mpe/scenarios/simple_speaker_listener.py, shared_reward = True).
// Constants: dim_c = 3, 3 landmarks of radius 0.04 coloured (0.65, 0.15, 0.15),
// (0.15, 0.65, 0.15), (0.15, 0.15, 0.65); agents of radius 0.075 that do not collide; the
// speaker (agent 0) is not movable and speaks, the listener (agent 1) moves and is silent.
// Reset: the goal landmark uniform among the 3, then both agents' positions, then the
// landmarks', each uniform in [-1, 1]^2, velocities and utterances zero.
//
// Observations: speaker [goal colour (3)]; listener [vel (2), landmark_l - pos for each l (6),
// the speaker's utterance (3)]. Actions: speaker Discrete(3) (say word w: a one-hot utterance)
// or Box(0, 1, (3,)) (the utterance itself); listener Discrete(5) or Box(0, 1, (5,)) as in
// particle_world.h. Global state (14 floats): both observations, concatenated.
// Reward, with d2 = |listener.pos - goal.pos|^2:
//   reward: pettingzoo  each agent gets -d2 (the scenario's shared reward),
//   reward: mappo       each agent gets -2 * d2 (environment.py sums the two agents' -d2).
//
// get_state() layout (16 doubles): [goal index, speaker pos.x, pos.y, speaker utterance (3),
// listener pos.x, pos.y, vel.x, vel.y, landmark pos.x, pos.y for each of the 3]. Both agents are
// always active.

#include "envs/mpe/particle_world.h"
#include "envs/mpe/simple_spread.h"
#include "envs/multi_agent_env.h"
#include "envs/options.h"

namespace trustrl::envs::mpe {

struct SimpleSpeakerListenerConfig {
  bool continuous_actions = false;
  RewardConvention reward = RewardConvention::kPettingZoo;
  /// The world step's update order (particle_world.h).
  Integration integration = Integration::kPettingZoo;

  /// Options: continuous_actions, reward (pettingzoo | mappo), integration (pettingzoo |
  /// original_mpe).
  static SimpleSpeakerListenerConfig from_options(EnvOptions& options);
};

class SimpleSpeakerListener final : public MultiAgentEnv {
 public:
  static constexpr int kDimC = 3;
  static constexpr int kNumLandmarks = 3;
  static constexpr double kAgentSize = 0.075;
  static constexpr double kLandmarkSize = 0.04;
  static constexpr int kMaxCycles = 25;
  static constexpr double kLandmarkColors[kNumLandmarks][3] = {
      {0.65, 0.15, 0.15}, {0.15, 0.65, 0.15}, {0.15, 0.15, 0.65}};
  static constexpr int kSpeaker = 0;
  static constexpr int kListener = 1;

  explicit SimpleSpeakerListener(const SimpleSpeakerListenerConfig& config);
  explicit SimpleSpeakerListener(EnvOptions& options)
      : SimpleSpeakerListener(SimpleSpeakerListenerConfig::from_options(options)) {}

  std::vector<double> get_state() const override;
  const ParticleWorld& world() const { return world_; }
  int goal() const { return goal_; }

  /// PettingZoo's picture (mpe_drawing.h), 700 x 700: the landmarks red, green and blue, the
  /// speaker grey (0.25, 0.25, 0.25), the listener in its goal's colour lightened by 0.45, and
  /// the speaker's word as a row of three boxes at the lower left.
  Frame render() const override;

 protected:
  void reset_impl(const MultiAgentView& out) override;
  MultiAgentStepResult step_impl(const JointAction& action, const MultiAgentView& out,
                                 std::span<double> rewards) override;
  void set_state_impl(std::span<const double> state, const MultiAgentView& out) override;

 private:
  void write_view(const MultiAgentView& out) const;

  SimpleSpeakerListenerConfig config_;
  ParticleWorld world_{kDimC};
  int goal_ = 0;
};

}  // namespace trustrl::envs::mpe
