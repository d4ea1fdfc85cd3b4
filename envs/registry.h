#pragma once
// Env ids to factories: make("CartPole-v1") and the list of ids.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "envs/env.h"
#include "envs/options.h"

namespace trustrl::envs {

/// Builds an env from its options; reads every option it understands through EnvOptions.
using EnvFactory = std::function<std::unique_ptr<Env>(EnvOptions&)>;

struct EnvEntry {
  std::string id;
  std::string description;
  EnvFactory factory;
};

class EnvRegistry {
 public:
  /// The process-wide registry, holding every built-in env.
  static EnvRegistry& global();

  /// Adds an env; throws Error if the id is taken.
  void add(EnvEntry entry);
  bool contains(const std::string& id) const { return entries_.count(id) != 0; }
  /// Makes an env. Options every env takes: max_episode_steps (override the time limit).
  /// Throws Error for an unknown id (naming close ones) or option.
  std::unique_ptr<Env> make(const std::string& id, const OptionMap& options = {}) const;
  std::vector<std::string> ids() const;
  const EnvEntry& entry(const std::string& id) const;

 private:
  std::map<std::string, EnvEntry> entries_;
};

/// Shorthand for EnvRegistry::global().make(id, options).
std::unique_ptr<Env> make(const std::string& id, const OptionMap& options = {});

/// Registers the built-in families; called once by EnvRegistry::global().
void register_builtin_envs(EnvRegistry& registry);

}  // namespace trustrl::envs
