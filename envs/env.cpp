#include "envs/env.h"

#include <cmath>

#include "core/error.h"
#include "core/text.h"

namespace trustrl::envs {

std::string EnvSpec::canonical() const {
  return id + ";obs=" + observation_space.canonical() + ";act=" + action_space.canonical() +
         ";max_steps=" + std::to_string(max_episode_steps);
}

void Env::reset(std::optional<std::uint64_t> seed, std::span<float> obs) {
  if (seed) rng_.reseed(*seed);
  elapsed_steps_ = 0;
  needs_reset_ = false;
  reset_impl(obs);
}

void Env::check_action(const Action& action) const {
  if (needs_reset_)
    throw Error(spec_.id + ": step() called without a running episode; call reset() first");
  const Space& space = spec_.action_space;
  const auto dim = static_cast<std::size_t>(space.flat_dim());
  if (space.is_discrete()) {
    if (action.discrete.size() != dim)
      throw Error(spec_.id + ": expected a discrete action of " + std::to_string(dim) +
                  " component(s), got " + std::to_string(action.discrete.size()));
    if (!space.contains(action.discrete)) {
      std::string values;
      for (auto a : action.discrete) values += (values.empty() ? "" : ", ") + std::to_string(a);
      throw Error(spec_.id + ": action " + values + " is outside " + space.describe());
    }
    return;
  }
  if (action.continuous.size() != dim)
    throw Error(spec_.id + ": expected a continuous action of " + std::to_string(dim) +
                " component(s), got " + std::to_string(action.continuous.size()));
  for (std::size_t i = 0; i < dim; ++i)
    if (!std::isfinite(action.continuous[i]))
      throw Error(spec_.id + ": action component " + std::to_string(i) + " is " +
                  format_number(action.continuous[i]) + "; actions must be finite");
}

StepResult Env::step(Action action, std::span<float> obs) {
  check_action(action);
  return step_checked(action, obs);
}

StepResult Env::step_checked(Action action, std::span<float> obs) {
  if (needs_reset_)
    throw Error(spec_.id + ": step() called without a running episode; call reset() first");
  StepResult r = step_impl(action, obs);
  ++elapsed_steps_;
  if (spec_.max_episode_steps > 0 && elapsed_steps_ >= spec_.max_episode_steps) r.truncated = true;
  if (r.terminated || r.truncated) needs_reset_ = true;
  return r;
}

void Env::save(ByteWriter& out) const {
  out.put_vector(get_state());
  out.put(rng_.state());
  out.put<std::int32_t>(elapsed_steps_);
  out.put<std::uint8_t>(needs_reset_);
}

void Env::load(ByteReader& in, std::span<float> obs) {
  const auto state = in.get_vector<double>();
  rng_.set_state(in.get<Rng::State>());
  elapsed_steps_ = in.get<std::int32_t>();
  needs_reset_ = in.get<std::uint8_t>() != 0;
  set_state(state, obs);
}

Frame Env::render() const { throw Error(spec_.id + " cannot render itself"); }

}  // namespace trustrl::envs
