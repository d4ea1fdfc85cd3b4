#include "envs/box2d/multiwalker.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "envs/box2d/walker_drawing.h"
#include "envs/render/canvas.h"

namespace trustrl::envs {

namespace {

constexpr const char* kId = "multiwalker_v9";
// PettingZoo's MAX_AGENTS.
constexpr int kMaxWalkers = 40;

MultiAgentSpec multiwalker_spec(const MultiWalkerConfig& c) {
  const float inf = std::numeric_limits<float>::infinity();
  MultiAgentSpec spec;
  spec.id = kId;
  for (int i = 0; i < c.n_walkers; ++i) {
    spec.agent_names.push_back("walker_" + std::to_string(i));
    // PettingZoo declares Box(-inf, inf, (31,)).
    spec.observation_spaces.push_back(Space::box(-inf, inf, {MultiWalker::kObsDim}));
    spec.action_spaces.push_back(Space::box(-1.0f, 1.0f, {MultiWalker::kActionDim}));
  }
  spec.state_space =
      Space::box(-inf, inf, {static_cast<std::int64_t>(MultiWalker::kObsDim) * c.n_walkers});
  spec.max_episode_steps = c.max_cycles;
  spec.render_fps = static_cast<int>(MultiWalkerWorld::kFps);
  return spec;
}

}  // namespace

MultiWalkerConfig MultiWalkerConfig::from_options(EnvOptions& options) {
  MultiWalkerConfig c;
  c.n_walkers =
      static_cast<int>(options.integer("n_walkers", c.n_walkers, Bounds::closed(1, kMaxWalkers)));
  c.position_noise = options.number("position_noise", c.position_noise, Bounds::non_negative());
  c.angle_noise = options.number("angle_noise", c.angle_noise, Bounds::non_negative());
  c.forward_reward = options.number("forward_reward", c.forward_reward);
  c.terminate_reward = options.number("terminate_reward", c.terminate_reward);
  c.fall_reward = options.number("fall_reward", c.fall_reward);
  c.shared_reward = options.flag("shared_reward", c.shared_reward);
  c.terminate_on_fall = options.flag("terminate_on_fall", c.terminate_on_fall);
  c.remove_on_fall = options.flag("remove_on_fall", c.remove_on_fall);
  c.terrain_length = static_cast<int>(
      options.integer("terrain_length", c.terrain_length,
                      Bounds::at_least(MultiWalkerWorld::min_terrain_length(c.n_walkers))));
  // The registry applies max_episode_steps after construction; two names for one limit would
  // leave the user guessing which one won.
  if (options.has("max_cycles") && options.has("max_episode_steps"))
    throw Error(std::string(kId) +
                ": give max_cycles or max_episode_steps, not both (they name the same limit)");
  c.max_cycles =
      static_cast<int>(options.integer("max_cycles", c.max_cycles, Bounds::closed(1, 1e9)));
  c.joint_limits = read_joint_limit_rule(options, kId);
  return c;
}

MultiWalker::MultiWalker(const MultiWalkerConfig& config)
    : MultiAgentEnv(multiwalker_spec(config)),
      config_(config),
      world_(config.n_walkers, config.terrain_length, config.joint_limits),
      prev_shaping_(static_cast<std::size_t>(config.n_walkers), 0.0),
      raw_rewards_(static_cast<std::size_t>(config.n_walkers), 0.0) {}

namespace {
// -5 |hull angle|: keep the head level (PettingZoo's per-walker shaping).
double walker_shaping(const WalkerBody& w) { return -5.0 * std::fabs(w.hull_kinematics().angle); }
}  // namespace

void MultiWalker::write_observations(const MultiAgentView& out) {
  const int n = world_.n_walkers();
  const double length = world_.package_length();
  const BodyKinematics package = world_.package_kinematics();
  auto noisy = [this](double mean, double sd) { return mean + sd * rng().normal(); };
  std::array<double, WalkerBody::kStateDim> s{};
  for (int i = 0; i < n; ++i) {
    float* o = out.observations.data() + static_cast<std::size_t>(i) * kObsDim;
    if (!world_.present(i)) {
      std::fill(o, o + kObsDim, 0.0f);
      continue;
    }
    const WalkerBody& me = world_.walker(i);
    me.state(s);
    for (std::size_t k = 0; k < s.size(); ++k) o[k] = static_cast<float>(s[k]);
    const BodyKinematics hull = me.hull_kinematics();
    std::size_t k = s.size();
    for (const int j : {i - 1, i + 1}) {
      if (j < 0 || j >= n || !world_.present(j)) {
        o[k++] = 0.0f;
        o[k++] = 0.0f;
        continue;
      }
      const BodyKinematics other = world_.walker(j).hull_kinematics();
      o[k++] = static_cast<float>(noisy((other.x - hull.x) / length, config_.position_noise));
      o[k++] = static_cast<float>(noisy((other.y - hull.y) / length, config_.position_noise));
    }
    o[k++] = static_cast<float>(noisy((package.x - hull.x) / length, config_.position_noise));
    o[k++] = static_cast<float>(noisy((package.y - hull.y) / length, config_.position_noise));
    o[k++] = static_cast<float>(noisy(package.angle, config_.angle_noise));
  }
  // The global state: the observation rows back to back (they have no padding).
  std::copy_n(out.observations.begin(), out.state.size(), out.state.begin());
}

void MultiWalker::reset_shaping() {
  for (int i = 0; i < world_.n_walkers(); ++i)
    if (world_.present(i))
      prev_shaping_[static_cast<std::size_t>(i)] = walker_shaping(world_.walker(i));
  prev_package_shaping_ =
      config_.forward_reward * 130.0 * world_.package_kinematics().x / WalkerBody::kScale;
}

MultiWalker::Outcome MultiWalker::reward_and_handle_falls() {
  const int n = world_.n_walkers();
  std::fill(raw_rewards_.begin(), raw_rewards_.end(), 0.0);
  for (int i = 0; i < n; ++i) {
    if (!world_.present(i)) continue;
    const auto k = static_cast<std::size_t>(i);
    const double shaping = walker_shaping(world_.walker(i));
    raw_rewards_[k] = shaping - prev_shaping_[k];
    prev_shaping_[k] = shaping;
  }
  // Moving the package forward is the task: 130 per 30 m of progress, as BipedalWalker's hull.
  const BodyKinematics package = world_.package_kinematics();
  const double package_shaping = config_.forward_reward * 130.0 * package.x / WalkerBody::kScale;
  for (double& r : raw_rewards_) r += package_shaping - prev_package_shaping_;
  prev_package_shaping_ = package_shaping;

  // PettingZoo keeps a walker's fallen flag for the rest of the episode and charges it again on
  // every step (kept as is: docs/MULTI_AGENT.md).
  bool any_fallen = false;
  for (int i = 0; i < n; ++i) {
    if (!world_.fallen(i)) continue;
    any_fallen = true;
    const auto k = static_cast<std::size_t>(i);
    raw_rewards_[k] += config_.fall_reward;
    if (config_.remove_on_fall && world_.present(i)) world_.remove_walker(i);
    if (!config_.terminate_on_fall) raw_rewards_[k] += config_.terminate_reward;
  }
  Outcome outcome;
  outcome.failed =
      (config_.terminate_on_fall && any_fallen) || world_.package_dropped() || package.x < 0;
  if (outcome.failed) {
    for (double& r : raw_rewards_) r += config_.terminate_reward;
  } else {
    outcome.finished = package.x > world_.finish_x();
  }
  return outcome;
}

void MultiWalker::reset_impl(const MultiAgentView& out) {
  world_.reset(rng());
  std::fill(prev_shaping_.begin(), prev_shaping_.end(), 0.0);
  prev_package_shaping_ = 0.0;
  // PettingZoo's reset runs its step bookkeeping once without stepping the world: first
  // observations, and the shaping baselines (the rewards are dropped).
  write_observations(out);
  reward_and_handle_falls();
  std::fill(raw_rewards_.begin(), raw_rewards_.end(), 0.0);
}

MultiAgentStepResult MultiWalker::step_impl(const JointAction& action, const MultiAgentView& out,
                                            std::span<double> rewards) {
  const int n = world_.n_walkers();
  const auto width = static_cast<std::size_t>(spec().max_action_dim());
  for (int i = 0; i < n; ++i)
    if (out.active[static_cast<std::size_t>(i)])
      world_.apply_action(i, action.continuous.subspan(static_cast<std::size_t>(i) * width,
                                                       static_cast<std::size_t>(kActionDim)));
  world_.step();
  write_observations(out);
  const Outcome outcome = reward_and_handle_falls();

  // shared_reward: PettingZoo's mean over all N walkers, removed ones included.
  const double mean =
      std::accumulate(raw_rewards_.begin(), raw_rewards_.end(), 0.0) / static_cast<double>(n);
  bool any_active = false;
  for (int i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (!out.active[k]) continue;  // inactive before the step: reward 0
    rewards[k] = config_.shared_reward ? mean : raw_rewards_[k];
    if (world_.fallen(i))
      out.active[k] = 0;
    else
      any_active = true;
  }
  return {outcome.failed || outcome.finished || !any_active, false};
}

std::vector<double> MultiWalker::get_state() const {
  if (!world_.built()) throw Error(std::string(kId) + ": get_state() needs reset() first");
  std::vector<double> s;
  s.reserve(static_cast<std::size_t>(kStateValuesPerWalker * world_.n_walkers() + 6));
  for (int i = 0; i < world_.n_walkers(); ++i) {
    BodyKinematics k;
    if (world_.present(i)) k = world_.walker(i).hull_kinematics();
    s.insert(s.end(), {k.x, k.y, k.angle, k.vx, k.vy, k.angular_velocity,
                       static_cast<double>(active()[static_cast<std::size_t>(i)])});
  }
  const BodyKinematics p = world_.package_kinematics();
  s.insert(s.end(), {p.x, p.y, p.angle, p.vx, p.vy, p.angular_velocity});
  return s;
}

void MultiWalker::set_state_impl(std::span<const double> state, const MultiAgentView& out) {
  if (!world_.built()) throw Error(std::string(kId) + ": set_state() needs reset() first");
  const int n = world_.n_walkers();
  const auto expected = static_cast<std::size_t>(kStateValuesPerWalker * n + 6);
  if (state.size() != expected)
    throw Error(std::string(kId) + ": state needs " + std::to_string(expected) +
                " values (per walker hull x, y, angle, vx, vy, angular_velocity, active; then the "
                "package's x, y, angle, vx, vy, angular_velocity), got " +
                std::to_string(state.size()));
  for (double v : state)
    if (!std::isfinite(v)) throw Error(std::string(kId) + ": state values must be finite");
  bool any_active = false;
  for (int i = 0; i < n; ++i) {
    const double flag = state[static_cast<std::size_t>(kStateValuesPerWalker * i + 6)];
    if (flag != 0.0 && flag != 1.0)
      throw Error(std::string(kId) + ": walker " + std::to_string(i) +
                  "'s active value must be 0 or 1, got " + std::to_string(flag));
    if (flag == 1.0 && !world_.present(i))
      throw Error(std::string(kId) + ": walker " + std::to_string(i) +
                  " was removed when it fell and cannot be made active again; reset() first");
    any_active = any_active || flag == 1.0;
  }
  if (!any_active) throw Error(std::string(kId) + ": a state needs at least one active walker");

  for (int i = 0; i < n; ++i) {
    const std::size_t b = static_cast<std::size_t>(kStateValuesPerWalker * i);
    const bool active = state[b + 6] == 1.0;
    if (world_.present(i))
      world_.place_walker(
          i, {state[b], state[b + 1], state[b + 2], state[b + 3], state[b + 4], state[b + 5]});
    world_.set_fallen(i, !active);
    if (!active && config_.remove_on_fall && world_.present(i)) world_.remove_walker(i);
    out.active[static_cast<std::size_t>(i)] = active ? 1 : 0;
  }
  const std::size_t p = expected - 6;
  world_.place_package(
      {state[p], state[p + 1], state[p + 2], state[p + 3], state[p + 4], state[p + 5]});
  world_.set_package_dropped(false);
  world_.scan_lidar();
  reset_shaping();
  write_observations(out);
}

void MultiWalker::save(ByteWriter&) const {
  throw Error(std::string(kId) +
              ": a Box2D world cannot be saved exactly, so this env has no save()/load()");
}

void MultiWalker::load(ByteReader&, const MultiAgentView&) {
  throw Error(std::string(kId) +
              ": a Box2D world cannot be restored exactly, so this env has no save()/load()");
}

Frame MultiWalker::render() const {
  if (!world_.built()) throw Error(std::string(kId) + ": render() needs reset() first");
  // multiwalker_base.py: render_scale = SCALE / package_scale / 0.75 px per metre; the scroll is
  // the walkers' mean x (a removed walker counts as x = 0, as there) minus a fifth of the
  // viewport and the spread of the walkers at the start.
  const int n = world_.n_walkers();
  double mean_x = 0.0;
  for (int i = 0; i < n; ++i)
    if (world_.present(i)) mean_x += world_.walker(i).hull_kinematics().x;
  mean_x /= n;
  const double scroll = mean_x - WalkerBody::kViewportW / WalkerBody::kScale / 5 -
                        (n - 1) * MultiWalkerWorld::kWalkerSeparation * WalkerTerrain::kStep;
  const WalkerCamera camera{scroll, WalkerBody::kScale / world_.package_scale() / 0.75, scroll / 2};
  // The package: color1 (127, 102, 229), color2 (76, 76, 127).
  constexpr Color kPackageFill{127, 102, 229};
  constexpr Color kPackageOutline{76, 76, 127};

  Canvas canvas(static_cast<int>(WalkerBody::kViewportW), static_cast<int>(WalkerBody::kViewportH));
  draw_walker_backdrop(canvas, camera, world_.terrain(), world_.clouds());
  for (int i = 0; i < n; ++i) draw_walker_lidar(canvas, world_.walker(i));
  draw_walker_terrain(canvas, camera, world_.terrain());
  draw_body_polygon(canvas, world_.package_polygon(), kPackageFill, kPackageOutline);
  for (int i = 0; i < n; ++i) draw_walker(canvas, world_.walker(i));
  draw_walker_start_flag(canvas);
  return canvas.to_frame();
}

}  // namespace trustrl::envs
