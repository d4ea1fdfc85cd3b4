#include "agents/trust_region.h"

#include <gtest/gtest.h>

#include <cmath>

#include "agents/kl.h"
#include "core/bytes.h"
#include "core/error.h"

namespace trustrl::agents {
namespace {

TEST(TrustRegion, ClippedSurrogateIsPessimistic) {
  TrustRegionConfig c;
  c.clip = 0.2;
  TrustRegion tr(c);
  tr.begin_update(1.0);
  const auto ratio = torch::tensor({1.5, 0.5, 1.1});
  const auto adv = torch::tensor({1.0, -1.0, 1.0});
  // min(r A, clip(r) A): 1.2, -0.8, 1.1 -> loss = -mean.
  EXPECT_NEAR(tr.policy_loss(ratio, adv, {}).item<double>(), -(1.2 - 0.8 + 1.1) / 3, 1e-6);
  EXPECT_NEAR(tr.clip_fraction(ratio).item<double>(), 2.0 / 3, 1e-6);
}

TEST(TrustRegion, ClipAnnealsWithProgress) {
  TrustRegionConfig c;
  c.clip = 0.2;
  c.clip_anneal = true;
  TrustRegion tr(c);
  tr.begin_update(0.25);
  EXPECT_NEAR(tr.clip_epsilon(), 0.05, 1e-12);
}

TEST(TrustRegion, PenaltyAddsBetaTimesKl) {
  TrustRegionConfig c;
  c.clip.reset();
  c.kl_penalty.enabled = true;
  c.kl_penalty.beta = 3.0;
  TrustRegion tr(c);
  const auto ratio = torch::tensor({2.0}), adv = torch::tensor({1.0}), kl = torch::tensor({0.1});
  EXPECT_NEAR(tr.policy_loss(ratio, adv, kl).item<double>(), -2.0 + 0.3, 1e-6);
}

TEST(TrustRegion, AdaptiveBetaFollowsThePpoPaperRule) {
  TrustRegionConfig c;
  c.kl_penalty.enabled = true;
  c.kl_penalty.beta = 1.0;
  c.kl_penalty.target = 0.01;
  TrustRegion tr(c);
  tr.end_update(0.02);  // > 1.5 target
  EXPECT_DOUBLE_EQ(tr.beta(), 2.0);
  tr.end_update(0.01);  // in between: unchanged
  EXPECT_DOUBLE_EQ(tr.beta(), 2.0);
  tr.end_update(0.005);  // < target / 1.5
  EXPECT_DOUBLE_EQ(tr.beta(), 1.0);
  c.kl_penalty.adaptive = false;
  TrustRegion fixed(c);
  fixed.end_update(1.0);
  EXPECT_DOUBLE_EQ(fixed.beta(), 1.0);
}

TEST(TrustRegion, TargetKlStopsAtOneAndAHalfTimesTarget) {
  TrustRegionConfig c;
  c.target_kl = 0.01;
  TrustRegion tr(c);
  EXPECT_FALSE(tr.stop_before_step(0.0149));
  EXPECT_TRUE(tr.stop_before_step(0.0151));
  EXPECT_FALSE(tr.stop_after_epoch(1.0));  // per-minibatch mode
  c.target_kl_check = KlCheck::kEpoch;
  TrustRegion per_epoch(c);
  EXPECT_FALSE(per_epoch.stop_before_step(1.0));
  EXPECT_FALSE(per_epoch.stop_after_epoch(0.0149));
  EXPECT_TRUE(per_epoch.stop_after_epoch(0.0151));
}

TEST(TrustRegion, BoundBacktracksUntilKlFits) {
  TrustRegionConfig c;
  c.kl_bound.delta = 0.01;
  c.kl_bound.backtrack_coef = 0.5;
  TrustRegion tr(c);
  torch::Tensor params = torch::tensor({1.0});
  const auto old_p = torch::tensor({0.0}), new_p = torch::tensor({1.0});
  // KL grows with the squared step: 0.04 at the full step, 0.01 at half, 0.0025 at a quarter.
  auto kl = [&] { return 0.04 * params.item<double>() * params.item<double>(); };
  const int steps =
      tr.enforce_bound([&](const torch::Tensor& p) { params = p.clone(); }, old_p, new_p, kl);
  EXPECT_EQ(steps, 1);
  EXPECT_NEAR(params.item<double>(), 0.5, 1e-12);
  EXPECT_LE(kl(), 0.01 + 1e-12);
}

TEST(TrustRegion, AnnealedBoundFallsWithProgressAndBindsTheBacktracking) {
  TrustRegionConfig c;
  c.kl_bound.delta = 0.04;
  c.kl_bound.backtrack_coef = 0.5;
  TrustRegion fixed(c);
  c.kl_bound.anneal = true;
  TrustRegion annealed(c);
  EXPECT_DOUBLE_EQ(*annealed.kl_delta(), 0.04);  // before the first update: the configured one
  fixed.begin_update(0.25);
  annealed.begin_update(0.25);
  EXPECT_DOUBLE_EQ(*fixed.kl_delta(), 0.04);
  EXPECT_NEAR(*annealed.kl_delta(), 0.01, 1e-15);
  // KL 0.04 at the full step: within the fixed bound, a quarter of it needs one halving.
  torch::Tensor params;
  auto kl = [&] { return 0.04 * params.item<double>() * params.item<double>(); };
  auto set = [&](const torch::Tensor& p) { params = p.clone(); };
  const auto old_p = torch::tensor({0.0}), new_p = torch::tensor({1.0});
  params = new_p.clone();
  EXPECT_EQ(fixed.enforce_bound(set, old_p, new_p, kl), 0);
  EXPECT_EQ(annealed.enforce_bound(set, old_p, new_p, kl), 1);
  EXPECT_NEAR(params.item<double>(), 0.5, 1e-12);
  TrustRegionConfig none;
  EXPECT_FALSE(TrustRegion(none).kl_delta().has_value());
}

TEST(TrustRegion, AnnealingNoBoundIsRefused) {
  TrustRegionConfig c;
  c.kl_bound.anneal = true;
  try {
    TrustRegion tr(c);
    FAIL() << "accepted kl_bound.anneal without kl_bound.delta";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("trust_region.kl_bound.delta"), std::string::npos)
        << e.what();
  }
}

TEST(TrustRegion, BoundFallsBackToTheOldPolicy) {
  TrustRegionConfig c;
  c.kl_bound.delta = 1e-9;
  c.kl_bound.max_backtracks = 3;
  TrustRegion tr(c);
  torch::Tensor params = torch::tensor({1.0});
  auto kl = [&] { return params.item<double>(); };  // only 0 fits
  const int steps = tr.enforce_bound([&](const torch::Tensor& p) { params = p.clone(); },
                                     torch::tensor({0.0}), torch::tensor({1.0}), kl);
  EXPECT_EQ(steps, 4);
  EXPECT_EQ(params.item<double>(), 0.0);
}

TEST(TrustRegion, MeaninglessCombinationsAreRefused) {
  TrustRegionConfig none;
  none.clip.reset();
  try {
    TrustRegion tr(none);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("trust_region.clip"), std::string::npos);
  }
  TrustRegionConfig anneal;
  anneal.clip.reset();
  anneal.clip_anneal = true;
  anneal.kl_penalty.enabled = true;
  EXPECT_THROW(TrustRegion{anneal}, ConfigError);
}

