#include "core/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/files.h"
#include "core/text.h"

namespace trustrl {

bool Bounds::contains(double x) const {
  if (min_exclusive ? !(x > min) : !(x >= min)) return false;
  if (max_exclusive ? !(x < max) : !(x <= max)) return false;
  return true;
}

std::string Bounds::describe() const {
  const bool has_min = std::isfinite(min), has_max = std::isfinite(max);
  if (has_min && has_max)
    return std::string("in ") + (min_exclusive ? "(" : "[") + format_number(min) + ", " +
           format_number(max) + (max_exclusive ? ")" : "]");
  if (has_min) return std::string(min_exclusive ? "> " : ">= ") + format_number(min);
  if (has_max) return std::string(max_exclusive ? "< " : "<= ") + format_number(max);
  return "any number";
}

void ConfigVisitor::field(std::string_view key, int& value, std::string_view doc, Bounds bounds) {
  std::int64_t wide = value;
  field(key, wide, doc, bounds);
  if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max())
    throw ConfigError(std::string(key) + ": " + std::to_string(wide) + " is too large");
  value = static_cast<int>(wide);
}

namespace config_detail {
namespace {

std::string scalar_text(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  if (n.IsNull()) return "null";
  if (n.IsSequence()) return "a list";
  return "a mapping";
}

bool is_null(const YAML::Node& n) { return !n.IsDefined() || n.IsNull(); }

// Reads one mapping; remembers which keys it asked for so that the rest can be reported.
class Reader final : public ConfigVisitor {
 public:
  Reader(YAML::Node node, std::string prefix)
      : node_(std::move(node)), prefix_(std::move(prefix)) {}

  using ConfigVisitor::choice;
  using ConfigVisitor::field;
  using ConfigVisitor::section;

  void field(std::string_view key, bool& value, std::string_view) override {
    if (auto n = get(key)) {
      const std::string t = n->Scalar();
      if (!n->IsScalar() || (t != "true" && t != "false"))
        fail(key, "expected true or false, got '" + scalar_text(*n) + "'");
      value = t == "true";
    }
  }
  void field(std::string_view key, std::int64_t& value, std::string_view, Bounds bounds) override {
    if (auto n = get(key)) {
      const double x = number(key, *n);
      if (x != std::floor(x) || std::fabs(x) > 9.007199254740992e15)
        fail(key, "expected a whole number, got '" + n->Scalar() + "'");
      check(key, x, bounds);
      value = static_cast<std::int64_t>(x);
    }
  }
  void field(std::string_view key, double& value, std::string_view, Bounds bounds) override {
    if (auto n = get(key)) {
      const double x = number(key, *n);
      check(key, x, bounds);
      value = x;
    }
  }
  void field(std::string_view key, std::optional<double>& value, std::string_view,
             Bounds bounds) override {
    if (auto n = get(key)) {
      if (is_null(*n)) {
        value.reset();
        return;
      }
      const double x = number(key, *n);
      check(key, x, bounds);
      value = x;
    }
  }
  void field(std::string_view key, std::string& value, std::string_view) override {
    if (auto n = get(key)) {
      if (!n->IsScalar()) fail(key, "expected a string, got " + scalar_text(*n));
      value = n->Scalar();
    }
  }
  void field(std::string_view key, std::vector<std::int64_t>& value, std::string_view,
             Bounds bounds) override {
    if (auto n = get(key)) {
      if (!n->IsSequence()) fail(key, "expected a list of whole numbers, got " + scalar_text(*n));
      std::vector<std::int64_t> out;
      for (std::size_t i = 0; i < n->size(); ++i) {
        const std::string k = std::string(key) + "[" + std::to_string(i) + "]";
        const double x = number(k, (*n)[i]);
        if (x != std::floor(x)) fail(k, "expected a whole number, got '" + (*n)[i].Scalar() + "'");
        check(k, x, bounds);
        out.push_back(static_cast<std::int64_t>(x));
      }
      value = std::move(out);
    }
  }
  void field(std::string_view key, OptionMap& value, std::string_view) override {
    if (auto n = get(key)) {
      if (is_null(*n)) return;
      if (!n->IsMap()) fail(key, "expected a mapping of options, got " + scalar_text(*n));
      OptionMap out;
      for (const auto& kv : *n) {
        const std::string k = kv.first.Scalar();
        if (!kv.second.IsScalar() && !kv.second.IsNull())
          fail(std::string(key) + "." + k,
               "expected a single value, got " + scalar_text(kv.second));
        out[k] = kv.second.IsNull() ? "null" : kv.second.Scalar();
      }
      value = std::move(out);
    }
  }
  void choice(std::string_view key, std::string& value, std::span<const std::string_view> allowed,
              std::string_view) override {
    if (auto n = get(key)) {
      const std::string t = n->IsScalar() ? n->Scalar() : scalar_text(*n);
      if (std::find(allowed.begin(), allowed.end(), t) == allowed.end()) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        fail(key, "'" + t + "' is not one of: " + list);
      }
      value = t;
    }
  }
  void section(std::string_view key, std::string_view,
               const std::function<void(ConfigVisitor&)>& body) override {
    YAML::Node sub;
    if (auto n = get(key)) {
      if (!is_null(*n) && !n->IsMap()) fail(key, "expected a mapping, got " + scalar_text(*n));
      if (!is_null(*n)) sub = *n;
    } else {
      known_.insert(std::string(key));
    }
    Reader child(sub, prefix_ + std::string(key) + ".");
    body(child);
    child.finish();
  }

