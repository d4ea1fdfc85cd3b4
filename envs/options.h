#pragma once
// Options for making an env (Gymnasium's make() keyword arguments), with unknown keys refused.

#include <cstdint>
#include <set>
#include <string>

#include "core/config.h"

namespace trustrl::envs {

/// An env factory reads its options through these getters; finish() then rejects any key no
/// getter asked for, so a misspelled option is an error naming it, never silently ignored.
class EnvOptions {
 public:
  EnvOptions(std::string env_id, OptionMap values)
      : env_id_(std::move(env_id)), values_(std::move(values)) {}

  double number(const std::string& key, double fallback, Bounds bounds = {});
  std::int64_t integer(const std::string& key, std::int64_t fallback, Bounds bounds = {});
  bool flag(const std::string& key, bool fallback);
  std::string text(const std::string& key, const std::string& fallback);
  bool has(const std::string& key) const { return values_.count(key) != 0; }

  /// Throws Error naming the first option no getter asked for, with the known ones.
  void finish() const;

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;

  std::string env_id_;
  OptionMap values_;
  std::set<std::string> known_;
};

}  // namespace trustrl::envs
