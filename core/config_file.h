#pragma once
// A config loaded from its file and validated, every error naming the file: the one way `train`,
// `learner` and `distill` read their CONFIG argument.

#include <string>
#include <vector>

#include "core/config.h"
#include "core/error.h"

namespace trustrl {

/// Reads `path` into a default Config, applies `key.path=value` overrides and calls validate().
/// Throws ConfigError starting with (or already naming) the file.
template <class Config>
Config load_config_file(const std::string& path, const std::vector<std::string>& overrides) {
  Config c;
  try {
    read_config_file(c, path, overrides);
    c.validate();
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    if (message.find("'" + path + "'") != std::string::npos || message.rfind(path, 0) == 0) throw;
    throw ConfigError(path + ": " + message);
  }
  return c;
}

}  // namespace trustrl
