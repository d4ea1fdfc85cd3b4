#pragma once
// Metric rows (one per update) and the sinks they go to: CSV, TensorBoard, the console.
//
// Names follow CleanRL's so that plots from either read the same: charts/SPS,
// charts/episodic_return, losses/approx_kl, losses/clipfrac, losses/explained_variance, ...

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/append_file.h"

namespace trustrl {

/// Named values in a fixed order. NaN means "no value this update" (e.g. no episode ended).
class MetricRow {
 public:
  void set(const std::string& name, double value);
  /// The value, or nullopt if the row has no such column.
  std::optional<double> get(const std::string& name) const;
  const std::vector<std::pair<std::string, double>>& values() const { return values_; }

 private:
  std::vector<std::pair<std::string, double>> values_;
};

class MetricSink {
 public:
  virtual ~MetricSink() = default;
  /// `step` is the env-step count the row belongs to. Throws Error naming the file if the row
  /// cannot be written (after retrying transient failures): a row is never silently lost.
  virtual void write(std::int64_t step, const MetricRow& row) = 0;
  /// Makes the rows written so far durable; throws Error if they cannot be.
  virtual void flush() {}
};

/// metrics.csv: a header, then one row per update, flushed after each row.
class CsvMetricSink final : public MetricSink {
 public:
  /// Starts a new file (`keep_rows` unset) or, when resuming, keeps the header and the first
  /// `keep_rows` rows of the existing file and drops the rest, which were written after the
  /// checkpoint being resumed: so no row is lost or written twice.
  /// Kept rows are checked first: the rows from the first one that does not parse (a row cut by
  /// a crash, a stray byte) are dropped too, and Error says so if that leaves too few.
  explicit CsvMetricSink(std::filesystem::path path, std::optional<std::int64_t> keep_rows = {},
                         WriteRetry retry = {});
  void write(std::int64_t step, const MetricRow& row) override;
  void flush() override;

 private:
  std::filesystem::path path_;
  std::unique_ptr<AppendFile> out_;
  std::vector<std::string> columns_;
};

/// What check_metrics_file found: the leading rows that are whole and well formed.
struct MetricsFileCheck {
  std::int64_t intact_rows = 0;
  /// Why the row after them is not; none when every row is intact. A finding, not an error: a
  /// crash can cut the last row, and resuming drops the rows from there.
  std::optional<std::string> problem;
};

/// Checks metrics.csv row by row: each row ends with a line end, has the header's cell count,
/// holds numbers or empty cells, and its `update` cell counts 1, 2, 3, ...
MetricsFileCheck check_metrics_file(const std::filesystem::path& path);

/// A TensorBoard event file (TFRecord of Event protos with scalar summaries), written without
/// TensorFlow: the record framing and the few protobuf fields are encoded here.
class TensorBoardSink final : public MetricSink {
 public:
  explicit TensorBoardSink(const std::filesystem::path& directory, WriteRetry retry = {});
  void write(std::int64_t step, const MetricRow& row) override;
  void flush() override;
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(const std::string& event);
  std::filesystem::path path_;
  std::unique_ptr<AppendFile> out_;
};

/// One progress line: steps, SPS, mean return, ETA. Redrawn in place on a terminal; plain lines
/// (at most one every few seconds, and the last) otherwise.
class ProgressSink final : public MetricSink {
 public:
  ProgressSink(std::int64_t total_steps, bool terminal);
  ~ProgressSink() override;
  void write(std::int64_t step, const MetricRow& row) override;

 private:
  std::int64_t total_;
  bool terminal_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_print_{};
};

/// The line ProgressSink prints, for logs too.
std::string progress_line(std::int64_t step, std::int64_t total, const MetricRow& row);

/// Sends each row to several sinks.
class MetricFanout final : public MetricSink {
 public:
  void add(std::unique_ptr<MetricSink> sink) { sinks_.push_back(std::move(sink)); }
  void write(std::int64_t step, const MetricRow& row) override {
    for (auto& s : sinks_) s->write(step, row);
  }
  void flush() override {
    for (auto& s : sinks_) s->flush();
  }

 private:
  std::vector<std::unique_ptr<MetricSink>> sinks_;
};

}  // namespace trustrl
