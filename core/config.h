#pragma once
// Config structs, read from and written to YAML through one visitor.
//
// A config is a plain struct with defaults and a `visit(ConfigVisitor&)` member that names each
// field, documents it in one line and states its bounds. The same `visit` drives reading (which
// rejects unknown keys and out-of-range values, naming the dotted key), writing the resolved
// config, and printing the reference of every key.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trustrl {

/// Inclusive or exclusive limits on a numeric field.
struct Bounds {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false;
  bool max_exclusive = false;

  static Bounds any() { return {}; }
  static Bounds positive() { return {0.0, std::numeric_limits<double>::infinity(), true, false}; }
  static Bounds non_negative() { return {0.0, std::numeric_limits<double>::infinity()}; }
  static Bounds at_least(double lo) { return {lo, std::numeric_limits<double>::infinity()}; }
  static Bounds closed(double lo, double hi) { return {lo, hi}; }
  /// (0, 1]
  static Bounds unit_open_closed() { return {0.0, 1.0, true, false}; }

  bool contains(double x) const;
  /// "> 0", "in [0, 1]", ... for messages.
  std::string describe() const;
};

/// Free-form scalar options (e.g. an env's options), kept as their YAML text.
using OptionMap = std::map<std::string, std::string>;

/// Walks a config struct. Implementations read YAML, write YAML or print docs.
class ConfigVisitor {
 public:
  virtual ~ConfigVisitor() = default;

  virtual void field(std::string_view key, bool& value, std::string_view doc) = 0;
  virtual void field(std::string_view key, std::int64_t& value, std::string_view doc,
                     Bounds bounds = {}) = 0;
  virtual void field(std::string_view key, double& value, std::string_view doc,
                     Bounds bounds = {}) = 0;
  /// A number or `null` (meaning off).
  virtual void field(std::string_view key, std::optional<double>& value, std::string_view doc,
                     Bounds bounds = {}) = 0;
  virtual void field(std::string_view key, std::string& value, std::string_view doc) = 0;
  virtual void field(std::string_view key, std::vector<std::int64_t>& value, std::string_view doc,
                     Bounds element_bounds = {}) = 0;
  virtual void field(std::string_view key, OptionMap& value, std::string_view doc) = 0;
  /// A string that must be one of `allowed`.
  virtual void choice(std::string_view key, std::string& value,
                      std::span<const std::string_view> allowed, std::string_view doc) = 0;
  /// A nested mapping.
  virtual void section(std::string_view key, std::string_view doc,
                       const std::function<void(ConfigVisitor&)>& body) = 0;

  void field(std::string_view key, int& value, std::string_view doc, Bounds bounds = {});
  void choice(std::string_view key, std::string& value,
              std::initializer_list<std::string_view> allowed, std::string_view doc) {
    choice(key, value, std::span<const std::string_view>(allowed.begin(), allowed.size()), doc);
  }

  template <class Section>
  void section(std::string_view key, Section& s, std::string_view doc) {
    section(key, doc, [&s](ConfigVisitor& v) { s.visit(v); });
  }

  /// An enum spelled as one of the given names.
  template <class E>
  void choice(std::string_view key, E& value,
              std::initializer_list<std::pair<std::string_view, E>> names, std::string_view doc);
};

/// Reads `config` from a YAML document (text), after applying `key.path=value` overrides.
/// Throws ConfigError naming the key for unknown keys, wrong types and out-of-range values.
template <class Config>
void read_config(Config& config, std::string_view yaml_text,
                 const std::vector<std::string>& overrides = {});
/// The largest config file read: configs are a few kilobytes, and YAML takes ~250 bytes of
/// memory per byte of a long list, so this bounds a config's memory at a few hundred MB.
inline constexpr std::size_t kMaxConfigBytes = std::size_t(1) << 20;

/// Reads a YAML file (at most kMaxConfigBytes, no directory); the error names the file.
template <class Config>
void read_config_file(Config& config, const std::string& path,
                      const std::vector<std::string>& overrides = {});
/// The config as YAML, with each field's doc as a comment.
template <class Config>
std::string write_config(Config& config);
/// One line per key: dotted key, default, doc.
template <class Config>
std::string describe_config(Config& config);

namespace config_detail {
void read(const std::function<void(ConfigVisitor&)>& visit, std::string_view yaml_text,
          const std::vector<std::string>& overrides, const std::string& source);
std::string load_file(const std::string& path);
std::string write(const std::function<void(ConfigVisitor&)>& visit);
std::string describe(const std::function<void(ConfigVisitor&)>& visit);
}  // namespace config_detail

template <class E>
void ConfigVisitor::choice(std::string_view key, E& value,
                           std::initializer_list<std::pair<std::string_view, E>> names,
                           std::string_view doc) {
  std::vector<std::string_view> allowed;
  std::string text;
  for (const auto& [name, e] : names) {
    allowed.push_back(name);
    if (e == value) text = std::string(name);
  }
  choice(key, text, std::span<const std::string_view>(allowed), doc);
  for (const auto& [name, e] : names)
    if (name == text) value = e;
}

template <class Config>
void read_config(Config& config, std::string_view yaml_text,
                 const std::vector<std::string>& overrides) {
  config_detail::read([&config](ConfigVisitor& v) { config.visit(v); }, yaml_text, overrides,
                      "config");
}
template <class Config>
void read_config_file(Config& config, const std::string& path,
                      const std::vector<std::string>& overrides) {
  config_detail::read([&config](ConfigVisitor& v) { config.visit(v); },
                      config_detail::load_file(path), overrides, path);
}
template <class Config>
std::string write_config(Config& config) {
  return config_detail::write([&config](ConfigVisitor& v) { config.visit(v); });
}
template <class Config>
std::string describe_config(Config& config) {
  return config_detail::describe([&config](ConfigVisitor& v) { config.visit(v); });
}

}  // namespace trustrl
