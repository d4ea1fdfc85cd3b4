#include "core/run_dir.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/files.h"

namespace trustrl {
namespace {

namespace fs = std::filesystem;

TEST(RunDir, CreateRefusesAnExistingRun) {
  const fs::path p = fs::temp_directory_path() / ("trustrl_rundir_" + std::to_string(::getpid()));
  fs::remove_all(p);
  {
    RunDir d = RunDir::create(p);
    write_file_atomic(d.config_path(), std::string("x: 1\n"));
  }
  EXPECT_THROW(RunDir::create(p), Error);
  EXPECT_NO_THROW(RunDir::open(p));
  fs::remove_all(p);
}

TEST(RunDir, SavedPolicyPrefersTheNewNameAndReadsTheOld) {
  const fs::path p =
      fs::temp_directory_path() / ("trustrl_policyname_" + std::to_string(::getpid()));
  fs::remove_all(p);
  RunDir d = RunDir::create(p);
  EXPECT_EQ(d.policy_path().filename(), "policy.trustrl");
  EXPECT_FALSE(d.saved_policy().has_value());
  write_file_atomic(d.legacy_policy_path(), std::string("old"));
  EXPECT_EQ(d.saved_policy(), p / "policy.pt");
  write_file_atomic(d.policy_path(), std::string("new"));
  EXPECT_EQ(d.saved_policy(), p / "policy.trustrl");
  fs::remove_all(p);
}

TEST(RunDir, OpenNamesWhatIsWrong) {
  try {
    RunDir::open("/nonexistent/run");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos);
  }
  const fs::path p = fs::temp_directory_path() / ("trustrl_notrun_" + std::to_string(::getpid()));
  fs::create_directories(p);
  try {
    RunDir::open(p);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a trustrl run directory"), std::string::npos);
  }
  fs::remove_all(p);
}

TEST(RunDir, CheckpointsSortedAndPruned) {
  const fs::path p = fs::temp_directory_path() / ("trustrl_ckpts_" + std::to_string(::getpid()));
  fs::remove_all(p);
  RunDir d = RunDir::create(p);
  for (int u : {10, 2, 30}) write_file_atomic(d.checkpoint_path(u), std::string("c"));
  write_file_atomic(d.checkpoints_dir() / "junk.txt", std::string("j"));
  auto all = d.checkpoints();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all.back(), d.checkpoint_path(30));
  EXPECT_EQ(all.front(), d.checkpoint_path(2));
  d.prune_checkpoints(2);
  all = d.checkpoints();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all.front(), d.checkpoint_path(10));  // the oldest went, the newest two stay
  EXPECT_EQ(all.back(), d.checkpoint_path(30));
  fs::remove_all(p);
}

TEST(RunDir, LockIsExclusive) {
  const fs::path p = fs::temp_directory_path() / ("trustrl_lock_" + std::to_string(::getpid()));
  fs::remove_all(p);
  RunDir a = RunDir::create(p);
  write_file_atomic(a.config_path(), std::string("x: 1\n"));
  a.lock();
  RunDir b = RunDir::open(p);
  EXPECT_THROW(b.lock(), Error);
  fs::remove_all(p);
}

}  // namespace
}  // namespace trustrl