  // Every key present in the mapping must have been asked for.
  void finish() const {
    if (!node_.IsDefined() || node_.IsNull()) return;
    if (!node_.IsMap()) throw ConfigError(prefix_ + ": expected a mapping");
    for (const auto& kv : node_) {
      const std::string k = kv.first.Scalar();
      if (known_.count(k)) continue;
      std::string message = "unknown config key '" + prefix_ + k + "'";
      const std::string hint = closest(k, {known_.begin(), known_.end()});
      if (!hint.empty()) message += " (did you mean '" + prefix_ + hint + "'?)";
      throw ConfigError(message);
    }
  }

 private:
  std::optional<YAML::Node> get(std::string_view key) {
    known_.insert(std::string(key));
    if (!node_.IsDefined() || !node_.IsMap()) return std::nullopt;
    YAML::Node n = node_[std::string(key)];
    if (!n.IsDefined()) return std::nullopt;
    return n;
  }
  [[noreturn]] void fail(std::string_view key, const std::string& what) const {
    throw ConfigError(prefix_ + std::string(key) + ": " + what);
  }
  double number(std::string_view key, const YAML::Node& n) const {
    if (!n.IsScalar()) fail(key, "expected a number, got " + scalar_text(n));
    std::string t = n.Scalar();
    t.erase(std::remove(t.begin(), t.end(), '_'), t.end());  // 1_000_000
    for (const char* special :
         {".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf"})
      if (t == special) fail(key, "expected a finite number, got '" + n.Scalar() + "'");
    double x = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), x);
    if (t.empty() || ec != std::errc() || end != t.data() + t.size())
      fail(key, "expected a number, got '" + n.Scalar() + "'");
    if (!std::isfinite(x)) fail(key, "expected a finite number, got '" + n.Scalar() + "'");
    return x;
  }
  void check(std::string_view key, double x, const Bounds& b) const {
    if (!b.contains(x)) fail(key, "must be " + b.describe() + ", got " + format_number(x));
  }

  YAML::Node node_;
  std::string prefix_;
  std::set<std::string> known_;
};

std::string quote(const std::string& s) {
  YAML::Emitter e;
  e << s;
  return e.c_str();
}

// Writes YAML by hand so that each key carries its doc as a trailing comment.
class Writer final : public ConfigVisitor {
 public:
  explicit Writer(int depth) : depth_(depth) {}
  using ConfigVisitor::choice;
  using ConfigVisitor::field;
  using ConfigVisitor::section;

