#include "core/metrics.h"

#include <unistd.h>

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

CsvMetricSink::CsvMetricSink(std::filesystem::path path, std::optional<std::int64_t> keep_rows)
    : path_(std::move(path)) {
  if (keep_rows) {
    std::string kept;
    if (std::filesystem::exists(path_)) {
      std::istringstream in(read_text_file(path_));
      std::string line;
      std::int64_t rows = -1;  // the header is row -1
      while (rows < *keep_rows && std::getline(in, line)) {
        if (rows == -1) columns_ = split(line, ',');
        kept += line + "\n";
        ++rows;
      }
      if (rows < *keep_rows)
        throw Error("'" + path_.string() + "' has " + std::to_string(std::max<std::int64_t>(rows, 0)) +
                    " rows but the checkpoint was taken after " + std::to_string(*keep_rows) +
                    " updates; the run directory is inconsistent");
    } else if (*keep_rows > 0) {
      throw Error("'" + path_.string() + "' is missing; cannot resume its metrics");
    }
    write_file_atomic(path_, kept);
    out_.open(path_, std::ios::app);
  } else {
    out_.open(path_, std::ios::trunc);
  }
  if (!out_) throw Error("cannot write '" + path_.string() + "'");
}

void CsvMetricSink::write(std::int64_t, const MetricRow& row) {
  if (columns_.empty()) {
    for (const auto& [name, v] : row.values()) columns_.push_back(name);
    for (std::size_t i = 0; i < columns_.size(); ++i) out_ << (i ? "," : "") << columns_[i];
    out_ << "\n";
  }
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    const auto v = row.get(columns_[i]);
    out_ << (i ? "," : "") << (v ? csv_value(*v) : "");
  }
  out_ << "\n";
  out_.flush();
}

void CsvMetricSink::flush() { out_.flush(); }

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
  const std::uint32_t crc =
      crc32c({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

}  // namespace

TensorBoardSink::TensorBoardSink(const std::filesystem::path& directory) {
  std::filesystem::create_directories(directory);
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  path_ = directory / ("events.out.tfevents." +
                       std::to_string(static_cast<long long>(now_seconds())) + "." + host);
  out_.open(path_, std::ios::binary | std::ios::trunc);
  if (!out_) throw Error("cannot write '" + path_.string() + "'");
  std::string e = event_header(now_seconds(), 0);
  put_bytes_field(e, 3, "brain.Event:2");
  write_record(e);
}

void TensorBoardSink::write_record(const std::string& data) {
  const std::uint64_t length = data.size();
  std::string len(reinterpret_cast<const char*>(&length), 8);
  const std::uint32_t len_crc = masked_crc(len), data_crc = masked_crc(data);
  out_.write(len.data(), 8);
  out_.write(reinterpret_cast<const char*>(&len_crc), 4);
  out_.write(data.data(), static_cast<std::streamsize>(data.size()));
  out_.write(reinterpret_cast<const char*>(&data_crc), 4);
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
  out_.flush();
}

void TensorBoardSink::flush() { out_.flush(); }

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
