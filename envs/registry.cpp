#include "envs/registry.h"

#include <limits>

#include "core/error.h"
#include "core/text.h"
#include "envs/single_agent_adapter.h"

namespace trustrl::envs {

namespace {

// Reads the option every env takes, builds the env, then refuses options nobody read.
template <typename Made, typename Factory>
std::unique_ptr<Made> build(const std::string& id, const OptionMap& options,
                            const Factory& factory) {
  EnvOptions opts(id, options);
  const bool override_limit = opts.has("max_episode_steps");
  // The env keeps its step limit as an int: larger values would wrap.
  const auto max_steps = opts.integer("max_episode_steps", 0,
                                      Bounds::closed(1, std::numeric_limits<std::int32_t>::max()));
  std::unique_ptr<Made> env = factory(opts);
  opts.finish();
  if (override_limit) env->set_time_limit(static_cast<int>(max_steps));
  return env;
}

}  // namespace

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
  if (static_cast<bool>(entry.factory) == static_cast<bool>(entry.multi_agent_factory))
    throw Error("env id '" + entry.id +
                "' needs exactly one factory: a plain env's or a multi-agent env's");
  const std::string id = entry.id;
  entries_.emplace(id, std::move(entry));
}

bool EnvRegistry::is_multi_agent(const std::string& id) const {
  const auto it = entries_.find(id);
  return it != entries_.end() && it->second.multi_agent();
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
  if (e.multi_agent())
    throw Error("'" + id + "' is a multi-agent env; it is trained with `algo: mappo`");
  return build<Env>(id, options, e.factory);
}

std::unique_ptr<MultiAgentEnv> EnvRegistry::make_multi_agent(const std::string& id,
                                                             const OptionMap& options) const {
  const EnvEntry& e = entry(id);
  if (e.multi_agent()) return build<MultiAgentEnv>(id, options, e.multi_agent_factory);
  return as_multi_agent(build<Env>(id, options, e.factory));
}

std::vector<std::string> EnvRegistry::ids() const {
  std::vector<std::string> out;
  for (const auto& [id, e] : entries_) out.push_back(id);
  return out;
}

std::vector<std::string> EnvRegistry::ids(bool multi_agent) const {
  std::vector<std::string> out;
  for (const auto& [id, e] : entries_)
    if (e.multi_agent() == multi_agent) out.push_back(id);
  return out;
}

std::unique_ptr<Env> make(const std::string& id, const OptionMap& options) {
  return EnvRegistry::global().make(id, options);
}

std::unique_ptr<MultiAgentEnv> make_multi_agent(const std::string& id, const OptionMap& options) {
  return EnvRegistry::global().make_multi_agent(id, options);
}

}  // namespace trustrl::envs
