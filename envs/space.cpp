#include "envs/space.h"

#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>

#include "core/error.h"
#include "core/text.h"

namespace trustrl::envs {

Space Space::discrete(std::int64_t n, std::int64_t start) {
  if (n < 1) throw Error("Discrete space needs n >= 1, got " + std::to_string(n));
  Space s;
  s.kind = SpaceKind::kDiscrete;
  s.n = n;
  s.start = start;
  return s;
}

Space Space::box(std::vector<float> low, std::vector<float> high) {
  if (low.size() != high.size() || low.empty())
    throw Error("Box space needs low and high of one non-zero length");
  for (std::size_t i = 0; i < low.size(); ++i)
    if (!(low[i] <= high[i]))
      throw Error("Box space has low > high at component " + std::to_string(i));
  Space s;
  s.kind = SpaceKind::kBox;
  s.shape = {static_cast<std::int64_t>(low.size())};
  s.low = std::move(low);
  s.high = std::move(high);
  return s;
}

Space Space::box(float low, float high, std::vector<std::int64_t> shape) {
  const std::int64_t size =
      std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
  Space s = box(std::vector<float>(static_cast<std::size_t>(size), low),
                std::vector<float>(static_cast<std::size_t>(size), high));
  s.shape = std::move(shape);
  return s;
}

Space Space::multi_discrete(std::vector<std::int64_t> nvec) {
  if (nvec.empty()) throw Error("MultiDiscrete space needs at least one component");
  for (auto k : nvec)
    if (k < 1) throw Error("MultiDiscrete space needs every nvec >= 1");
  Space s;
  s.kind = SpaceKind::kMultiDiscrete;
  s.shape = {static_cast<std::int64_t>(nvec.size())};
  s.nvec = std::move(nvec);
  return s;
}

std::int64_t Space::flat_dim() const {
  switch (kind) {
    case SpaceKind::kDiscrete:
      return 1;
    case SpaceKind::kMultiDiscrete:
      return static_cast<std::int64_t>(nvec.size());
    case SpaceKind::kBox:
      return static_cast<std::int64_t>(low.size());
  }
  return 0;
}

std::int64_t Space::num_logits() const {
  if (kind == SpaceKind::kDiscrete) return n;
  if (kind == SpaceKind::kMultiDiscrete)
    return std::accumulate(nvec.begin(), nvec.end(), std::int64_t{0});
  return 0;
}

bool Space::bounded() const {
  for (std::size_t i = 0; i < low.size(); ++i)
    if (!std::isfinite(low[i]) || !std::isfinite(high[i])) return false;
  return true;
}

bool Space::contains(std::span<const float> x) const {
  if (kind != SpaceKind::kBox || static_cast<std::int64_t>(x.size()) != flat_dim()) return false;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!(x[i] >= low[i] && x[i] <= high[i])) return false;
  return true;
}

bool Space::contains(std::span<const std::int64_t> x) const {
  if (kind == SpaceKind::kBox || static_cast<std::int64_t>(x.size()) != flat_dim()) return false;
  if (kind == SpaceKind::kDiscrete) return x[0] >= start && x[0] < start + n;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (x[i] < 0 || x[i] >= nvec[i]) return false;
  return true;
}

void Space::sample(Rng& rng, std::span<float> out) const {
  for (std::size_t i = 0; i < out.size(); ++i) {
    const bool lo = std::isfinite(low[i]), hi = std::isfinite(high[i]);
    if (lo && hi)
      out[i] = static_cast<float>(rng.uniform(low[i], high[i]));
    else if (lo)
      out[i] = low[i] + static_cast<float>(std::fabs(rng.normal()));
    else if (hi)
      out[i] = high[i] - static_cast<float>(std::fabs(rng.normal()));
    else
      out[i] = static_cast<float>(rng.normal());
  }
}

void Space::sample(Rng& rng, std::span<std::int64_t> out) const {
  if (kind == SpaceKind::kDiscrete) {
    out[0] = start + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n)));
    return;
  }
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(nvec[i])));
}

namespace {
std::string join_numbers(const auto& values) {
  std::string s;
  for (std::size_t i = 0; i < values.size(); ++i)
    if constexpr (std::is_integral_v<std::decay_t<decltype(values[i])>>)
      s += (i ? ", " : "") + std::to_string(values[i]);
    else
      s += (i ? ", " : "") + format_number(values[i]);
  return s;
}
bool all_equal(const std::vector<float>& v) {
  for (float x : v)
    if (!(x == v[0])) return false;
  return true;
}
}  // namespace

std::string Space::describe() const {
  switch (kind) {
    case SpaceKind::kDiscrete:
      return "Discrete(" + std::to_string(n) + (start ? ", start=" + std::to_string(start) : "") +
             ")";
    case SpaceKind::kMultiDiscrete:
      return "MultiDiscrete([" + join_numbers(nvec) + "])";
    case SpaceKind::kBox: {
      std::string shape_text = "(" + join_numbers(shape) + (shape.size() == 1 ? ",)" : ")");
      if (all_equal(low) && all_equal(high))
        return "Box(" + format_number(low[0]) + ", " + format_number(high[0]) + ", " + shape_text +
               ")";
      return "Box([" + join_numbers(low) + "], [" + join_numbers(high) + "], " + shape_text + ")";
    }
  }
  return "?";
}

std::string Space::canonical() const {
  std::string s = describe();
  if (kind == SpaceKind::kBox) s += "|" + join_numbers(low) + "|" + join_numbers(high);
  return s;
}

void Space::save(ByteWriter& out) const {
  out.put<std::int32_t>(static_cast<std::int32_t>(kind));
  out.put_vector(shape);
  out.put_vector(low);
  out.put_vector(high);
  out.put(n);
  out.put(start);
  out.put_vector(nvec);
}

Space Space::load(ByteReader& in) {
  const auto kind = static_cast<SpaceKind>(in.get<std::int32_t>());
  auto shape = in.get_vector<std::int64_t>();
  auto low = in.get_vector<float>();
  auto high = in.get_vector<float>();
  const auto n = in.get<std::int64_t>();
  const auto start = in.get<std::int64_t>();
  auto nvec = in.get_vector<std::int64_t>();
  switch (kind) {
    case SpaceKind::kDiscrete:
      return discrete(n, start);
    case SpaceKind::kMultiDiscrete:
      return multi_discrete(std::move(nvec));
    case SpaceKind::kBox: {
      Space s = box(std::move(low), std::move(high));
      std::int64_t size = 1;
      for (const std::int64_t d : shape) {
        if (d < 1 || d > s.flat_dim()) throw Error("saved Box space has a bad shape");
        size *= d;
      }
      if (size != s.flat_dim()) throw Error("saved Box space's shape does not match its bounds");
      s.shape = std::move(shape);
      return s;
    }
  }
  throw Error("saved space has an unknown kind");
}

}  // namespace trustrl::envs
