#pragma once
// Env ids to factories, one registry for single- and multi-agent envs: make("CartPole-v1"),
// make_multi_agent("simple_spread_v3"), and make_multi_agent("CartPole-v1") for a plain env seen
// as one agent (single_agent_adapter.h), which is how everything below the authoring API takes it.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "envs/env.h"
#include "envs/multi_agent_env.h"
#include "envs/options.h"

namespace trustrl::envs {

/// Builds an env from its options; reads every option it understands through EnvOptions.
using EnvFactory = std::function<std::unique_ptr<Env>(EnvOptions&)>;
using MultiAgentEnvFactory = std::function<std::unique_ptr<MultiAgentEnv>(EnvOptions&)>;

/// A registered id: exactly one of the two factories is set.
struct EnvEntry {
  std::string id;
  std::string description;
  EnvFactory factory;
  MultiAgentEnvFactory multi_agent_factory = {};
  bool multi_agent() const { return static_cast<bool>(multi_agent_factory); }
};

class EnvRegistry {
 public:
  /// The process-wide registry, holding every built-in env.
  static EnvRegistry& global();

  /// Adds an env; throws Error if the id is taken or the entry has not exactly one factory.
  void add(EnvEntry entry);
  bool contains(const std::string& id) const { return entries_.count(id) != 0; }
  /// Whether `id` is registered as a multi-agent env (false for plain envs and unknown ids).
  bool is_multi_agent(const std::string& id) const;

  /// Makes a plain env. Options every env takes: max_episode_steps (override the time limit).
  /// Throws Error for an unknown id (naming close ones), an option, or a multi-agent id.
  std::unique_ptr<Env> make(const std::string& id, const OptionMap& options = {}) const;
  /// Makes any registered env as a multi-agent env; a plain env becomes one agent.
  std::unique_ptr<MultiAgentEnv> make_multi_agent(const std::string& id,
                                                  const OptionMap& options = {}) const;

  /// Every id, sorted.
  std::vector<std::string> ids() const;
  /// The ids of plain envs, or of multi-agent ones, sorted.
  std::vector<std::string> ids(bool multi_agent) const;
  const EnvEntry& entry(const std::string& id) const;

 private:
  std::map<std::string, EnvEntry> entries_;
};

/// Shorthand for EnvRegistry::global().make(id, options).
std::unique_ptr<Env> make(const std::string& id, const OptionMap& options = {});
/// Shorthand for EnvRegistry::global().make_multi_agent(id, options).
std::unique_ptr<MultiAgentEnv> make_multi_agent(const std::string& id,
                                                const OptionMap& options = {});

/// Registers the built-in families; called once by EnvRegistry::global().
void register_builtin_envs(EnvRegistry& registry);

}  // namespace trustrl::envs
