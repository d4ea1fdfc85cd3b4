#include "agents/flat_critic_watch.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

namespace trustrl::agents {
namespace {

using Event = FlatCriticWatch::Event;

TEST(FlatCriticWatch, WarnsOnceWhenAStretchReachesItsLength) {
  FlatCriticWatch watch(3, 1e-3);
  EXPECT_EQ(watch.observe(0.0), Event::kNone);
  EXPECT_EQ(watch.observe(-4e-4), Event::kNone);
  EXPECT_EQ(watch.observe(1e-3), Event::kFlat);  // the band's edge is inside it
  EXPECT_EQ(watch.flat_updates(), 3);
  EXPECT_EQ(watch.observe(0.0), Event::kNone);  // the same stretch: no second warning
  EXPECT_EQ(watch.observe(2e-5), Event::kNone);
  EXPECT_EQ(watch.observe(0.6), Event::kRecovered);
  EXPECT_EQ(watch.ended_stretch(), 5);
  EXPECT_EQ(watch.flat_updates(), 0);
  EXPECT_EQ(watch.observe(0.7), Event::kNone);  // recovered once
}

TEST(FlatCriticWatch, AStretchBrokenBeforeItsLengthSaysNothing) {
  FlatCriticWatch watch(3, 1e-3);
  EXPECT_EQ(watch.observe(0.0), Event::kNone);
  EXPECT_EQ(watch.observe(0.0), Event::kNone);
  EXPECT_EQ(watch.observe(-0.2), Event::kNone);  // a critic worse than a constant is not flat
  EXPECT_EQ(watch.observe(0.0), Event::kNone);
  EXPECT_EQ(watch.observe(0.0), Event::kNone);
  EXPECT_EQ(watch.observe(0.0), Event::kFlat);  // a new stretch warns again
}

TEST(FlatCriticWatch, UndefinedValuesNeitherExtendNorEndAStretch) {
  FlatCriticWatch watch(2, 1e-3);
  EXPECT_EQ(watch.observe(0.0), Event::kNone);
  EXPECT_EQ(watch.observe(NAN), Event::kNone);
  EXPECT_EQ(watch.flat_updates(), 1);
  EXPECT_EQ(watch.observe(0.0), Event::kFlat);
  EXPECT_EQ(watch.observe(NAN), Event::kNone);
  EXPECT_EQ(watch.observe(0.5), Event::kRecovered);
}

TEST(FlatCriticWatch, RefusesALengthBelowOneAndANegativeBand) {
  EXPECT_THROW(FlatCriticWatch(0, 1e-3), Error);
  EXPECT_THROW(FlatCriticWatch(3, -1.0), Error);
  EXPECT_THROW(FlatCriticWatch(3, NAN), Error);
}

}  // namespace
}  // namespace trustrl::agents
