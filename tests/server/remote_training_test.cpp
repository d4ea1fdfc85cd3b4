// Training on remote envs end to end, as a user does it: real simulator processes, the trustrl
// binary training on them over loopback, and its evaluation.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/files.h"
#include "core/text.h"
#include "envs/conformance.h"
#include "envs/registry.h"
#include "server/env_protocol/remote_vector_env.h"
#include "tests/server/test_servers.h"
#include "tests/support/metrics_table.h"

namespace trustrl::server {
namespace {

namespace fs = std::filesystem;
using trustrl::testing::ChildProcess;
using trustrl::testing::kBinary;

fs::path scratch(const std::string& name) {
  const fs::path p = fs::temp_directory_path() /
                     ("trustrl_remote_train_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

// Runs the trustrl binary to completion and returns its output.
std::string run_trustrl(const std::vector<std::string>& args, double timeout_s) {
  std::vector<std::string> argv = {kBinary};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess p(argv, {}, /*merge_stderr=*/true);
  const int code = p.wait(timeout_s);
  EXPECT_EQ(code, 0) << p.output();
  return p.output();
}

double eval_return(const std::string& output) {
  const auto pos = output.find("return ");
  EXPECT_NE(pos, std::string::npos) << output;
  return pos == std::string::npos ? -1e9 : std::stod(output.substr(pos + 7));
}

// The end-to-end test: PPO reaches >= 475 on a CartPole served by the pure-Python example
// simulator (fixed seed, step budget).
TEST(RemoteTraining, PpoLearnsCartPoleServedByThePythonExample) {
  auto sim = trustrl::testing::start_python_sim(8);
  const fs::path run = scratch("python");
  run_trustrl(
      {"train", std::string(TRUSTRL_SOURCE_DIR) + "/configs/ppo_cartpole.yaml", "--set",
       "env.remote=" + sim.address, "--set", "seed=1", "--run-dir", run.string(), "--quiet"},
      600);
  // The simulator follows Gymnasium's CartPole-v1, so the policy evaluates on the built-in env.
  const double ret =
      eval_return(run_trustrl({"eval", run.string(), "--episodes", "20", "--deterministic"}, 120));
  EXPECT_GE(ret, 475.0);
  fs::remove_all(run);
}

// Same seed, same metrics: a run on trustrl's own env-server equals the local run, row for row.
TEST(RemoteTraining, RemoteCartPoleGivesTheSameMetricsAsLocal) {
  auto server = trustrl::testing::start_env_server("CartPole-v1", 8);
  const fs::path remote = scratch("remote"), local = scratch("local");
  const std::string config = std::string(TRUSTRL_SOURCE_DIR) + "/configs/ppo_cartpole.yaml";
  run_trustrl({"train", config, "--set", "total_steps=20480", "--set",
               "env.remote=" + server.address, "--run-dir", remote.string(), "--quiet"},
              300);
  run_trustrl(
      {"train", config, "--set", "total_steps=20480", "--run-dir", local.string(), "--quiet"}, 300);
  const testing::MetricsTable table = testing::MetricsTable::read(remote / "metrics.csv");
  const auto a = table.without_clock(),
             b = testing::MetricsTable::read(local / "metrics.csv").without_clock();
  EXPECT_EQ(a.size(), 80u);  // updates
  EXPECT_EQ(a, b);
  fs::remove_all(remote);
  fs::remove_all(local);
}

// The same for MAPPO on a multi-agent env: simple_spread served by a `trustrl env-server` process.
TEST(RemoteTraining, RemoteSimpleSpreadGivesTheSameMappoMetricsAsLocal) {
  // The server runs the env as the config names it (reward and integration of the MAPPO code).
  auto server = trustrl::testing::start_env_server(
      "simple_spread_v3", 8, "127.0.0.1:0",
      {"--option", "reward=mappo", "--option", "integration=original_mpe"});
  const fs::path remote = scratch("ma_remote"), local = scratch("ma_local");
  const std::string config = std::string(TRUSTRL_SOURCE_DIR) + "/configs/mappo_simple_spread.yaml";
  // 8 copies x 25 steps = 200 steps per update, 12 updates.
  const std::vector<std::string> common = {"--set", "total_steps=2400", "--set", "env.num_envs=8",
                                           "--quiet"};
  std::vector<std::string> remote_args = {
      "train", config, "--set", "env.remote=" + server.address, "--run-dir", remote.string()};
  std::vector<std::string> local_args = {"train", config, "--run-dir", local.string()};
  remote_args.insert(remote_args.end(), common.begin(), common.end());
  local_args.insert(local_args.end(), common.begin(), common.end());
  run_trustrl(remote_args, 300);
  run_trustrl(local_args, 300);
  const testing::MetricsTable table = testing::MetricsTable::read(remote / "metrics.csv");
  const auto a = table.without_clock(),
             b = testing::MetricsTable::read(local / "metrics.csv").without_clock();
  EXPECT_EQ(a.size(), 12u);  // updates
  EXPECT_NO_THROW(table.column("charts/cut_episodes"));
  EXPECT_EQ(a, b);
  // eval --env-server plays the same episodes as local copies (8, as the server serves).
  EXPECT_EQ(run_trustrl(
                {"eval", remote.string(), "--episodes", "8", "--env-server", server.address}, 120),
            run_trustrl({"eval", remote.string(), "--episodes", "8", "--num-envs", "8"}, 120));
  fs::remove_all(remote);
  fs::remove_all(local);
}

// The C++ env-server serves LunarLander to a RemoteVectorEnv: conformant, and the same batches
// as local copies for the same seed and actions.
TEST(RemoteTraining, EnvServerServesLunarLander) {
  auto server = trustrl::testing::start_env_server("LunarLander-v3", 4);
  RemoteEnvOptions options;
  options.address = server.address;
  options.max_reconnects = 0;
  envs::ConformanceOptions suite;
  suite.num_envs = 4;
  suite.steps = 200;
  for (const auto& c : envs::run_conformance(remote_env_maker(options), suite))
    EXPECT_TRUE(c.passed) << c.name << ": " << c.detail;

  options.num_envs = 4;
  RemoteVectorEnv remote(options);
  auto local = envs::LocalVectorEnv::make("LunarLander-v3", {}, 4, 1);
  remote.reset(77);
  local->reset(77);
  Rng rng(3);
  std::vector<std::int64_t> actions(4);
  for (int t = 0; t < 300; ++t) {
    for (auto& a : actions) a = static_cast<std::int64_t>(rng.below(4));
    remote.step({actions, {}});
    local->step({actions, {}});
    ASSERT_EQ(remote.buffers().observations, local->buffers().observations) << "step " << t;
    ASSERT_EQ(remote.buffers().rewards, local->buffers().rewards) << "step " << t;
  }
}

// A server whose spec differs from the policy's env (here: another time limit) is refused by eval
// in one line naming the field, evaluated with --allow-spec-mismatch (warned), and warned about
// by train; a matching server is used without a word.
TEST(RemoteTraining, SpecMismatchIsRefusedByEvalAndWarnedByTrain) {
  const fs::path run = scratch("mismatch"), again = scratch("mismatch_train");
  const std::string config = std::string(TRUSTRL_SOURCE_DIR) + "/configs/ppo_cartpole.yaml";
  const std::vector<std::string> small = {"--set", "total_steps=1024",
                                          "--quiet"};  // 8 copies, 4 updates
  std::vector<std::string> train = {"train", config, "--run-dir", run.string()};
  train.insert(train.end(), small.begin(), small.end());
  run_trustrl(train, 300);

  auto other = trustrl::testing::start_env_server("CartPole-v1", 8, "127.0.0.1:0",
                                                  {"--option", "max_episode_steps=200"});
  const std::string difference = "(max_episode_steps: expected 500, got 200)";
  ChildProcess refused(
      {kBinary, "eval", run.string(), "--episodes", "4", "--env-server", other.address}, {},
      /*merge_stderr=*/true);
  EXPECT_NE(refused.wait(120), 0);
  EXPECT_NE(refused.output().find(other.address + " serves CartPole-v1 with spec hash"),
            std::string::npos)
      << refused.output();
  EXPECT_NE(refused.output().find(difference + "; pass --allow-spec-mismatch"), std::string::npos)
      << refused.output();
  EXPECT_EQ(refused.output().find("return "), std::string::npos) << "nothing was evaluated";

  const std::string allowed = run_trustrl({"eval", run.string(), "--episodes", "4", "--env-server",
                                           other.address, "--allow-spec-mismatch"},
                                          120);
  EXPECT_NE(allowed.find("warning: simulator at " + other.address + " serves CartPole-v1"),
            std::string::npos)
      << allowed;
  EXPECT_NE(allowed.find(difference + "\n"), std::string::npos) << allowed;
  EXPECT_GT(eval_return(allowed), 0.0);

  std::vector<std::string> remote_train = {"train",        config,  "--run-dir",
                                           again.string(), "--set", "env.remote=" + other.address};
  remote_train.insert(remote_train.end(), small.begin(), small.end());
  const std::string trained = run_trustrl(remote_train, 300);
  EXPECT_NE(trained.find("warning: simulator at " + other.address + " serves CartPole-v1"),
            std::string::npos)
      << trained;

  auto same = trustrl::testing::start_env_server("CartPole-v1", 8);
  const std::string quiet =
      run_trustrl({"eval", run.string(), "--episodes", "4", "--env-server", same.address}, 120);
  EXPECT_EQ(quiet.find("warning"), std::string::npos) << quiet;
  fs::remove_all(run);
  fs::remove_all(again);
}

}  // namespace
}  // namespace trustrl::server
