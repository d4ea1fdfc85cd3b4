#include "tests/support/metrics_table.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace trustrl::testing {

namespace {

std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  std::string cell;
  while (std::getline(in, cell, ',')) cells.push_back(cell);
  if (!line.empty() && line.back() == ',') cells.emplace_back();  // a trailing empty cell
  return cells;
}

double number(const std::string& cell) { return cell.empty() ? NAN : std::stod(cell); }

}  // namespace

bool is_clock_column(const std::string& name) {
  return name == "charts/SPS" || name.rfind("time/", 0) == 0;
}

MetricsTable MetricsTable::read(const std::filesystem::path& csv) {
  std::ifstream in(csv);
  if (!in) throw Error("cannot read '" + csv.string() + "'");
  MetricsTable t;
  std::string line;
  while (std::getline(in, line)) {
    if (t.header.empty())
      t.header = cells_of(line);
    else
      t.rows.push_back(cells_of(line));
  }
  return t;
}

std::size_t MetricsTable::column(const std::string& name) const {
  const auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end()) throw Error("metrics.csv has no column '" + name + "'");
  return static_cast<std::size_t>(it - header.begin());
}

double MetricsTable::at(std::size_t row, const std::string& name) const {
  const std::vector<std::string>& cells = rows.at(row);
  const std::size_t c = column(name);
  return c < cells.size() ? number(cells[c]) : NAN;
}

std::vector<std::map<std::string, double>> MetricsTable::numeric_rows() const {
  std::vector<std::map<std::string, double>> out;
  for (const auto& cells : rows) {
    std::map<std::string, double> row;
    for (std::size_t i = 0; i < cells.size() && i < header.size(); ++i)
      row[header[i]] = number(cells[i]);
    out.push_back(std::move(row));
  }
  return out;
}

std::vector<std::vector<std::string>> MetricsTable::without_clock() const {
  std::vector<std::vector<std::string>> out;
  for (const auto& cells : rows) {
    std::vector<std::string> kept;
    for (std::size_t i = 0; i < cells.size() && i < header.size(); ++i)
      if (!is_clock_column(header[i])) kept.push_back(header[i] + "=" + cells[i]);
    out.push_back(std::move(kept));
  }
  return out;
}

}  // namespace trustrl::testing
