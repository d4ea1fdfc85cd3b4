#include "core/append_file.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <functional>

#include "core/error.h"
#include "core/files.h"
#include "tests/support/descriptor_shortage.h"
#include "tests/support/scratch_dir.h"

namespace trustrl {
namespace {

namespace fs = std::filesystem;

// Runs `body` in a child process (for process-wide limits) and returns its exit code.
int in_child(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

constexpr WriteRetry kQuickRetry{3, std::chrono::milliseconds(1), std::chrono::milliseconds(1)};

TEST(AppendFile, AppendsWholeRecords) {
  const fs::path dir = testing::scratch_dir("append");
  {
    AppendFile f(dir / "a.txt", AppendFile::Mode::kTruncate);
    f.append("one\n");
    f.append("two\n");
    f.sync();
  }
  {
    AppendFile f(dir / "a.txt", AppendFile::Mode::kAppend);
    f.append("three\n");
  }
  EXPECT_EQ(read_text_file(dir / "a.txt"), "one\ntwo\nthree\n");
  fs::remove_all(dir);
}

TEST(AppendFile, FullDiskIsAnErrorNamingTheFile) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full here";
  AppendFile f("/dev/full", AppendFile::Mode::kAppend, kQuickRetry);
  try {
    f.append("a row\n");
    FAIL() << "a write to /dev/full succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'/dev/full'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("3 tries"), std::string::npos) << e.what();
  }
}

TEST(AppendFile, ARecordThatDoesNotFitIsCutOff) {
  const fs::path dir = testing::scratch_dir("append_cut");
  const fs::path file = dir / "a.bin";
  // A file size limit makes the second record's write stop part way (EFBIG, not transient).
  const int code = in_child([&] {
    std::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{100, 100};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    AppendFile f(file, AppendFile::Mode::kTruncate, kQuickRetry);
    f.append(std::string(80, 'a'));
    try {
      f.append(std::string(50, 'b'));
    } catch (const Error& e) {
      return std::string(e.what()).find(file.string()) != std::string::npos ? 0 : 2;
    }
    return 1;
  });
  EXPECT_EQ(code, 0) << "1: no error; 2: the error does not name the file";
  EXPECT_EQ(read_text_file(file), std::string(80, 'a'));
  fs::remove_all(dir);
}

TEST(AppendFile, OpeningWaitsOutDescriptorExhaustion) {
  const fs::path dir = testing::scratch_dir("append_emfile");
  const int code = in_child([&] {
    const rlimit limit{64, 64};
    ::setrlimit(RLIMIT_NOFILE, &limit);
    // No descriptor is free for 100 ms, within the retry budget.
    const testing::DescriptorShortage shortage(std::chrono::milliseconds(100));
    if (shortage.taken() == 0) return 2;
    try {
      AppendFile f(dir / "log.txt", AppendFile::Mode::kTruncate);
      f.append("line\n");
    } catch (const Error&) {
      return 3;
    }
    return 0;
  });
  // Not 1 or 66: those are the sanitizers' exit codes (ASan and UBSan, TSan).
  EXPECT_EQ(code, 0) << "2: no descriptor was taken; 3: a transient EMFILE failed the open";
  EXPECT_EQ(read_text_file(dir / "log.txt"), "line\n");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace trustrl
