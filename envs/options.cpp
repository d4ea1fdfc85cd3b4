#include "envs/options.h"

#include <charconv>
#include <cmath>

#include "core/error.h"
#include "core/text.h"

namespace trustrl::envs {

void EnvOptions::fail(const std::string& key, const std::string& what) const {
  throw Error(env_id_ + ": option '" + key + "' " + what);
}

double EnvOptions::number(const std::string& key, double fallback, Bounds bounds) {
  known_.insert(key);
  const auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  const std::string& t = it->second;
  double x = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), x);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size() || !std::isfinite(x))
    fail(key, "expects a finite number, got '" + t + "'");
  if (!bounds.contains(x)) fail(key, "must be " + bounds.describe() + ", got " + t);
  return x;
}

std::int64_t EnvOptions::integer(const std::string& key, std::int64_t fallback, Bounds bounds) {
  const double x = number(key, static_cast<double>(fallback), bounds);
  if (x != std::floor(x)) fail(key, "expects a whole number, got '" + values_.at(key) + "'");
  if (std::fabs(x) > 9.007199254740992e15)  // 2^53: beyond it a double skips whole numbers
    fail(key, "is too large: " + values_.at(key));
  return static_cast<std::int64_t>(x);
}

bool EnvOptions::flag(const std::string& key, bool fallback) {
  known_.insert(key);
  const auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  if (it->second == "true") return true;
  if (it->second == "false") return false;
  fail(key, "expects true or false, got '" + it->second + "'");
}

std::string EnvOptions::text(const std::string& key, const std::string& fallback) {
  known_.insert(key);
  const auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

void EnvOptions::finish() const {
  for (const auto& [key, value] : values_) {
    if (known_.count(key)) continue;
    std::string list;
    for (const auto& k : known_) list += (list.empty() ? "" : ", ") + k;
    throw Error(env_id_ + ": unknown option '" + key + "'" +
                (list.empty() ? " (it takes no options)" : " (known options: " + list + ")"));
  }
}

}  // namespace trustrl::envs
