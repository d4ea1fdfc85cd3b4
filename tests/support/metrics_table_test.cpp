#include "tests/support/metrics_table.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "core/error.h"

namespace trustrl::testing {
namespace {

std::filesystem::path write_csv(const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("trustrl_metrics_table_" + std::to_string(::getpid()) + ".csv");
  std::ofstream(path) << text;
  return path;
}

TEST(MetricsTable, ReadsColumnsByNameWithEmptyCellsAsNaN) {
  const auto path =
      write_csv("update,charts/SPS,loss,time/update_s,kl\n1,900,0.5,0.1,\n2,950,,0.2,3\n");
  const MetricsTable t = MetricsTable::read(path);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.at(1, "update"), 2.0);
  EXPECT_EQ(t.at(0, "loss"), 0.5);
  EXPECT_TRUE(std::isnan(t.at(1, "loss")));
  EXPECT_TRUE(std::isnan(t.at(0, "kl")));  // a trailing empty cell
  EXPECT_EQ(t.numeric_rows()[1].at("kl"), 3.0);
  // The clock columns go; what a seed fixes stays, in order.
  const std::vector<std::vector<std::string>> kept = t.without_clock();
  EXPECT_EQ(kept[0], (std::vector<std::string>{"update=1", "loss=0.5", "kl="}));
  EXPECT_EQ(kept[1], (std::vector<std::string>{"update=2", "loss=", "kl=3"}));
  EXPECT_THROW(t.column("nope"), Error);
  std::filesystem::remove(path);
  EXPECT_THROW(MetricsTable::read(path), Error);
}

}  // namespace
}  // namespace trustrl::testing
