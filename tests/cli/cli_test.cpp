// The trustrl binary as a user meets it: bad input gets one line naming the problem and a
// non-zero exit, and leaves no run directory that looks valid.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

#include "core/files.h"

namespace {

namespace fs = std::filesystem;

struct Result {
  int exit_code = -1;
  std::string out, err;
};

const fs::path& scratch() {
  static const fs::path dir = [] {
    const fs::path p = fs::temp_directory_path() / ("trustrl_cli_" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
  }();
  return dir;
}

Result trustrl(const std::string& args) {
  const fs::path out = scratch() / "stdout.txt", err = scratch() / "stderr.txt";
  const std::string cmd = std::string(TRUSTRL_BINARY_DIR) + "/cli/trustrl " + args + " > " + out.string() + " 2> " +
                          err.string() + " < /dev/null";
  const int status = std::system(cmd.c_str());
  Result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = trustrl::read_text_file(out);
  r.err = trustrl::read_text_file(err);
  return r;
}

std::string write_config(const std::string& name, const std::string& yaml) {
  const fs::path p = scratch() / name;
  std::ofstream(p) << yaml;
  return p.string();
}

void expect_one_line_error(const Result& r, const std::string& needle) {
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line:\n" << r.err;
  EXPECT_EQ(r.err.find("frame #"), std::string::npos) << "stack dump:\n" << r.err;
}

const char* kTiny = "total_steps: 512\nenv: {id: CartPole-v1, num_envs: 2}\nppo: {num_steps: 64}\n";

TEST(Cli, MisspelledKey) {
  const std::string cfg = write_config("typo.yaml", std::string(kTiny) + "ppo2: {learnin_rate: 0.1}\n");
  const fs::path run = scratch() / "typo_run";
  const Result r = trustrl("train " + cfg + " --run-dir " + run.string());
  expect_one_line_error(r, "unknown config key 'ppo2'");
  EXPECT_FALSE(fs::exists(run));
  const std::string cfg2 = write_config("typo2.yaml", "ppo: {learnin_rate: 0.1}\n");
  expect_one_line_error(trustrl("train " + cfg2), "did you mean 'ppo.learning_rate'");
}

TEST(Cli, NegativeLearningRate) {
  const std::string cfg = write_config("neg.yaml", kTiny);
  const fs::path run = scratch() / "neg_run";
  const Result r = trustrl("train " + cfg + " --set ppo.learning_rate=-0.001 --run-dir " + run.string());
  expect_one_line_error(r, "ppo.learning_rate: must be > 0, got -0.001");
  EXPECT_FALSE(fs::exists(run));
}

TEST(Cli, UnknownEnvId) {
  const std::string cfg = write_config("env.yaml", kTiny);
  const fs::path run = scratch() / "env_run";
  const Result r = trustrl("train " + cfg + " --set env.id=CartPole-v0 --run-dir " + run.string());
  expect_one_line_error(r, "unknown env id 'CartPole-v0' (did you mean 'CartPole-v1'?)");
  EXPECT_FALSE(fs::exists(run));
}

TEST(Cli, MissingConfigFile) { expect_one_line_error(trustrl("train /nonexistent.yaml"), "/nonexistent.yaml"); }

TEST(Cli, EvalOnMissingOrNonRunDirectory) {
  expect_one_line_error(trustrl("eval /nonexistent/run"), "does not exist");
  fs::create_directories(scratch() / "not_a_run");
  expect_one_line_error(trustrl("eval " + (scratch() / "not_a_run").string()), "not a trustrl run directory");
}

TEST(Cli, TrainEvalAndCorruptFiles) {
  const std::string cfg = write_config("ok.yaml", kTiny);
  const fs::path run = scratch() / "ok_run";
  const Result t = trustrl("train " + cfg + " --run-dir " + run.string() + " --quiet");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_TRUE(fs::exists(run / "config.yaml"));
  EXPECT_TRUE(fs::exists(run / "policy.pt"));
  EXPECT_TRUE(fs::exists(run / "metrics.csv"));
  const Result e = trustrl("eval " + run.string() + " --episodes 3 --deterministic");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.out.find("CartPole-v1: 3 episodes (deterministic), return "), std::string::npos) << e.out;

  // A second train into the same directory must not clobber it.
  expect_one_line_error(trustrl("train " + cfg + " --run-dir " + run.string()), "already holds a run");

  // Truncated policy and checkpoint files.
  for (const fs::path& f : {run / "policy.pt", fs::path()}) {
    fs::path target = f;
    if (target.empty())
      for (const auto& entry : fs::directory_iterator(run / "checkpoints")) target = entry.path();
    auto bytes = trustrl::read_file(target);
    bytes.resize(bytes.size() - 10);
    trustrl::write_file_atomic(target, bytes);
    expect_one_line_error(trustrl("eval " + target.string()), "truncated or corrupt");
  }
  expect_one_line_error(trustrl("train --resume " + run.string()), "truncated or corrupt");
  expect_one_line_error(trustrl("eval " + cfg), "not a trustrl file");
}

TEST(Cli, EvalRecordsAnAnimation) {
  const std::string cfg = write_config("rec.yaml", kTiny);
  const fs::path run = scratch() / "rec_run";
  ASSERT_EQ(trustrl("train " + cfg + " --run-dir " + run.string() + " --quiet").exit_code, 0);
  const fs::path gif = scratch() / "cartpole.gif";
  const Result r = trustrl("eval " + run.string() + " --episodes 2 --record " + gif.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto bytes = trustrl::read_file(gif);
  ASSERT_GT(bytes.size(), 1000u);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 6), "GIF89a");
  expect_one_line_error(trustrl("eval " + run.string() + " --episodes 1 --record " + (scratch() / "x.avi").string()),
                        ".avi");
}