  void field(std::string_view key, bool& v, std::string_view doc) override {
    line(key, v ? "true" : "false", doc);
  }
  void field(std::string_view key, std::int64_t& v, std::string_view doc, Bounds) override {
    line(key, std::to_string(v), doc);
  }
  void field(std::string_view key, double& v, std::string_view doc, Bounds) override {
    line(key, format_number(v), doc);
  }
  void field(std::string_view key, std::optional<double>& v, std::string_view doc,
             Bounds) override {
    line(key, v ? format_number(*v) : "null", doc);
  }
  void field(std::string_view key, std::string& v, std::string_view doc) override {
    line(key, quote(v), doc);
  }
  void field(std::string_view key, std::vector<std::int64_t>& v, std::string_view doc,
             Bounds) override {
    std::string t = "[";
    for (std::size_t i = 0; i < v.size(); ++i) t += (i ? ", " : "") + std::to_string(v[i]);
    line(key, t + "]", doc);
  }
  void field(std::string_view key, OptionMap& v, std::string_view doc) override {
    if (v.empty()) return line(key, "{}", doc);
    line(key, "", doc);
    for (const auto& [k, value] : v)
      out_ += std::string(2 * (depth_ + 1), ' ') + k + ": " + value + "\n";
  }
  void choice(std::string_view key, std::string& v, std::span<const std::string_view>,
              std::string_view doc) override {
    line(key, quote(v), doc);
  }
  void section(std::string_view key, std::string_view doc,
               const std::function<void(ConfigVisitor&)>& body) override {
    line(key, "", doc);
    Writer child(depth_ + 1);
    body(child);
    out_ += child.out_;
  }
  std::string out_;

 private:
  void line(std::string_view key, const std::string& value, std::string_view doc) {
    std::string l = std::string(2 * depth_, ' ') + std::string(key) + ":";
    if (!value.empty()) l += " " + value;
    if (!doc.empty()) {
      if (l.size() < 40) l.resize(40, ' ');
      l += "  # " + std::string(doc);
    }
    out_ += l + "\n";
  }
  int depth_;
};

class Describer final : public ConfigVisitor {
 public:
  explicit Describer(std::string prefix) : prefix_(std::move(prefix)) {}
  using ConfigVisitor::choice;
  using ConfigVisitor::field;
  using ConfigVisitor::section;

  void field(std::string_view key, bool& v, std::string_view doc) override {
    line(key, v ? "true" : "false", "true/false", doc);
  }
  void field(std::string_view key, std::int64_t& v, std::string_view doc, Bounds b) override {
    line(key, std::to_string(v), "integer " + b.describe(), doc);
  }
  void field(std::string_view key, double& v, std::string_view doc, Bounds b) override {
    line(key, format_number(v), b.describe(), doc);
  }
  void field(std::string_view key, std::optional<double>& v, std::string_view doc,
             Bounds b) override {
    line(key, v ? format_number(*v) : "null", "null or " + b.describe(), doc);
  }
  void field(std::string_view key, std::string& v, std::string_view doc) override {
    line(key, quote(v), "string", doc);
  }
  void field(std::string_view key, std::vector<std::int64_t>& v, std::string_view doc,
             Bounds) override {
    std::string t = "[";
    for (std::size_t i = 0; i < v.size(); ++i) t += (i ? ", " : "") + std::to_string(v[i]);
    line(key, t + "]", "list of integers", doc);
  }
  void field(std::string_view key, OptionMap&, std::string_view doc) override {
    line(key, "{}", "mapping", doc);
  }
  void choice(std::string_view key, std::string& v, std::span<const std::string_view> allowed,
              std::string_view doc) override {
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : "|") + std::string(a);
    line(key, v, list, doc);
  }
  void section(std::string_view key, std::string_view,
               const std::function<void(ConfigVisitor&)>& body) override {
    Describer child(prefix_ + std::string(key) + ".");
    body(child);
    out_ += child.out_;
  }
  std::string out_;

 private:
  void line(std::string_view key, const std::string& def, const std::string& kind,
            std::string_view doc) {
    out_ +=
        prefix_ + std::string(key) + " = " + def + "  (" + kind + ")  " + std::string(doc) + "\n";
  }
  std::string prefix_;
};

