#include "core/files.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "tests/support/descriptor_shortage.h"
#include "tests/support/scratch_dir.h"

namespace trustrl {
namespace {

namespace fs = std::filesystem;

TEST(Files, AtomicWriteReplacesWholeFile) {
  const fs::path dir = testing::scratch_dir("atomic");
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

TEST(Files, AtomicWriteWaitsOutDescriptorExhaustion) {
  const fs::path dir = testing::scratch_dir("atomic_emfile");
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The shortage ends (its thread joined) before the child exits.
    const auto write_in_shortage = [&] {
      const rlimit limit{64, 64};
      ::setrlimit(RLIMIT_NOFILE, &limit);
      // No descriptor is free for 100 ms, within the retry budget.
      const testing::DescriptorShortage shortage(std::chrono::milliseconds(100));
      if (shortage.taken() == 0) return 2;
      try {
        write_file_atomic(dir / "ckpt.bin", std::string("checkpoint"));
      } catch (const Error&) {
        return 3;
      }
      return 0;
    };
    ::_exit(write_in_shortage());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  // Not 1 or 66: those are the sanitizers' exit codes (ASan and UBSan, TSan).
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "2: no descriptor was taken; 3: a transient EMFILE failed the checkpoint write";
  EXPECT_EQ(read_text_file(dir / "ckpt.bin"), "checkpoint");
  fs::remove_all(dir);
}

TEST(Files, ReadingADirectoryOrAnEndlessFileNamesIt) {
  const fs::path dir = testing::scratch_dir("read_dir");
  try {
    read_file(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
  }
  if (fs::exists("/dev/zero")) {
    try {
      read_text_file("/dev/zero", 1 << 20);
      FAIL();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("'/dev/zero' is larger than 1048576 bytes"),
                std::string::npos)
          << e.what();
    }
  }
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
  EXPECT_EQ(crc32c_reference({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}),
            0xE3069283u);
}

// The hardware path (8 bytes at a time, then single bytes) against the table, at every start
// offset and length around the word size, and chained through a running crc.
TEST(Files, Crc32cEqualsTheTableAtEveryAlignmentAndLength) {
  std::vector<std::uint8_t> bytes(300);
  std::uint32_t x = 12345;
  for (auto& b : bytes) b = static_cast<std::uint8_t>((x = x * 1103515245u + 12345u) >> 24);
  for (std::size_t start = 0; start < 9; ++start)
    for (std::size_t len = 0; start + len <= bytes.size(); len += (len < 40 ? 1 : 37)) {
      const std::span<const std::uint8_t> s(bytes.data() + start, len);
      ASSERT_EQ(crc32c(s), crc32c_reference(s)) << "start " << start << ", length " << len;
      ASSERT_EQ(crc32c(s, 0xDEADBEEFu), crc32c_reference(s, 0xDEADBEEFu));
    }
  const std::span<const std::uint8_t> all(bytes);
  EXPECT_EQ(crc32c(all.subspan(100), crc32c(all.first(100))), crc32c_reference(all));
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
