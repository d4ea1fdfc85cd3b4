#include "core/files.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/bytes.h"
#include "core/error.h"

namespace trustrl {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("trustrl_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

TEST(Files, AtomicWriteReplacesWholeFile) {
  const fs::path dir = temp_dir("atomic");
  const fs::path f = dir / "x.txt";
  write_file_atomic(f, std::string("first version, longer"));
  write_file_atomic(f, std::string("second"));
  EXPECT_EQ(read_text_file(f), "second");
  // No temporary left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1);
  fs::remove_all(dir);
}

TEST(Files, ReadingMissingFileNamesIt) {
  try {
    read_file("/nonexistent/trustrl/file");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/trustrl/file"), std::string::npos);
  }
}

TEST(Files, Crc32cKnownValue) {
  const std::string s = "123456789";
  EXPECT_EQ(crc32c({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}), 0xE3069283u);
}

TEST(Bytes, RoundTripAndTruncation) {
  ByteWriter w;
  w.put<std::int32_t>(-5);
  const std::vector<double> values{1.5, 2.5};
  w.put_vector(values);
  w.put_string("hello");
  const auto bytes = w.bytes();
  ByteReader r(bytes, "test blob");
  EXPECT_EQ(r.get<std::int32_t>(), -5);
  EXPECT_EQ(r.get_vector<double>(), (std::vector<double>{1.5, 2.5}));
  EXPECT_EQ(r.get_string(), "hello");
  EXPECT_TRUE(r.at_end());
  ByteReader cut(std::span<const std::uint8_t>(bytes).first(bytes.size() - 2), "test blob");
  cut.get<std::int32_t>();
  cut.get_vector<double>();
  EXPECT_THROW(cut.get_string(), Error);
}

}  // namespace
}  // namespace trustrl