// yaml-cpp keeps every key of a mapping but looks up only the first of equal ones, so a key
// given twice would silently lose its second value: refuse it, with both lines.
void refuse_duplicate_keys(const YAML::Node& node, const std::string& prefix,
                           const std::string& source) {
  if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i)
      refuse_duplicate_keys(node[i], prefix + "[" + std::to_string(i) + "]", source);
    return;
  }
  if (!node.IsMap()) return;
  std::map<std::string, int> lines;
  for (const auto& kv : node) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    const int line = kv.first.Mark().line + 1;
    const auto [it, fresh] = lines.emplace(key, line);
    if (!fresh)
      throw ConfigError(source + ": key '" + prefix + key + "' appears twice, at lines " +
                        std::to_string(it->second) + " and " + std::to_string(line) + "; keep one");
    refuse_duplicate_keys(kv.second, prefix + key + ".", source);
  }
}

void apply_override(YAML::Node node, const std::vector<std::string>& path, std::size_t i,
                    const YAML::Node& value, const std::string& text) {
  if (!node.IsMap() && !node.IsNull())
    throw ConfigError("--set " + text + ": '" + path[i - 1] + "' is not a mapping");
  if (i + 1 == path.size()) {
    node[path[i]] = value;
    return;
  }
  YAML::Node child = node[path[i]];
  if (!child.IsDefined() || child.IsNull()) {
    child = YAML::Node(YAML::NodeType::Map);
    node[path[i]] = child;
  }
  apply_override(node[path[i]], path, i + 1, value, text);
}

}  // namespace

void read(const std::function<void(ConfigVisitor&)>& visit, std::string_view yaml_text,
          const std::vector<std::string>& overrides, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ": not valid YAML at line " + std::to_string(e.mark.line + 1) +
                      ": " + e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw ConfigError(source + ": the top level must be a mapping of keys");
  refuse_duplicate_keys(root, "", source);
  for (const auto& text : overrides) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
      throw ConfigError("--set expects key=value, got '" + text + "'");
    const std::vector<std::string> path = split(text.substr(0, eq), '.');
    for (const auto& part : path)
      if (part.empty()) throw ConfigError("--set " + text + ": empty key in the dotted path");
    YAML::Node value;
    try {
      value = YAML::Load(text.substr(eq + 1));
    } catch (const YAML::Exception& e) {
      throw ConfigError("--set " + text + ": value is not valid YAML: " + e.msg);
    }
    apply_override(root, path, 0, value, text);
  }
  Reader reader(root, "");
  visit(reader);
  reader.finish();
}

std::string load_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ConfigError("config file '" + path + "' is a directory, not a YAML file");
  std::vector<std::uint8_t> bytes;
  try {
    // A bounded read: /dev/zero or a FIFO has no size to check first.
    bytes = read_file(path, kMaxConfigBytes);
  } catch (const Error& e) {
    if (std::string(e.what()).find("is larger than") != std::string::npos)
      throw ConfigError("config file '" + path + "' is larger than " +
                        std::to_string(kMaxConfigBytes >> 20) +
                        " MiB, the most trustrl reads for a config; is it the right file?");
    throw ConfigError(e.what());
  }
  return {bytes.begin(), bytes.end()};
}

std::string write(const std::function<void(ConfigVisitor&)>& visit) {
  Writer w(0);
  visit(w);
  return w.out_;
}

std::string describe(const std::function<void(ConfigVisitor&)>& visit) {
  Describer d("");
  visit(d);
  return d.out_;
}

}  // namespace config_detail
}  // namespace trustrl
