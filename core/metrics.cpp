#include "core/metrics.h"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "core/files.h"
#include "core/text.h"

namespace trustrl {

void MetricRow::set(const std::string& name, double value) {
  for (auto& [n, v] : values_)
    if (n == name) {
      v = value;
      return;
    }
  values_.emplace_back(name, value);
}

std::optional<double> MetricRow::get(const std::string& name) const {
  for (const auto& [n, v] : values_)
    if (n == name) return v;
  return std::nullopt;
}

// ---------------------------------------------------------------- CSV

namespace {
std::string csv_value(double v) {
  if (std::isnan(v)) return "";
  return format_number(v);
}
}  // namespace

CsvMetricSink::CsvMetricSink(std::filesystem::path path, std::optional<std::int64_t> keep_rows,
                             WriteRetry retry)
    : path_(std::move(path)) {
  if (keep_rows) {
    std::string kept;
    std::error_code ec;
    if (std::filesystem::exists(path_, ec)) {
      const MetricsFileCheck check = check_metrics_file(path_);
      if (check.intact_rows < *keep_rows)
        throw Error("'" + path_.string() + "' has " + std::to_string(check.intact_rows) +
                    " intact rows but the checkpoint was taken after " +
                    std::to_string(*keep_rows) + " updates" +
                    (check.problem ? " (" + *check.problem + ")" : "") +
                    "; the run directory is inconsistent");
      std::istringstream in(read_text_file(path_));
      std::string line;
      std::int64_t rows = -1;  // the header is row -1
      while (rows < *keep_rows && std::getline(in, line)) {
        if (rows == -1) columns_ = split(line, ',');
        kept += line + "\n";
        ++rows;
      }
    } else if (*keep_rows > 0) {
      throw Error("'" + path_.string() + "' is missing; cannot resume its metrics");
    }
    write_file_atomic(path_, kept, retry);
    out_ = std::make_unique<AppendFile>(path_, AppendFile::Mode::kAppend, retry);
  } else {
    out_ = std::make_unique<AppendFile>(path_, AppendFile::Mode::kTruncate, retry);
  }
}

void CsvMetricSink::write(std::int64_t, const MetricRow& row) {
  std::string text;
  if (columns_.empty()) {
    for (const auto& [name, v] : row.values()) columns_.push_back(name);
    for (std::size_t i = 0; i < columns_.size(); ++i) text += (i ? "," : "") + columns_[i];
    text += "\n";
  }
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    const auto v = row.get(columns_[i]);
    text += (i ? "," : "") + (v ? csv_value(*v) : std::string());
  }
  text += "\n";
  out_->append(text);
}

void CsvMetricSink::flush() { out_->sync(); }

MetricsFileCheck check_metrics_file(const std::filesystem::path& path) {
  MetricsFileCheck check;
  const std::string text = read_text_file(path);
  std::size_t pos = 0;
  std::size_t columns = 0;
  std::optional<std::size_t> update_column;
  for (std::int64_t row = -1;; ++row) {  // the header is row -1
    if (pos == text.size()) return check;
    const std::size_t end = text.find('\n', pos);
    const std::string where = row < 0 ? "the header" : "row " + std::to_string(row + 1);
    if (end == std::string::npos) {
      check.problem = where + " is cut short (no line end)";
      return check;
    }
    const std::vector<std::string> cells =
        split(std::string_view(text).substr(pos, end - pos), ',');
    pos = end + 1;
    if (row < 0) {
      columns = cells.size();
      for (std::size_t i = 0; i < cells.size(); ++i)
        if (cells[i] == "update") update_column = i;
      continue;
    }
    if (cells.size() != columns) {
      check.problem = where + " has " + std::to_string(cells.size()) + " cells, the header " +
                      std::to_string(columns);
      return check;
    }
    for (const std::string& cell : cells) {
      double x = 0;
      const auto [p, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), x);
      if (!cell.empty() && (ec != std::errc() || p != cell.data() + cell.size())) {
        check.problem = where + " has '" + cell + "', not a number";
        return check;
      }
    }
    if (update_column && cells[*update_column] != std::to_string(row + 1)) {
      check.problem =
          where + " is for update '" + cells[*update_column] + "', not " + std::to_string(row + 1);
      return check;
    }
    check.intact_rows = row + 1;
  }
}

