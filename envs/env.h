#pragma once
// The single-agent environment interface, with Gymnasium's semantics.
//
// `terminated` (a terminal state of the MDP: do not bootstrap) and `truncated` (the time limit or
// an external cut: bootstrap from the final observation) are kept apart. As in Gymnasium's
// TimeLimit wrapper, both can be true on the same step. The base class, not each env, counts
// steps and sets `truncated`, so no env can get the time limit wrong (EnvPool does the same).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/rng.h"
#include "envs/frame.h"
#include "envs/space.h"

namespace trustrl::envs {

struct EnvSpec {
  std::string id;
  Space observation_space;
  Space action_space;
  /// Steps after which an episode is truncated; 0 means no limit.
  int max_episode_steps = 0;
  /// The return at which the task counts as solved, if it has one.
  std::optional<double> reward_threshold;
  /// Frames per second of a recording.
  int render_fps = 30;

  /// A stable text of everything two processes must agree on (id, spaces, time limit).
  std::string canonical() const;
};

struct StepResult {
  double reward = 0.0;
  bool terminated = false;
  bool truncated = false;
};

/// One env's action: `discrete` for Discrete/MultiDiscrete spaces (int64 per component),
/// `continuous` for Box spaces (float32 per component). The other span is empty.
struct Action {
  std::span<const std::int64_t> discrete;
  std::span<const float> continuous;
};

class Env {
 public:
  explicit Env(EnvSpec spec) : spec_(std::move(spec)) {}
  virtual ~Env() = default;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  const EnvSpec& spec() const { return spec_; }
  std::int64_t obs_dim() const { return spec_.observation_space.flat_dim(); }
  std::int64_t action_dim() const { return spec_.action_space.flat_dim(); }

  /// Starts an episode and writes its first observation into `obs` (obs_dim floats). With a seed,
  /// the env's RNG is reseeded first; without one it carries on (Gymnasium's reset(seed=None)).
  void reset(std::optional<std::uint64_t> seed, std::span<float> obs);

  /// Applies `action` and writes the next observation. Throws Error naming the problem for an
  /// action of the wrong size, a discrete action outside the space, a non-finite continuous
  /// action, or a step without a running episode (call reset() after terminated or truncated).
  /// Out-of-range continuous actions are the env's to clip, as in Gymnasium.
  StepResult step(Action action, std::span<float> obs);
  /// step() for an action that already passed the same checks (single_agent_adapter.h's base
  /// class checks it), so a hot loop checks each action once. Still refuses a step without a
  /// running episode.
  StepResult step_checked(Action action, std::span<float> obs);
  /// Throws what step() would throw for `action` in the env's current state, and does nothing
  /// else (a vector env checks every copy before stepping any).
  void check_action(const Action& action) const;

  /// Replaces the spec's time limit (Gymnasium's make(..., max_episode_steps=N)); 0 removes it.
  void set_time_limit(int max_episode_steps) { spec_.max_episode_steps = max_episode_steps; }

  /// Steps taken in the current episode.
  int elapsed_steps() const { return elapsed_steps_; }
  /// True before the first reset and after an episode has ended.
  bool needs_reset() const { return needs_reset_; }

  /// The env's full internal state as doubles (layout documented by each env), for tests.
  virtual std::vector<double> get_state() const = 0;
  /// Puts the env in `state` (as get_state() returns it) mid-episode and writes the matching
  /// observation. The step counter is kept.
  virtual void set_state(std::span<const double> state, std::span<float> obs) = 0;

  /// Whether save()/load() can capture the env exactly (Box2D worlds cannot).
  virtual bool can_snapshot() const { return true; }
  /// Everything needed to continue exactly: state, RNG, step counter.
  virtual void save(ByteWriter& out) const;
  /// Restores what save() wrote and writes the current observation into `obs`.
  virtual void load(ByteReader& in, std::span<float> obs);

  /// Steps ended because the simulation became unstable (a physics engine's warning: NaN or
  /// huge positions, velocities or accelerations), since construction; such a step terminates
  /// the episode. 0 for envs that cannot become unstable.
  virtual std::int64_t unstable_steps() const { return 0; }

  /// A picture of the current scene. Throws Error if the env cannot draw itself.
  virtual Frame render() const;

 protected:
  /// Draws the initial state from rng() and writes the first observation.
  virtual void reset_impl(std::span<float> obs) = 0;
  /// One transition; `truncated` is set by the caller from the time limit.
  virtual StepResult step_impl(Action action, std::span<float> obs) = 0;
  Rng& rng() { return rng_; }

 private:
  EnvSpec spec_;
  Rng rng_{0};
  int elapsed_steps_ = 0;
  bool needs_reset_ = true;
};

}  // namespace trustrl::envs