TEST(TrustRegion, NaturalGradientNeedsABoundAndNoMinibatchTrustRegion) {
  TrustRegionConfig ok;
  ok.mode = TrustRegionMode::kNaturalGradient;
  ok.clip.reset();
  ok.kl_bound.delta = 0.01;
  EXPECT_TRUE(TrustRegion(ok).natural_gradient());
  auto refused = [&](auto change, const std::string& names) {
    TrustRegionConfig c = ok;
    change(c);
    try {
      TrustRegion tr(c);
      FAIL() << "accepted; expected a refusal naming " << names;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(names), std::string::npos) << e.what();
    }
  };
  refused([](TrustRegionConfig& c) { c.kl_bound.delta.reset(); }, "trust_region.kl_bound.delta");
  refused([](TrustRegionConfig& c) { c.clip = 0.2; }, "trust_region.clip");
  refused([](TrustRegionConfig& c) { c.kl_penalty.enabled = true; }, "kl_penalty");
  refused([](TrustRegionConfig& c) { c.target_kl = 0.01; }, "target_kl");
  refused([](TrustRegionConfig& c) { c.kl_measure = KlMeasure::kK3; }, "kl_measure");
}

TEST(TrustRegion, ReferenceBetaDecaysLinearlyToZeroByDecaySteps) {
  TrustRegionConfig c;
  c.reference.policy = "ref.pt";
  c.reference.beta = 2.0;
  c.reference.schedule = ReferenceSchedule::kLinear;
  c.reference.decay_steps = 500;
  c.reference.training_steps = 1000;
  TrustRegion tr(c);
  tr.begin_update(1.0);
  EXPECT_DOUBLE_EQ(tr.reference_beta(), 2.0);
  tr.begin_update(0.75);  // 250 steps done
  EXPECT_DOUBLE_EQ(tr.reference_beta(), 1.0);
  tr.begin_update(0.5);
  EXPECT_DOUBLE_EQ(tr.reference_beta(), 0.0);
  tr.begin_update(0.1);
  EXPECT_DOUBLE_EQ(tr.reference_beta(), 0.0);
  c.reference.decay_steps = 0;
  EXPECT_THROW(TrustRegion{c}, ConfigError);
}