// ---------------------------------------------------------------- TensorBoard

namespace {

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_fixed(std::string& out, const void* p, std::size_t n) {
  out.append(static_cast<const char*>(p), n);
}
void put_bytes_field(std::string& out, int field, const std::string& bytes) {
  put_varint(out, (static_cast<std::uint64_t>(field) << 3) | 2);
  put_varint(out, bytes.size());
  out += bytes;
}
// Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
std::string event_header(double wall_time, std::int64_t step) {
  std::string e;
  e.push_back(static_cast<char>((1 << 3) | 1));
  put_fixed(e, &wall_time, 8);
  e.push_back(static_cast<char>((2 << 3) | 0));
  put_varint(e, static_cast<std::uint64_t>(step));
  return e;
}
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
std::uint32_t masked_crc(const std::string& s) {
  const std::uint32_t crc = crc32c({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

}  // namespace

TensorBoardSink::TensorBoardSink(const std::filesystem::path& directory, WriteRetry retry) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) throw Error("cannot create '" + directory.string() + "': " + ec.message());
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  path_ = directory / ("events.out.tfevents." +
                       std::to_string(static_cast<long long>(now_seconds())) + "." + host);
  out_ = std::make_unique<AppendFile>(path_, AppendFile::Mode::kTruncate, retry);
  std::string e = event_header(now_seconds(), 0);
  put_bytes_field(e, 3, "brain.Event:2");
  write_record(e);
}

void TensorBoardSink::write_record(const std::string& data) {
  const std::uint64_t length = data.size();
  std::string len(reinterpret_cast<const char*>(&length), 8);
  const std::uint32_t len_crc = masked_crc(len), data_crc = masked_crc(data);
  std::string record = len;
  record.append(reinterpret_cast<const char*>(&len_crc), 4);
  record += data;
  record.append(reinterpret_cast<const char*>(&data_crc), 4);
  out_->append(record);
}

void TensorBoardSink::write(std::int64_t step, const MetricRow& row) {
  // Summary { repeated Value value = 1; }  Value { string tag = 1; float simple_value = 2; }
  std::string summary;
  for (const auto& [name, v] : row.values()) {
    if (std::isnan(v)) continue;
    std::string value;
    put_bytes_field(value, 1, name);
    value.push_back(static_cast<char>((2 << 3) | 5));
    const float f = static_cast<float>(v);
    put_fixed(value, &f, 4);
    put_bytes_field(summary, 1, value);
  }
  std::string e = event_header(now_seconds(), step);
  put_bytes_field(e, 5, summary);
  write_record(e);
}

void TensorBoardSink::flush() { out_->sync(); }

// ---------------------------------------------------------------- console

std::string progress_line(std::int64_t step, std::int64_t total, const MetricRow& row) {
  const double sps = row.get("charts/SPS").value_or(NAN);
  const double ret = row.get("charts/episodic_return").value_or(NAN);
  char buf[256];
  const double pct = total > 0 ? 100.0 * static_cast<double>(step) / static_cast<double>(total) : 0;
  const double eta = sps > 0 ? static_cast<double>(total - step) / sps : NAN;
  std::snprintf(buf, sizeof buf, "steps %s/%s (%3.0f%%)  SPS %s  return %s  ETA %s",
                human_count(static_cast<double>(step)).c_str(),
                human_count(static_cast<double>(total)).c_str(), pct,
                std::isnan(sps) ? "-" : human_count(sps).c_str(),
                std::isnan(ret) ? "-" : format_number(std::round(ret * 100) / 100).c_str(),
                human_duration(eta).c_str());
  return buf;
}

ProgressSink::ProgressSink(std::int64_t total_steps, bool terminal)
    : total_(total_steps), terminal_(terminal) {}

ProgressSink::~ProgressSink() {
  if (terminal_ && drawn_) std::cerr << "\n";
}

void ProgressSink::write(std::int64_t step, const MetricRow& row) {
  const std::string line = progress_line(step, total_, row);
  if (terminal_) {
    std::cerr << "\r\033[K" << line << std::flush;
    drawn_ = true;
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (step >= total_ || now - last_print_ > std::chrono::seconds(5)) {
    std::cerr << line << "\n";
    last_print_ = now;
  }
}

}  // namespace trustrl
