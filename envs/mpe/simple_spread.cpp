#include "envs/mpe/simple_spread.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "envs/mpe/mpe_drawing.h"

namespace trustrl::envs::mpe {

RewardConvention read_reward_convention(EnvOptions& options, const std::string& env_id) {
  const std::string r = options.text("reward", "pettingzoo");
  if (r == "pettingzoo") return RewardConvention::kPettingZoo;
  if (r == "mappo") return RewardConvention::kMappo;
  throw Error(env_id + ": option 'reward' must be pettingzoo or mappo, got '" + r + "'");
}

const char* reward_convention_name(RewardConvention r) {
  return r == RewardConvention::kMappo ? "mappo" : "pettingzoo";
}

SimpleSpreadConfig SimpleSpreadConfig::from_options(EnvOptions& options) {
  SimpleSpreadConfig c;
  c.n = static_cast<int>(options.integer("n", 3, Bounds::closed(1, 64)));
  c.continuous_actions = options.flag("continuous_actions", false);
  c.reward = read_reward_convention(options, "simple_spread_v3");
  const bool mappo = c.reward == RewardConvention::kMappo;
  if (mappo && options.has("local_ratio"))
    throw Error("simple_spread_v3: option 'local_ratio' applies to reward: pettingzoo only");
  c.local_ratio = options.number("local_ratio", 0.5, Bounds::closed(0.0, 1.0));
  c.landmark_range = options.number("landmark_range", mappo ? 0.8 : 1.0, Bounds::positive());
  c.integration = read_integration(options, "simple_spread_v3");
  return c;
}

namespace {
MultiAgentSpec spread_spec(const SimpleSpreadConfig& c, const ParticleWorld& world) {
  MultiAgentSpec spec;
  spec.id = "simple_spread_v3";
  const auto obs_dim = static_cast<std::int64_t>(6 * c.n);
  const float inf = std::numeric_limits<float>::infinity();
  for (int i = 0; i < c.n; ++i) {
    spec.agent_names.push_back("agent_" + std::to_string(i));
    spec.observation_spaces.push_back(Space::box(-inf, inf, {obs_dim}));
    spec.action_spaces.push_back(world.action_space(i, c.continuous_actions));
  }
  spec.state_space = Space::box(-inf, inf, {obs_dim * c.n});
  spec.max_episode_steps = SimpleSpread::kMaxCycles;
  spec.render_fps = 10;  // PettingZoo's SimpleEnv metadata
  return spec;
}

ParticleWorld make_world(const SimpleSpreadConfig& c) {
  ParticleWorld world(SimpleSpread::kDimC, c.integration);
  for (int i = 0; i < c.n; ++i) {
    Entity agent;
    agent.movable = true;
    agent.collide = true;
    agent.silent = true;
    agent.size = SimpleSpread::kAgentSize;
    world.add_agent(agent);
  }
  for (int i = 0; i < c.n; ++i) {
    Entity landmark;
    landmark.movable = false;
    landmark.collide = false;
    world.add_landmark(landmark);
  }
  return world;
}
}  // namespace

SimpleSpread::SimpleSpread(const SimpleSpreadConfig& config)
    : MultiAgentEnv(spread_spec(config, make_world(config))),
      config_(config),
      world_(make_world(config)) {}

double SimpleSpread::global_reward() const {
  double rew = 0.0;
  for (const Entity& l : world_.landmarks()) {
    double nearest = std::numeric_limits<double>::infinity();
    for (const Entity& a : world_.agents())
      nearest = std::min(nearest, ParticleWorld::distance(a.pos, l.pos));
    rew -= nearest;
  }
  return rew;
}

int SimpleSpread::collisions(int agent, bool count_self) const {
  const Entity& me = world_.agents().at(static_cast<std::size_t>(agent));
  int count = 0;
  for (std::size_t j = 0; j < world_.agents().size(); ++j) {
    if (!count_self && static_cast<int>(j) == agent) continue;
    const Entity& other = world_.agents()[j];
    // The scenarios' is_collision: distance strictly below the sum of the radii.
    if (ParticleWorld::distance(other.pos, me.pos) < other.size + me.size) ++count;
  }
  return count;
}

void SimpleSpread::write_view(const MultiAgentView& out) const {
  const auto& agents = world_.agents();
  const auto& landmarks = world_.landmarks();
  const auto width = static_cast<std::size_t>(6 * config_.n);
  for (std::size_t i = 0; i < agents.size(); ++i) {
    const Entity& me = agents[i];
    float* o = out.observations.data() + i * width;
    std::size_t k = 0;
    o[k++] = static_cast<float>(me.vel.x);
    o[k++] = static_cast<float>(me.vel.y);
    o[k++] = static_cast<float>(me.pos.x);
    o[k++] = static_cast<float>(me.pos.y);
    for (const Entity& l : landmarks) {
      o[k++] = static_cast<float>(l.pos.x - me.pos.x);
      o[k++] = static_cast<float>(l.pos.y - me.pos.y);
    }
    for (std::size_t j = 0; j < agents.size(); ++j) {
      if (j == i) continue;
      o[k++] = static_cast<float>(agents[j].pos.x - me.pos.x);
      o[k++] = static_cast<float>(agents[j].pos.y - me.pos.y);
    }
    for (std::size_t j = 0; j < agents.size(); ++j) {
      if (j == i) continue;
      for (double c : agents[j].comm) o[k++] = static_cast<float>(c);
    }
  }
  // The global state is the observations back to back (rows have no padding here).
  std::copy_n(out.observations.begin(), out.state.size(), out.state.begin());
}

void SimpleSpread::reset_impl(const MultiAgentView& out) {
  for (Entity& a : world_.agents()) {
    a.pos = {rng().uniform(-1.0, 1.0), rng().uniform(-1.0, 1.0)};
    a.vel = {};
    std::fill(a.comm.begin(), a.comm.end(), 0.0);
  }
  const double r = config_.landmark_range;
  for (Entity& l : world_.landmarks()) {
    l.pos = {rng().uniform(-r, r), rng().uniform(-r, r)};
    l.vel = {};
  }
  write_view(out);
}

MultiAgentStepResult SimpleSpread::step_impl(const JointAction& action, const MultiAgentView& out,
                                             std::span<double> rewards) {
  const int n = config_.n;
  const auto width = static_cast<std::size_t>(spec().max_action_dim());
  for (int i = 0; i < n; ++i) {
    const std::size_t row = static_cast<std::size_t>(i) * width;
    if (config_.continuous_actions)
      world_.set_action(i, action.continuous.subspan(row, width));
    else
      world_.set_action(i, action.discrete[row]);
  }
  world_.step();

  const double g = global_reward();
  if (config_.reward == RewardConvention::kPettingZoo) {
    const double lr = config_.local_ratio;
    for (int i = 0; i < n; ++i)
      rewards[static_cast<std::size_t>(i)] = g * (1.0 - lr) - collisions(i, false) * lr;
  } else {
    // environment.py: reward_n[j] = scenario.reward(j), which is G minus 1 per agent within
    // collision distance of j, j itself included; then reward = np.sum(reward_n) and every agent
    // receives it. (numpy may associate the final sum differently: last-bit differences only.)
    double team = 0.0;
    for (int j = 0; j < n; ++j) {
      double own = g;
      for (int c = collisions(j, true); c > 0; --c) own -= 1.0;
      team += own;
    }
    std::fill(rewards.begin(), rewards.end(), team);
  }
  write_view(out);
  return {};
}

std::vector<double> SimpleSpread::get_state() const {
  std::vector<double> s;
  s.reserve(static_cast<std::size_t>(6 * config_.n));
  for (const Entity& a : world_.agents()) s.insert(s.end(), {a.pos.x, a.pos.y, a.vel.x, a.vel.y});
  for (const Entity& l : world_.landmarks()) s.insert(s.end(), {l.pos.x, l.pos.y});
  return s;
}

void SimpleSpread::set_state_impl(std::span<const double> state, const MultiAgentView& out) {
  const auto n = static_cast<std::size_t>(config_.n);
  if (state.size() != 6 * n)
    throw Error("simple_spread_v3: state needs " + std::to_string(6 * n) +
                " values (per agent pos.x, pos.y, vel.x, vel.y; per landmark pos.x, pos.y), got " +
                std::to_string(state.size()));
  for (std::size_t i = 0; i < n; ++i) {
    Entity& a = world_.agents()[i];
    a.pos = {state[4 * i], state[4 * i + 1]};
    a.vel = {state[4 * i + 2], state[4 * i + 3]};
  }
  for (std::size_t l = 0; l < n; ++l)
    world_.landmarks()[l].pos = {state[4 * n + 2 * l], state[4 * n + 2 * l + 1]};
  write_view(out);
}

}  // namespace trustrl::envs::mpe

namespace trustrl::envs::mpe {

Frame SimpleSpread::render() const {
  // simple_spread.py reset_world: agents (0.35, 0.35, 0.85), landmarks (0.25, 0.25, 0.25).
  std::vector<EntityColor> colors(world_.agents().size(), EntityColor{0.35, 0.35, 0.85});
  colors.resize(colors.size() + world_.landmarks().size(), EntityColor{0.25, 0.25, 0.25});
  return draw_particle_world(world_, colors);
}

}  // namespace trustrl::envs::mpe
