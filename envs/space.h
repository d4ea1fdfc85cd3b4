#pragma once
// Observation and action spaces with Gymnasium's meaning.
//
// Observations are always float32 Boxes. Actions are Discrete or MultiDiscrete (int64 per
// component) or Box (float32 per component).

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/rng.h"

namespace trustrl::envs {

enum class SpaceKind { kDiscrete, kBox, kMultiDiscrete };

struct Space {
  SpaceKind kind = SpaceKind::kBox;
  /// Box: the element shape. Discrete: {}. MultiDiscrete: {nvec.size()}.
  std::vector<std::int64_t> shape;
  /// Box only: bounds per flattened component (may be +-inf).
  std::vector<float> low, high;
  /// Discrete only: values are start, ..., start + n - 1.
  std::int64_t n = 0;
  std::int64_t start = 0;
  /// MultiDiscrete only: component i takes values 0, ..., nvec[i] - 1.
  std::vector<std::int64_t> nvec;

  static Space discrete(std::int64_t n, std::int64_t start = 0);
  static Space box(std::vector<float> low, std::vector<float> high);
  static Space box(float low, float high, std::vector<std::int64_t> shape);
  static Space multi_discrete(std::vector<std::int64_t> nvec);

  bool is_discrete() const { return kind != SpaceKind::kBox; }
  /// Scalars in one element: 1 for Discrete, prod(shape) for Box, len(nvec) for MultiDiscrete.
  std::int64_t flat_dim() const;
  /// Logits a categorical policy needs: n for Discrete, sum(nvec) for MultiDiscrete.
  std::int64_t num_logits() const;
  /// Whether every component of the Box is bounded on both sides.
  bool bounded() const;

  /// Whether a flattened element lies in the space.
  bool contains(std::span<const float> x) const;
  bool contains(std::span<const std::int64_t> x) const;
  /// A uniform sample (Box: uniform on bounded components, normal on unbounded ones).
  void sample(Rng& rng, std::span<float> out) const;
  void sample(Rng& rng, std::span<std::int64_t> out) const;

  /// "Discrete(2)", "Box(-1, 1, (3,))", "MultiDiscrete([3, 2])".
  std::string describe() const;
  /// A stable text form that two processes can compare (used for spec hashes).
  std::string canonical() const;

  bool operator==(const Space&) const = default;

  void save(ByteWriter& out) const;
  /// Reads what save() wrote; throws Error if it does not describe a valid space.
  static Space load(ByteReader& in);
};

}  // namespace trustrl::envs
