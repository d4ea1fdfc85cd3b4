#pragma once
// The "particle world" physics of the Multi-Agent Particle Environments (MPE; Lowe et al. 2017,
// Mordatch & Abbeel 2018), as in OpenAI's multiagent-particle-envs `multiagent/core.py` and
// PettingZoo's `pettingzoo/mpe/_mpe_utils/core.py` (World.step), with the action handling of
// PettingZoo's `_mpe_utils/simple_env.py` (SimpleEnv._set_action). MAPPO's reference code
// (marlbenchmark/on-policy, onpolicy/envs/mpe/core.py) uses the same physics.
//
// One world step, per the reference:
//   1. force_i = action_u_i for every movable agent (already scaled by its sensitivity),
//   2. for every pair a < b over (agents, then landmarks) where both collide: a soft contact
//      force  f = contact_force * (p_a - p_b) / |p_a - p_b| * k * softplus(-(|p_a - p_b| - (s_a
//      + s_b)) / k)  with k = contact_margin, +f to a and -f to b (each only if movable),
//   3. for every movable entity, in the order `Integration` names:
//      pettingzoo (PettingZoo's core.py since its PR #970, the default): p += v * dt with the old
//        velocity, then v *= (1 - damping); v += force / mass * dt; |v| capped at max_speed;
//      original_mpe (OpenAI's core.py and MAPPO's): the velocity update first, then p += v * dt
//        with the new velocity,
//   4. every agent's utterance becomes its communication action (zeros for silent agents).
// The reference keeps its state in float64 numpy arrays; so does this file (double).

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "envs/options.h"
#include "envs/space.h"

namespace trustrl::envs::mpe {

struct Vec2 {
  double x = 0.0;
  double y = 0.0;
};

/// An agent or a landmark. Defaults are the reference's Entity defaults.
struct Entity {
  Vec2 pos;
  Vec2 vel;
  /// Radius.
  double size = 0.05;
  /// The reference's initial_mass.
  double mass = 1.0;
  bool movable = false;
  bool collide = true;
  /// Speed limit; 0 means none (the reference's None).
  double max_speed = 0.0;
  /// Agents only: action force scale; 0 means the default sensitivity, 5 (the reference's None).
  double accel = 0.0;
  /// Agents only: a silent agent cannot speak (its utterance is all zero).
  bool silent = false;
  /// Agents only: this step's physical action force (after scaling) and utterance ([dim_c]).
  Vec2 action_u;
  std::vector<double> action_c;
  /// Agents only: the utterance others observe ([dim_c]), the reference's state.c.
  std::vector<double> comm;
};

/// The order of the position and velocity updates in a world step (see the file comment).
enum class Integration { kPettingZoo, kOriginalMpe };

/// Reads option `integration` ("pettingzoo", the default, or "original_mpe"); throws Error naming
/// the env and the allowed values.
Integration read_integration(EnvOptions& options, const std::string& env_id);

class ParticleWorld {
 public:
  // World constants, the same in OpenAI's core.py, PettingZoo's core.py and MAPPO's core.py.
  static constexpr double kDt = 0.1;
  static constexpr double kDamping = 0.25;
  static constexpr double kContactForce = 1e2;
  static constexpr double kContactMargin = 1e-3;
  // simple_env.py _set_action: "sensitivity = 5.0" unless the agent sets accel.
  static constexpr double kDefaultSensitivity = 5.0;
  // Movement actions: no-op, -x, +x, -y, +y (PettingZoo's [no_action, move_left, move_right,
  // move_down, move_up]).
  static constexpr int kMoveActions = 5;

  /// `dim_c`: the communication channel's size.
  explicit ParticleWorld(int dim_c, Integration integration = Integration::kPettingZoo)
      : dim_c_(dim_c), integration_(integration) {}

  int dim_c() const { return dim_c_; }
  Integration integration() const { return integration_; }
  /// Adds an agent (movable by default, as in the reference) or a landmark; returns its index.
  int add_agent(Entity e);
  int add_landmark(Entity e);

  std::vector<Entity>& agents() { return agents_; }
  const std::vector<Entity>& agents() const { return agents_; }
  std::vector<Entity>& landmarks() { return landmarks_; }
  const std::vector<Entity>& landmarks() const { return landmarks_; }

  /// The agent's action space as PettingZoo's SimpleEnv builds it. Discrete: 5 moves if movable,
  /// times dim_c words if it speaks (the action is move + 5 * word). Continuous: Box(0, 1) with 5
  /// move components if movable plus dim_c utterance components if it speaks.
  Space action_space(int agent, bool continuous) const;

  /// Sets the agent's action for the next step() from a discrete value in its action space.
  void set_action(int agent, std::int64_t action);
  /// The same from a continuous action (clipped to [0, 1] first, as PettingZoo's
  /// ClipOutOfBoundsWrapper does): the force is (a[2] - a[1], a[4] - a[3]) * sensitivity, the
  /// differences taken in float32 as PettingZoo takes them on the float32 action, and the
  /// utterance the components after the first five.
  void set_action(int agent, std::span<const float> action);

  /// One physics step (see the file comment).
  void step();

  /// |a - b|.
  static double distance(const Vec2& a, const Vec2& b);

 private:
  double sensitivity(const Entity& agent) const;
  // The reference's get_collision_force for one pair; false if they exert no force.
  bool collision_force(const Entity& a, const Entity& b, Vec2& force_on_a) const;

  int dim_c_;
  Integration integration_;
  std::vector<Entity> agents_;
  std::vector<Entity> landmarks_;
  std::vector<Vec2> forces_;  // scratch, one per entity
};

}  // namespace trustrl::envs::mpe
