#include "core/text.h"

#include <gtest/gtest.h>

namespace trustrl {
namespace {

TEST(Text, FormatNumberRoundTrips) {
  EXPECT_EQ(format_number(0.0003), "0.0003");
  EXPECT_EQ(format_number(100000.0), "100000");
  EXPECT_EQ(std::stod(format_number(0.1 + 0.2)), 0.1 + 0.2);
}

TEST(Text, ClosestFindsTypos) {
  EXPECT_EQ(closest("learnin_rate", {"learning_rate", "gamma"}), "learning_rate");
  EXPECT_EQ(closest("CartPole-v0", {"CartPole-v1", "Acrobot-v1"}), "CartPole-v1");
  EXPECT_EQ(closest("zzzzzz", {"learning_rate", "gamma"}), "");
}

TEST(Text, HumanUnits) {
  EXPECT_EQ(human_count(1234567), "1.23M");
  EXPECT_EQ(human_count(45600), "45.6k");
  EXPECT_EQ(human_duration(3725), "1h02m");
  EXPECT_EQ(human_duration(42), "42s");
}

TEST(Text, Split) {
  EXPECT_EQ(split("a.b..c", '.'), (std::vector<std::string>{"a", "b", "", "c"}));
}

}  // namespace
}  // namespace trustrl
