#pragma once
// Errors that reach a user: one exception type whose message says what to fix.

#include <stdexcept>
#include <string>

namespace trustrl {

/// An error a user can act on (bad config, bad file, bad CLI flag, bad message).
/// The message is one line and names the offending thing; the CLI prints it as is.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A config key or value is wrong; the message names the dotted key.
class ConfigError : public Error {
 public:
  using Error::Error;
};

}  // namespace trustrl
