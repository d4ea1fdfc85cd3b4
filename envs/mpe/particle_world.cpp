#include "envs/mpe/particle_world.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace trustrl::envs::mpe {

namespace {
// numpy.logaddexp(0, x), computed the way numpy does it (stable for large |x|).
double softplus(double x) {
  if (x == 0.0) return std::log(2.0);
  return x > 0.0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}
}  // namespace

Integration read_integration(EnvOptions& options, const std::string& env_id) {
  const std::string i = options.text("integration", "pettingzoo");
  if (i == "pettingzoo") return Integration::kPettingZoo;
  if (i == "original_mpe") return Integration::kOriginalMpe;
  throw Error(env_id + ": option 'integration' must be pettingzoo or original_mpe, got '" + i +
              "'");
}

int ParticleWorld::add_agent(Entity e) {
  e.action_c.assign(static_cast<std::size_t>(dim_c_), 0.0);
  e.comm.assign(static_cast<std::size_t>(dim_c_), 0.0);
  agents_.push_back(std::move(e));
  return static_cast<int>(agents_.size()) - 1;
}

int ParticleWorld::add_landmark(Entity e) {
  landmarks_.push_back(std::move(e));
  return static_cast<int>(landmarks_.size()) - 1;
}

double ParticleWorld::distance(const Vec2& a, const Vec2& b) {
  const double dx = a.x - b.x, dy = a.y - b.y;
  return std::sqrt(dx * dx + dy * dy);
}

double ParticleWorld::sensitivity(const Entity& agent) const {
  return agent.accel > 0.0 ? agent.accel : kDefaultSensitivity;
}

Space ParticleWorld::action_space(int agent, bool continuous) const {
  const Entity& e = agents_.at(static_cast<std::size_t>(agent));
  if (continuous) {
    const std::int64_t dim = (e.movable ? kMoveActions : 0) + (e.silent ? 0 : dim_c_);
    return Space::box(0.0f, 1.0f, {dim});
  }
  std::int64_t n = e.movable ? kMoveActions : 1;
  if (!e.silent) n *= dim_c_;
  return Space::discrete(n);
}

void ParticleWorld::set_action(int agent, std::int64_t action) {
  Entity& e = agents_.at(static_cast<std::size_t>(agent));
  e.action_u = {};
  std::fill(e.action_c.begin(), e.action_c.end(), 0.0);
  if (e.movable) {
    const std::int64_t move = action % kMoveActions;
    action /= kMoveActions;
    const double s = sensitivity(e);
    if (move == 1) e.action_u.x = -s;
    if (move == 2) e.action_u.x = +s;
    if (move == 3) e.action_u.y = -s;
    if (move == 4) e.action_u.y = +s;
  }
  if (!e.silent) e.action_c.at(static_cast<std::size_t>(action)) = 1.0;
}

void ParticleWorld::set_action(int agent, std::span<const float> action) {
  Entity& e = agents_.at(static_cast<std::size_t>(agent));
  auto at = [&](std::size_t i) { return std::clamp(action[i], 0.0f, 1.0f); };
  e.action_u = {};
  std::fill(e.action_c.begin(), e.action_c.end(), 0.0);
  std::size_t next = 0;
  if (e.movable) {
    const double s = sensitivity(e);
    const float dx = at(2) - at(1), dy = at(4) - at(3);
    e.action_u.x = static_cast<double>(dx) * s;
    e.action_u.y = static_cast<double>(dy) * s;
    next = kMoveActions;
  }
  if (!e.silent)
    for (std::size_t k = 0; k < e.action_c.size(); ++k) e.action_c[k] = at(next + k);
}

bool ParticleWorld::collision_force(const Entity& a, const Entity& b, Vec2& force_on_a) const {
  if (!a.collide || !b.collide) return false;
  const double dx = a.pos.x - b.pos.x, dy = a.pos.y - b.pos.y;
  const double dist = std::sqrt(dx * dx + dy * dy);
  // The reference divides by the distance and yields NaN for coincident centres; the contact
  // direction is undefined there, so no force is applied (a measure-zero event).
  if (dist == 0.0) return false;
  const double dist_min = a.size + b.size;
  const double k = kContactMargin;
  const double penetration = softplus(-(dist - dist_min) / k) * k;
  force_on_a = {kContactForce * dx / dist * penetration, kContactForce * dy / dist * penetration};
  return true;
}

void ParticleWorld::step() {
  const std::size_t num_agents = agents_.size();
  const std::size_t n = num_agents + landmarks_.size();
  auto entity = [&](std::size_t i) -> Entity& {
    return i < num_agents ? agents_[i] : landmarks_[i - num_agents];
  };
  // 1. action forces
  forces_.assign(n, Vec2{});
  for (std::size_t i = 0; i < num_agents; ++i)
    if (agents_[i].movable) forces_[i] = agents_[i].action_u;
  // 2. contact forces, pairs in the reference's order
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t b = a + 1; b < n; ++b) {
      Entity& ea = entity(a);
      Entity& eb = entity(b);
      Vec2 f;
      if (!collision_force(ea, eb, f)) continue;
      if (ea.movable) forces_[a] = {f.x + forces_[a].x, f.y + forces_[a].y};
      if (eb.movable) forces_[b] = {-f.x + forces_[b].x, -f.y + forces_[b].y};
    }
  }
  // 3. integration
  for (std::size_t i = 0; i < n; ++i) {
    Entity& e = entity(i);
    if (!e.movable) continue;
    const bool move_first = integration_ == Integration::kPettingZoo;
    if (move_first) {
      e.pos.x += e.vel.x * kDt;
      e.pos.y += e.vel.y * kDt;
    }
    e.vel.x *= 1.0 - kDamping;
    e.vel.y *= 1.0 - kDamping;
    e.vel.x += (forces_[i].x / e.mass) * kDt;
    e.vel.y += (forces_[i].y / e.mass) * kDt;
    if (e.max_speed > 0.0) {
      const double speed = std::sqrt(e.vel.x * e.vel.x + e.vel.y * e.vel.y);
      if (speed > e.max_speed) {
        e.vel.x = e.vel.x / speed * e.max_speed;
        e.vel.y = e.vel.y / speed * e.max_speed;
      }
    }
    if (!move_first) {
      e.pos.x += e.vel.x * kDt;
      e.pos.y += e.vel.y * kDt;
    }
  }
  // 4. utterances
  for (Entity& agent : agents_) {
    if (agent.silent)
      std::fill(agent.comm.begin(), agent.comm.end(), 0.0);
    else
      agent.comm = agent.action_c;
  }
}

}  // namespace trustrl::envs::mpe