TEST(Cli, MultiAgentTrainEvalRecord) {
  const std::string cfg = write_config(
      "ma.yaml", "algo: mappo\ntotal_steps: 800\nenv: {id: simple_spread_v3, num_envs: 4}\nppo: {num_steps: 25}\n");
  const fs::path run = scratch() / "ma_run";
  const Result t = trustrl("train " + cfg + " --run-dir " + run.string() + " --quiet");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const fs::path mp4 = scratch() / "spread.mp4";
  const Result e = trustrl("eval " + run.string() + " --episodes 2 --record " + mp4.string());
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.out.find("simple_spread_v3: 2 episodes"), std::string::npos) << e.out;
  const auto bytes = trustrl::read_file(mp4);
  ASSERT_GT(bytes.size(), 1000u);
  EXPECT_EQ(std::string(bytes.begin() + 4, bytes.begin() + 8), "ftyp");
  // A single-agent algorithm on a multi-agent env is refused, naming the fix.
  expect_one_line_error(trustrl("train " + cfg + " --set algo=ppo --run-dir " + (scratch() / "bad_ma").string()),
                        "train it with algo: mappo");
}

TEST(Cli, BadFlags) {
  // CLI11 answers these itself: a line naming the problem, then one pointing at --help.
  for (const auto& [args, problem] :
       {std::pair{"train --bogus", "--bogus"}, std::pair{"eval", "target is required"},
        std::pair{"", "A subcommand is required"}}) {
    const Result r = trustrl(args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_NE(r.err.find(problem), std::string::npos) << args << ": " << r.err;
  }
  const std::string cfg = write_config("flags.yaml", kTiny);
  expect_one_line_error(trustrl("train " + cfg + " --set nonsense"), "--set expects key=value");
  expect_one_line_error(trustrl("train --resume /nonexistent/run"), "does not exist");
}

TEST(Cli, EnvsListsTheBuiltIns) {
  const Result r = trustrl("envs");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* id : {"CartPole-v1", "Pendulum-v1", "LunarLander-v3", "BipedalWalker-v3"})
    EXPECT_NE(r.out.find(id), std::string::npos) << id;
}

}  // namespace
