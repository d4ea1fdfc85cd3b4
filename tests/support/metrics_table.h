#pragma once
// A run's metrics.csv as tests read it: the header and the rows as text, looked up by column.

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace trustrl::testing {

/// Whether a column is a wall-clock one (charts/SPS, time/*), which differs between runs by nature.
bool is_clock_column(const std::string& name);

struct MetricsTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  /// Reads `csv`; throws trustrl::Error if it cannot be read.
  static MetricsTable read(const std::filesystem::path& csv);
  /// The index of column `name`; throws trustrl::Error naming it if there is none.
  std::size_t column(const std::string& name) const;
  /// The value in `row` of column `name`; NaN for an empty cell.
  double at(std::size_t row, const std::string& name) const;
  /// Every row as column -> value (NaN for an empty cell).
  std::vector<std::map<std::string, double>> numeric_rows() const;
  /// Every row without the wall-clock columns, as "name=value" cells (so a difference names its
  /// column): what two runs of one seed must share.
  std::vector<std::vector<std::string>> without_clock() const;
};

}  // namespace trustrl::testing
