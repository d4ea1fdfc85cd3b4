#include "envs/multi_agent_registry.h"

#include <limits>

#include "core/error.h"
#include "core/text.h"

namespace trustrl::envs {

MultiAgentRegistry& MultiAgentRegistry::global() {
  static MultiAgentRegistry* registry = [] {
    auto* r = new MultiAgentRegistry;
    register_builtin_multi_agent_envs(*r);
    return r;
  }();
  return *registry;
}

void MultiAgentRegistry::add(MultiAgentEnvEntry entry) {
  if (entries_.count(entry.id))
    throw Error("multi-agent env id '" + entry.id + "' is registered twice");
  const std::string id = entry.id;
  entries_.emplace(id, std::move(entry));
}

const MultiAgentEnvEntry& MultiAgentRegistry::entry(const std::string& id) const {
  const auto it = entries_.find(id);
  if (it == entries_.end()) {
    std::string message = "unknown multi-agent env id '" + id + "'";
    const std::string hint = closest(id, ids());
    message += hint.empty() ? " (`trustrl envs` lists them)" : " (did you mean '" + hint + "'?)";
    throw Error(message);
  }
  return it->second;
}

std::unique_ptr<MultiAgentEnv> MultiAgentRegistry::make(const std::string& id,
                                                        const OptionMap& options) const {
  const MultiAgentEnvEntry& e = entry(id);
  EnvOptions opts(id, options);
  const bool override_limit = opts.has("max_episode_steps");
  // The env keeps its step limit as an int: larger values would wrap.
  const auto max_steps = opts.integer("max_episode_steps", 0,
                                      Bounds::closed(1, std::numeric_limits<std::int32_t>::max()));
  std::unique_ptr<MultiAgentEnv> env = e.factory(opts);
  opts.finish();
  if (override_limit) env->set_time_limit(static_cast<int>(max_steps));
  return env;
}

std::vector<std::string> MultiAgentRegistry::ids() const {
  std::vector<std::string> out;
  for (const auto& [id, e] : entries_) out.push_back(id);
  return out;
}

std::unique_ptr<MultiAgentEnv> make_multi_agent(const std::string& id, const OptionMap& options) {
  return MultiAgentRegistry::global().make(id, options);
}

}  // namespace trustrl::envs