TEST(TrustRegion, AdaptiveReferenceBetaFollowsItsTarget) {
  TrustRegionConfig c;
  c.reference.policy = "ref.pt";
  c.reference.beta = 1.0;
  c.reference.schedule = ReferenceSchedule::kAdaptive;
  c.reference.target = 0.01;
  TrustRegion tr(c);
  tr.end_reference_update(0.02);
  EXPECT_DOUBLE_EQ(tr.reference_beta(), 2.0);
  tr.end_reference_update(0.01);
  EXPECT_DOUBLE_EQ(tr.reference_beta(), 2.0);
  tr.end_reference_update(0.001);
  EXPECT_DOUBLE_EQ(tr.reference_beta(), 1.0);
  // Saved and restored with the rest of the trust region's state.
  ByteWriter w;
  tr.save(w);
  TrustRegion restored(c);
  restored.end_reference_update(1.0);
  const auto bytes = w.take();
  ByteReader r(bytes, "test");
  restored.load(r);
  EXPECT_DOUBLE_EQ(restored.reference_beta(), 1.0);
}

TEST(TrustRegion, ReferenceKlDirection) {
  const Distribution p = Distribution::categorical(torch::tensor({{0.9, 0.05, 0.05}}).log());
  const Distribution q = Distribution::categorical(torch::tensor({{0.4, 0.3, 0.3}}).log());
  TrustRegionConfig c;
  c.reference.policy = "ref.pt";
  EXPECT_EQ(c.reference.direction, KlDirection::kReverse);
  const double reverse = TrustRegion(c).reference_kl(q, p).item<double>();
  c.reference.direction = KlDirection::kForward;
  const double forward = TrustRegion(c).reference_kl(q, p).item<double>();
  EXPECT_NEAR(reverse, kl_divergence(p, q).item<double>(), 1e-6);  // KL(policy || reference)
  EXPECT_NEAR(forward, kl_divergence(q, p).item<double>(), 1e-6);
  EXPECT_GT(std::fabs(forward - reverse), 0.1);
}

}  // namespace
}  // namespace trustrl::agents
