#include "core/metrics.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/files.h"
#include "tests/support/scratch_dir.h"

namespace trustrl {
namespace {

namespace fs = std::filesystem;

MetricRow row(double update, double ret) {
  MetricRow r;
  r.set("update", update);
  r.set("charts/episodic_return", ret);
  return r;
}

TEST(Metrics, CsvHeaderAndRows) {
  const fs::path dir = testing::scratch_dir("csv");
  {
    CsvMetricSink sink(dir / "m.csv");
    sink.write(0, row(1, 10.5));
    sink.write(0, row(2, NAN));
  }
  EXPECT_EQ(read_text_file(dir / "m.csv"), "update,charts/episodic_return\n1,10.5\n2,\n");
  fs::remove_all(dir);
}

TEST(Metrics, CsvResumeDropsRowsAfterTheCheckpoint) {
  const fs::path dir = testing::scratch_dir("csv_resume");
  {
    CsvMetricSink sink(dir / "m.csv");
    for (int u = 1; u <= 5; ++u) sink.write(0, row(u, u));
  }
  {
    CsvMetricSink sink(dir / "m.csv", 3);  // checkpoint after update 3
    sink.write(0, row(4, 40));
  }
  EXPECT_EQ(read_text_file(dir / "m.csv"), "update,charts/episodic_return\n1,1\n2,2\n3,3\n4,40\n");
  EXPECT_THROW(CsvMetricSink(dir / "m.csv", 10), Error);
  fs::remove_all(dir);
}

TEST(Metrics, CsvSinkReportsAFullDisk) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full here";
  // /dev/full fails every write with ENOSPC, as a full disk does: the sink must say so (after
  // its bounded retries), not drop the row.
  CsvMetricSink sink("/dev/full");
  try {
    sink.write(0, row(1, 10.5));
    FAIL() << "a row went to a full disk without an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'/dev/full'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
  }
}

TEST(Metrics, TensorBoardSinkReportsAFailedWrite) {
  const fs::path dir = testing::scratch_dir("tb_full");
  // A file size limit (EFBIG once reached) stands in for a full disk, in a child process.
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    int code = 1;
    try {
      TensorBoardSink sink(dir);
      for (int u = 1; u <= 1000; ++u) sink.write(u, row(u, u));
    } catch (const Error& e) {
      code = std::string(e.what()).find("events.out.tfevents") != std::string::npos ? 0 : 2;
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "1: rows were dropped without an error; 2: the error does not name the file";
  fs::remove_all(dir);
}

TEST(Metrics, CsvResumeCutsAtTheFirstDamagedRow) {
  const fs::path dir = testing::scratch_dir("csv_damaged");
  const std::string header = "update,charts/episodic_return\n";
  write_file_atomic(dir / "m.csv", header + "1,1\n2,2\n3,3\n4,4");  // row 4 cut by a crash
  MetricsFileCheck check = check_metrics_file(dir / "m.csv");
  EXPECT_EQ(check.intact_rows, 3);
  EXPECT_EQ(check.problem, "row 4 is cut short (no line end)");
  EXPECT_THROW(CsvMetricSink(dir / "m.csv", 4), Error);
  {
    CsvMetricSink sink(dir / "m.csv", 3);
    sink.write(0, row(4, 40));
  }
  EXPECT_EQ(read_text_file(dir / "m.csv"), header + "1,1\n2,2\n3,3\n4,40\n");
  check = check_metrics_file(dir / "m.csv");
  EXPECT_EQ(check.intact_rows, 4);
  EXPECT_EQ(check.problem, std::nullopt);

  write_file_atomic(dir / "m.csv", header + "1,1\n2,x2\n3,3\n");
  check = check_metrics_file(dir / "m.csv");
  EXPECT_EQ(check.intact_rows, 1);
  EXPECT_EQ(check.problem, "row 2 has 'x2', not a number");
  try {
    CsvMetricSink sink(dir / "m.csv", 3);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 2 has 'x2'"), std::string::npos) << e.what();
  }
  write_file_atomic(dir / "m.csv", header + "1,1\n2,2,2\n");
  EXPECT_EQ(check_metrics_file(dir / "m.csv").problem, "row 2 has 3 cells, the header 2");
  write_file_atomic(dir / "m.csv", header + "1,1\n3,3\n");
  EXPECT_EQ(check_metrics_file(dir / "m.csv").problem, "row 2 is for update '3', not 2");
  fs::remove_all(dir);
}

TEST(Metrics, TensorBoardRecordsAreFramed) {
  const fs::path dir = testing::scratch_dir("tb");
  fs::path file;
  {
    TensorBoardSink sink(dir);
    file = sink.path();
    sink.write(100, row(1, 2.0));
  }
  const auto bytes = read_file(file);
  // Walk the TFRecord framing: length, masked crc of length, data, masked crc of data.
  std::size_t pos = 0;
  int records = 0;
  const auto masked = [](std::uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; };
  while (pos < bytes.size()) {
    ASSERT_LE(pos + 12, bytes.size());
    std::uint64_t len;
    std::memcpy(&len, &bytes[pos], 8);
    std::uint32_t len_crc;
    std::memcpy(&len_crc, &bytes[pos + 8], 4);
    EXPECT_EQ(len_crc, masked(crc32c({&bytes[pos], 8})));
    ASSERT_LE(pos + 12 + len + 4, bytes.size());
    std::uint32_t data_crc;
    std::memcpy(&data_crc, &bytes[pos + 12 + len], 4);
    EXPECT_EQ(data_crc, masked(crc32c({&bytes[pos + 12], len})));
    pos += 12 + len + 4;
    ++records;
  }
  EXPECT_EQ(pos, bytes.size());
  EXPECT_EQ(records, 2);  // file version + one summary
  fs::remove_all(dir);
}

TEST(Metrics, ProgressLine) {
  MetricRow r;
  r.set("charts/SPS", 50000);
  r.set("charts/episodic_return", 123.456);
  const std::string line = progress_line(50000, 100000, r);
  EXPECT_NE(line.find("50.0k/100.0k"), std::string::npos) << line;
  EXPECT_NE(line.find("( 50%)"), std::string::npos) << line;
  EXPECT_NE(line.find("return 123.46"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 1s"), std::string::npos) << line;
}

}  // namespace
}  // namespace trustrl
