#pragma once
// Seeded random numbers that are the same on every platform and can be saved and restored.
//
// std::uniform_real_distribution and friends differ between standard libraries, so trustrl draws
// its own variates from xoshiro256** (Blackman & Vigna 2018), seeded through splitmix64.

#include <array>
#include <cstdint>

namespace trustrl {

class Rng {
 public:
  using State = std::array<std::uint64_t, 4>;

  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

  /// Restarts the stream from `seed`; equal seeds give equal streams.
  void reseed(std::uint64_t seed);

  /// The next 64 random bits.
  std::uint64_t next_u64();
  /// Uniform double in [0, 1) with 53 random bits.
  double uniform();
  /// Uniform double in [low, high).
  double uniform(double low, double high) { return low + (high - low) * uniform(); }
  /// Uniform integer in [0, n); n must be > 0. Unbiased (Lemire's method).
  std::uint64_t below(std::uint64_t n);
  /// Standard normal variate (Marsaglia polar method, no cached second value so that the state
  /// is exactly the four words).
  double normal();

  /// A seed for a child stream (e.g. one env copy), derived without disturbing this stream's use.
  static std::uint64_t derive(std::uint64_t seed, std::uint64_t index);

  const State& state() const { return s_; }
  void set_state(const State& s) { s_ = s; }

 private:
  State s_{};
};

}  // namespace trustrl
