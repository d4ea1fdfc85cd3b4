#pragma once
// What the MuJoCo env tests share: an env made directly (to reach its info() and sim()), a
// buffer for its observations, and a state check that a step of the physics leaves alone.

#include <memory>
#include <string>
#include <vector>

#include "envs/env.h"
#include "envs/options.h"

namespace trustrl::envs {

/// The env class E built from `values` as the registry would build `id`; unknown options throw.
template <typename E>
std::unique_ptr<E> make_env(const std::string& id, const OptionMap& values = {}, int version = 5) {
  EnvOptions options(id, values);
  auto env = std::make_unique<E>(options, version);
  options.finish();
  return env;
}

inline std::vector<float> obs_for(const Env& env) {
  return std::vector<float>(static_cast<std::size_t>(env.obs_dim()));
}

/// `qpos` and `qvel` put together, as Env::set_state takes them (Gymnasium's set_state).
inline std::vector<double> qpos_qvel(std::vector<double> qpos, const std::vector<double>& qvel) {
  qpos.insert(qpos.end(), qvel.begin(), qvel.end());
  return qpos;
}

}  // namespace trustrl::envs
