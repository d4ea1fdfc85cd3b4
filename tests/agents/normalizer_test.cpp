#include "agents/normalizer.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/rng.h"

namespace trustrl::agents {
namespace {

TEST(RunningMeanStd, BatchesMergeToTheWholeDataMoments) {
  Rng rng(0);
  std::vector<float> data(3000);
  for (auto& x : data) x = static_cast<float>(rng.normal() * 3 + 2);
  RunningMeanStd rms(3, 0.0);
  rms.update(data.data(), 400);
  rms.update(data.data() + 1200, 600);
  double mean[3] = {0, 0, 0}, var[3] = {0, 0, 0};
  for (int r = 0; r < 1000; ++r)
    for (int k = 0; k < 3; ++k) mean[k] += data[r * 3 + k] / 1000.0;
  for (int r = 0; r < 1000; ++r)
    for (int k = 0; k < 3; ++k)
      var[k] += (data[r * 3 + k] - mean[k]) * (data[r * 3 + k] - mean[k]) / 1000.0;
  for (int k = 0; k < 3; ++k) {
    EXPECT_NEAR(rms.mean()[k], mean[k], 1e-9);
    EXPECT_NEAR(rms.var()[k], var[k], 1e-9);
  }
  EXPECT_DOUBLE_EQ(rms.count(), 1000.0);
}

TEST(ObsNormalizer, NormalizesClipsAndRoundTrips) {
  ObsNormalizer n(2, true, 5.0);
  std::vector<float> data{1, 100, 3, 100, 5, 100};
  n.update(data.data(), 3);
  std::vector<float> out(2);
  const std::vector<float> x{3, 1000};
  n.normalize(x.data(), 1, out.data());
  EXPECT_NEAR(out[0], 0.0f, 1e-4);
  EXPECT_EQ(out[1], 5.0f);  // clipped
  ByteWriter w;
  n.save(w);
  ObsNormalizer m(2, true, 5.0);
  ByteReader r(w.bytes(), "normalizer");
  m.load(r);
  std::vector<float> out2(2);
  m.normalize(x.data(), 1, out2.data());
  EXPECT_EQ(out, out2);
  // Loading restores the settings and the size too.
  ObsNormalizer other(3, false, 1.0);
  ByteReader r2(w.bytes(), "normalizer");
  other.load(r2);
  EXPECT_EQ(other.dim(), 2);
  EXPECT_TRUE(other.enabled());
  std::vector<float> out3(2);
  other.normalize(x.data(), 1, out3.data());
  EXPECT_EQ(out3, out);
  ByteReader cut(std::span<const std::uint8_t>(w.bytes()).first(10), "normalizer");
  EXPECT_THROW(other.load(cut), Error);
}

TEST(ObsNormalizer, DisabledIsIdentity) {
  ObsNormalizer n(2, false, 5.0);
  const std::vector<float> x{3, 1000};
  std::vector<float> out(2);
  n.update(x.data(), 1);
  n.normalize(x.data(), 1, out.data());
  EXPECT_EQ(out, x);
}

// MAPPO's ValueNorm: a debiased EMA of mean and mean square; var clamped at 1e-2.
TEST(ValueNormalizer, FollowsTheMappoReference) {
  ValueNormalizer v(true, 0.9);
  const std::vector<float> a{1, 3}, b{10, 10};
  v.update(a.data(), 2);
  EXPECT_NEAR(v.mean(), 2.0, 1e-9);
  EXPECT_NEAR(v.stddev(), 1.0, 1e-9);
  v.update(b.data(), 2);
  const double d = 0.9 * 0.1 + 0.1, mean = (0.9 * 0.1 * 2 + 0.1 * 10) / d,
               sq = (0.9 * 0.1 * 5 + 0.1 * 100) / d;
  EXPECT_NEAR(v.mean(), mean, 1e-9);
  EXPECT_NEAR(v.stddev(), std::sqrt(sq - mean * mean), 1e-9);
  EXPECT_NEAR(v.denormalize(v.normalize(7.5f)), 7.5f, 1e-5);
  ValueNormalizer off(false);
  EXPECT_EQ(off.normalize(3.0f), 3.0f);
}

// A normalizer that has seen no data is the identity, and stays so through save/load (actors
// receive the learner's statistics as bytes before its first update).
TEST(ValueNormalizer, SaveLoadRoundTripsBeforeAndAfterData) {
  ValueNormalizer v(true, 0.9);
  for (int round = 0; round < 2; ++round) {
    ByteWriter w;
    v.save(w);
    ValueNormalizer loaded;
    ByteReader in(w.bytes(), "value normalizer");
    loaded.load(in);
    EXPECT_EQ(loaded.mean(), v.mean()) << "round " << round;
    EXPECT_EQ(loaded.stddev(), v.stddev()) << "round " << round;
    EXPECT_EQ(loaded.denormalize(0.5f), v.denormalize(0.5f)) << "round " << round;
    const std::vector<float> data{4, 6};
    v.update(data.data(), 2);
  }
  EXPECT_NE(v.stddev(), 1.0);
}

// SB3's VecNormalize: ret = ret * gamma + r; update stats with ret; r / sqrt(var + eps); ret = 0
// at done.
TEST(RewardScaler, FollowsStableBaselines3) {
  RewardScaler s(true, 0.9, 10.0);
  std::vector<float> r{1, 2, 3, 4};  // [T=2, N=2]
  const std::vector<std::uint8_t> done{0, 1, 0, 0};
  s.scale(0, 2, 2, r.data(), done.data());
  RunningMeanStd ref(1);
  std::vector<double> ret{1, 2};
  ref.update(ret.data(), 2);
  EXPECT_NEAR(r[0], 1 / std::sqrt(ref.var()[0] + 1e-8), 1e-5);
  EXPECT_NEAR(r[1], 2 / std::sqrt(ref.var()[0] + 1e-8), 1e-5);
  ret = {1 * 0.9 + 3, 0 * 0.9 + 4};  // copy 1 was reset by its episode end
  ref.update(ret.data(), 2);
  EXPECT_NEAR(r[2], 3 / std::sqrt(ref.var()[0] + 1e-8), 1e-5);
  EXPECT_NEAR(r[3], 4 / std::sqrt(ref.var()[0] + 1e-8), 1e-5);
}

}  // namespace
}  // namespace trustrl::agents
