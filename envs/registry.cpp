#include "envs/registry.h"

#include <limits>

#include "core/error.h"
#include "core/text.h"

namespace trustrl::envs {

EnvRegistry& EnvRegistry::global() {
  static EnvRegistry* registry = [] {
    auto* r = new EnvRegistry;
    register_builtin_envs(*r);
    return r;
  }();
  return *registry;
}

void EnvRegistry::add(EnvEntry entry) {
  if (entries_.count(entry.id)) throw Error("env id '" + entry.id + "' is registered twice");
  const std::string id = entry.id;
  entries_.emplace(id, std::move(entry));
}

const EnvEntry& EnvRegistry::entry(const std::string& id) const {
  const auto it = entries_.find(id);
  if (it == entries_.end()) {
    std::string message = "unknown env id '" + id + "'";
    const std::string hint = closest(id, ids());
    message += hint.empty() ? " (`trustrl envs` lists them)" : " (did you mean '" + hint + "'?)";
    throw Error(message);
  }
  return it->second;
}

std::unique_ptr<Env> EnvRegistry::make(const std::string& id, const OptionMap& options) const {
  const EnvEntry& e = entry(id);
  EnvOptions opts(id, options);
  const bool override_limit = opts.has("max_episode_steps");
  // The env keeps its step limit as an int: larger values would wrap.
  const auto max_steps = opts.integer("max_episode_steps", 0,
                                      Bounds::closed(1, std::numeric_limits<std::int32_t>::max()));
  std::unique_ptr<Env> env = e.factory(opts);
  opts.finish();
  if (override_limit) env->set_time_limit(static_cast<int>(max_steps));
  return env;
}

std::vector<std::string> EnvRegistry::ids() const {
  std::vector<std::string> out;
  for (const auto& [id, e] : entries_) out.push_back(id);
  return out;
}

std::unique_ptr<Env> make(const std::string& id, const OptionMap& options) {
  return EnvRegistry::global().make(id, options);
}

}  // namespace trustrl::envs
