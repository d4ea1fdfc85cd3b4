#pragma once
// Multi-agent env ids to factories, like registry.h for single-agent envs.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "envs/multi_agent_env.h"
#include "envs/options.h"

namespace trustrl::envs {

/// Builds a multi-agent env from its options; reads every option it understands through
/// EnvOptions.
using MultiAgentEnvFactory = std::function<std::unique_ptr<MultiAgentEnv>(EnvOptions&)>;

struct MultiAgentEnvEntry {
  std::string id;
  std::string description;
  MultiAgentEnvFactory factory;
};

class MultiAgentRegistry {
 public:
  /// The process-wide registry, holding every built-in multi-agent env.
  static MultiAgentRegistry& global();

  /// Adds an env; throws Error if the id is taken.
  void add(MultiAgentEnvEntry entry);
  bool contains(const std::string& id) const { return entries_.count(id) != 0; }
  /// Makes an env. Options every env takes: max_episode_steps (override the time limit).
  /// Throws Error for an unknown id (naming a close one) or option.
  std::unique_ptr<MultiAgentEnv> make(const std::string& id, const OptionMap& options = {}) const;
  std::vector<std::string> ids() const;
  const MultiAgentEnvEntry& entry(const std::string& id) const;

 private:
  std::map<std::string, MultiAgentEnvEntry> entries_;
};

/// Shorthand for MultiAgentRegistry::global().make(id, options).
std::unique_ptr<MultiAgentEnv> make_multi_agent(const std::string& id,
                                                const OptionMap& options = {});

/// Registers the built-in multi-agent families; called once by MultiAgentRegistry::global().
void register_builtin_multi_agent_envs(MultiAgentRegistry& registry);

}  // namespace trustrl::envs
