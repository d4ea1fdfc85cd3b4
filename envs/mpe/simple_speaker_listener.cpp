#include "envs/mpe/simple_speaker_listener.h"

#include <cmath>
#include <limits>

#include "core/error.h"
#include "envs/mpe/mpe_drawing.h"

namespace trustrl::envs::mpe {

namespace {
constexpr const char* kId = "simple_speaker_listener_v4";
constexpr std::int64_t kSpeakerObsDim = 3;
constexpr std::int64_t kListenerObsDim = 2 + 2 * SimpleSpeakerListener::kNumLandmarks + 3;

ParticleWorld make_world(Integration integration) {
  ParticleWorld world(SimpleSpeakerListener::kDimC, integration);
  Entity speaker;
  speaker.movable = false;
  speaker.silent = false;
  speaker.collide = false;
  speaker.size = SimpleSpeakerListener::kAgentSize;
  world.add_agent(speaker);
  Entity listener;
  listener.movable = true;
  listener.silent = true;
  listener.collide = false;
  listener.size = SimpleSpeakerListener::kAgentSize;
  world.add_agent(listener);
  for (int l = 0; l < SimpleSpeakerListener::kNumLandmarks; ++l) {
    Entity landmark;
    landmark.movable = false;
    landmark.collide = false;
    landmark.size = SimpleSpeakerListener::kLandmarkSize;
    world.add_landmark(landmark);
  }
  return world;
}

MultiAgentSpec speaker_listener_spec(const SimpleSpeakerListenerConfig& c) {
  const ParticleWorld world = make_world(c.integration);
  const float inf = std::numeric_limits<float>::infinity();
  MultiAgentSpec spec;
  spec.id = kId;
  spec.agent_names = {"speaker_0", "listener_0"};
  spec.observation_spaces = {Space::box(-inf, inf, {kSpeakerObsDim}),
                             Space::box(-inf, inf, {kListenerObsDim})};
  spec.action_spaces = {world.action_space(SimpleSpeakerListener::kSpeaker, c.continuous_actions),
                        world.action_space(SimpleSpeakerListener::kListener, c.continuous_actions)};
  spec.state_space = Space::box(-inf, inf, {kSpeakerObsDim + kListenerObsDim});
  spec.max_episode_steps = SimpleSpeakerListener::kMaxCycles;
  spec.render_fps = 10;  // PettingZoo's SimpleEnv metadata
  return spec;
}
}  // namespace

SimpleSpeakerListenerConfig SimpleSpeakerListenerConfig::from_options(EnvOptions& options) {
  SimpleSpeakerListenerConfig c;
  c.continuous_actions = options.flag("continuous_actions", false);
  c.reward = read_reward_convention(options, kId);
  c.integration = read_integration(options, kId);
  return c;
}

SimpleSpeakerListener::SimpleSpeakerListener(const SimpleSpeakerListenerConfig& config)
    : MultiAgentEnv(speaker_listener_spec(config)),
      config_(config),
      world_(make_world(config.integration)) {}

void SimpleSpeakerListener::write_view(const MultiAgentView& out) const {
  const auto width = static_cast<std::size_t>(spec().max_obs_dim());
  const Entity& speaker = world_.agents()[kSpeaker];
  const Entity& listener = world_.agents()[kListener];
  float* s = out.observations.data() + kSpeaker * width;
  for (int k = 0; k < 3; ++k) s[k] = static_cast<float>(kLandmarkColors[goal_][k]);
  float* o = out.observations.data() + kListener * width;
  std::size_t k = 0;
  o[k++] = static_cast<float>(listener.vel.x);
  o[k++] = static_cast<float>(listener.vel.y);
  for (const Entity& l : world_.landmarks()) {
    o[k++] = static_cast<float>(l.pos.x - listener.pos.x);
    o[k++] = static_cast<float>(l.pos.y - listener.pos.y);
  }
  for (double c : speaker.comm) o[k++] = static_cast<float>(c);
  // The state is the speaker's observation followed by the listener's (unpadded).
  std::copy_n(s, kSpeakerObsDim, out.state.begin());
  std::copy_n(o, kListenerObsDim, out.state.begin() + kSpeakerObsDim);
}

void SimpleSpeakerListener::reset_impl(const MultiAgentView& out) {
  goal_ = static_cast<int>(rng().below(kNumLandmarks));
  for (Entity& a : world_.agents()) {
    a.pos = {rng().uniform(-1.0, 1.0), rng().uniform(-1.0, 1.0)};
    a.vel = {};
    std::fill(a.comm.begin(), a.comm.end(), 0.0);
  }
  for (Entity& l : world_.landmarks()) {
    l.pos = {rng().uniform(-1.0, 1.0), rng().uniform(-1.0, 1.0)};
    l.vel = {};
  }
  write_view(out);
}

MultiAgentStepResult SimpleSpeakerListener::step_impl(const JointAction& action,
                                                      const MultiAgentView& out,
                                                      std::span<double> rewards) {
  const auto width = static_cast<std::size_t>(spec().max_action_dim());
  for (int i : {kSpeaker, kListener}) {
    const std::size_t row = static_cast<std::size_t>(i) * width;
    if (config_.continuous_actions)
      world_.set_action(
          i, action.continuous.subspan(row, static_cast<std::size_t>(spec().action_dim(i))));
    else
      world_.set_action(i, action.discrete[row]);
  }
  world_.step();
  const Vec2& p = world_.agents()[kListener].pos;
  const Vec2& g = world_.landmarks()[static_cast<std::size_t>(goal_)].pos;
  const double dist2 = (p.x - g.x) * (p.x - g.x) + (p.y - g.y) * (p.y - g.y);
  // PettingZoo: each agent's reward is the scenario's -d2. MAPPO's environment.py sums the two
  // agents' -d2 and hands the sum to both.
  const double r = config_.reward == RewardConvention::kMappo ? -dist2 + -dist2 : -dist2;
  rewards[0] = rewards[1] = r;
  write_view(out);
  return {};
}

std::vector<double> SimpleSpeakerListener::get_state() const {
  const Entity& speaker = world_.agents()[kSpeaker];
  const Entity& listener = world_.agents()[kListener];
  std::vector<double> s{static_cast<double>(goal_), speaker.pos.x, speaker.pos.y};
  s.insert(s.end(), speaker.comm.begin(), speaker.comm.end());
  s.insert(s.end(), {listener.pos.x, listener.pos.y, listener.vel.x, listener.vel.y});
  for (const Entity& l : world_.landmarks()) s.insert(s.end(), {l.pos.x, l.pos.y});
  return s;
}

void SimpleSpeakerListener::set_state_impl(std::span<const double> state,
                                           const MultiAgentView& out) {
  if (state.size() != 16)
    throw Error(std::string(kId) +
                ": state needs 16 values [goal, speaker pos (2), speaker utterance (3), listener "
                "pos (2), listener vel (2), landmark pos (6)], got " +
                std::to_string(state.size()));
  if (!(state[0] == 0.0 || state[0] == 1.0 || state[0] == 2.0))
    throw Error(std::string(kId) + ": the goal index must be 0, 1 or 2, got " +
                std::to_string(state[0]));
  goal_ = static_cast<int>(state[0]);
  Entity& speaker = world_.agents()[kSpeaker];
  Entity& listener = world_.agents()[kListener];
  speaker.pos = {state[1], state[2]};
  for (std::size_t k = 0; k < 3; ++k) speaker.comm[k] = state[3 + k];
  listener.pos = {state[6], state[7]};
  listener.vel = {state[8], state[9]};
  for (std::size_t l = 0; l < 3; ++l)
    world_.landmarks()[l].pos = {state[10 + 2 * l], state[11 + 2 * l]};
  write_view(out);
}

Frame SimpleSpeakerListener::render() const {
  // simple_speaker_listener.py reset_world: both agents (0.25, 0.25, 0.25), then the listener
  // (the speaker's goal_a) gets the goal landmark's colour + 0.45.
  const auto& goal = kLandmarkColors[goal_];
  std::vector<EntityColor> colors{{0.25, 0.25, 0.25},
                                  {goal[0] + 0.45, goal[1] + 0.45, goal[2] + 0.45}};
  for (const auto& c : kLandmarkColors) colors.push_back({c[0], c[1], c[2]});
  return draw_particle_world(world_, colors);
}

}  // namespace trustrl::envs::mpe
