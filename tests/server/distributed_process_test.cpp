// Real processes on loopback: `trustrl learner` with `trustrl actor`s, against `trustrl train`;
// actors and learners killed with SIGKILL and restarted; MAPPO; two data-parallel learners.
// Every wait is on a line a child prints or on its exit, each with a deadline.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>

#include "agents/evaluate.h"
#include "agents/saved_policy.h"
#include "core/error.h"
#include "envs/vector_env.h"
#include "tests/support/child_process.h"
#include "tests/support/metrics_table.h"

namespace trustrl::server {
namespace {

using trustrl::testing::ChildProcess;
using trustrl::testing::MetricsTable;
namespace fs = std::filesystem;

constexpr double kStartTimeoutS = 60.0;
constexpr double kRunTimeoutS = 600.0;
const std::string kBinary = std::string(TRUSTRL_BINARY_DIR) + "/cli/trustrl";

fs::path fresh_dir(const std::string& name) {
  const fs::path p =
      fs::temp_directory_path() / ("trustrl_dist_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// Removes the test's folder at the end of the test unless it failed (or TRUSTRL_KEEP_TEST_DIRS is
// set): then it stays, with the children's logs in it, and the test says where.
struct KeptOnFailure {
  fs::path dir;
  ~KeptOnFailure() {
    if (::testing::Test::HasFailure() || std::getenv("TRUSTRL_KEEP_TEST_DIRS")) {
      std::cout << "kept " << dir.string() << " (the run and the children's logs)" << std::endl;
      return;
    }
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

fs::path write_config(const fs::path& dir, const std::string& yaml) {
  const fs::path path = dir / "config.yaml";
  std::ofstream(path) << yaml;
  return path;
}

// A CartPole run that exercises every piece of learner state (as tests/agents/trainer_test.cpp).
const char* kSmallConfig = R"(
seed: 7
total_steps: 4096
env: {id: CartPole-v1, num_envs: 4}
ppo: {num_steps: 64, num_minibatches: 4, update_epochs: 3, learning_rate: 0.001}
trust_region:
  clip: 0.2
  clip_anneal: true
  kl_penalty: {enabled: true, beta: 0.5, target: 0.005}
  kl_bound: {delta: 0.05}
normalize: {observations: true, rewards: true}
run: {checkpoint_every: 5, tensorboard: false}
)";

// Exactly `updates` rows, update u at global_step u x batch: nothing lost, nothing twice.
void expect_exact_rows(const MetricsTable& t, int updates, int batch) {
  ASSERT_EQ(t.rows.size(), static_cast<std::size_t>(updates));
  for (int u = 0; u < updates; ++u) {
    EXPECT_EQ(t.at(static_cast<std::size_t>(u), "update"), u + 1) << "row " << u;
    EXPECT_EQ(t.at(static_cast<std::size_t>(u), "global_step"),
              static_cast<double>(batch) * (u + 1))
        << "row " << u;
  }
}

struct Learner {
  std::unique_ptr<ChildProcess> process;
  std::string address;
};

Learner start_learner(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {kBinary, "learner"};
  argv.insert(argv.end(), args.begin(), args.end());
  Learner l;
  l.process = std::make_unique<ChildProcess>(argv, env, /*merge_stderr=*/true);
  l.address = l.process->wait_for_line("listening on ", kStartTimeoutS);
  return l;
}

std::unique_ptr<ChildProcess> start_actor(const std::string& address,
                                          std::vector<std::string> args) {
  std::vector<std::string> argv = {kBinary, "actor", "--learner", address};
  argv.insert(argv.end(), args.begin(), args.end());
  auto actor =
      std::make_unique<ChildProcess>(argv, std::vector<std::string>{}, /*merge_stderr=*/true);
  actor->wait_for_line("actor: joined learner at " + address, kStartTimeoutS);
  return actor;
}

double deterministic_return(const fs::path& policy_file) {
  const agents::SavedPolicy policy = agents::SavedPolicy::read(policy_file);
  auto env = envs::LocalVectorEnv::make(policy.env_id, policy.env_options, 10, 1);
  return agents::evaluate(std::move(env), policy.snapshot, 20, /*deterministic=*/true, 12345)
      .mean_return();
}

TEST(DistributedProcess, LearnerWithOneActorWritesTheMetricsOfTrain) {
  const fs::path dir = fresh_dir("same");
  const KeptOnFailure keep{dir};
  const fs::path config = write_config(dir, kSmallConfig);
  ChildProcess train(
      {kBinary, "train", config.string(), "--run-dir", (dir / "train").string(), "--quiet"});
  ASSERT_EQ(train.wait(kRunTimeoutS), 0) << train.output();

  Learner learner = start_learner(
      {config.string(), "--run-dir", (dir / "learner").string(), "--listen", "127.0.0.1:0"});
  auto actor = start_actor(learner.address, {"--id", "only"});
  EXPECT_EQ(actor->wait(kRunTimeoutS), 0) << actor->output();
  ASSERT_EQ(learner.process->wait(kRunTimeoutS), 0) << learner.process->output();
  EXPECT_NE(actor->output().find("says the run is over"), std::string::npos) << actor->output();

  const MetricsTable a = MetricsTable::read(dir / "train" / "metrics.csv"),
                     b = MetricsTable::read(dir / "learner" / "metrics.csv");
  EXPECT_EQ(a.header, b.header);
  const auto ra = a.without_clock(), rb = b.without_clock();
  ASSERT_EQ(ra.size(), 16u);
  ASSERT_EQ(rb.size(), 16u);
  for (std::size_t i = 0; i < ra.size(); ++i) EXPECT_EQ(ra[i], rb[i]) << "row " << i;
}

// The issue's end-to-end test: two actors of four copies each fill the batches; one crashes
// (SIGKILL) mid-run holding its share of a batch, which the other is asked for; it is started
// again; the policy still solves CartPole.
//
// The run must not depend on timing, or its outcome is a draw: this test once failed 1 run in 9
// because when the second actor joined, when the first died and when it came back (process
// start-up on a loaded machine) decided which actor filled which columns of 20 to 40 batches. So
// every batch begins with both actors (--min-actors 2), the crash comes at a fixed
// point (--crash-after-rollouts: when asked for rollout 121), and no timeout re-deals a share.
// The batches the learner logs prove the schedule: first and second in every batch but the
// crash's, which second fills alone.
TEST(DistributedProcess, TwoActorsOneKilledAndRestartedStillSolveCartPole) {
  const fs::path dir = fresh_dir("kill_actor");
  const KeptOnFailure keep{dir};
  const fs::path run = dir / "run";
  Learner learner =
      start_learner({std::string(TRUSTRL_SOURCE_DIR) + "/configs/ppo_cartpole.yaml", "--set",
                     "distributed.actor_envs=4", "--set", "distributed.straggler_timeout_s=3600",
                     "--set", "distributed.actor_timeout_s=3600", "--min-actors", "2", "--run-dir",
                     run.string(), "--listen", "127.0.0.1:0", "--log-batches"});
  learner.process->log_to((dir / "learner.log").string());
  auto first = start_actor(learner.address,
                           {"--id", "first", "--log-rollouts", "--crash-after-rollouts", "120"});
  first->log_to((dir / "first.log").string());
  auto second = start_actor(learner.address, {"--id", "second", "--log-rollouts"});
  second->log_to((dir / "second.log").string());
  EXPECT_EQ(first->wait(kRunTimeoutS), 128 + SIGKILL) << first->output();
  EXPECT_NE(first->output().find("asked for rollout 121: crashing"), std::string::npos)
      << first->output();
  auto again = start_actor(learner.address, {"--id", "first", "--log-rollouts"});
  again->log_to((dir / "again.log").string());
  ASSERT_EQ(learner.process->wait(kRunTimeoutS), 0) << learner.process->output();
  EXPECT_EQ(again->wait(60), 0) << again->output();
  EXPECT_EQ(second->wait(60), 0) << second->output();
  const std::string& log = learner.process->output();
  EXPECT_NE(log.find("actor 'first'"), std::string::npos);
  EXPECT_NE(log.find("is gone: its heartbeat stream closed"), std::string::npos) << log;

  // Batch v holds first's and second's rollout, except batch 120: first's share went to second.
  const std::regex batch_re("learner: batch for version (\\d+): ([^\\n]*)");
  int batches = 0;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), batch_re);
       it != std::sregex_iterator(); ++it, ++batches) {
    const int version = std::stoi((*it)[1]);
    const std::string parts = (*it)[2];
    EXPECT_EQ(version, batches);
    const std::regex part_re("'(first|second)' #\\d+ \\(4 copies\\)");
    std::vector<std::string> who;
    for (auto p = std::sregex_iterator(parts.begin(), parts.end(), part_re);
         p != std::sregex_iterator(); ++p)
      who.push_back((*p)[1]);
    const std::vector<std::string> expected = version == 120
                                                  ? std::vector<std::string>{"second", "second"}
                                                  : std::vector<std::string>{"first", "second"};
    EXPECT_EQ(who, expected) << "batch for version " << version << ": " << parts;
  }
  EXPECT_EQ(batches, 390);

  const MetricsTable t = MetricsTable::read(run / "metrics.csv");
  expect_exact_rows(t, 390, 256);
  const double eval_return = deterministic_return(run / "policy.trustrl");
  std::cout << "deterministic return " << eval_return << std::endl;
  EXPECT_GE(eval_return, 475.0);
}

TEST(DistributedProcess, KilledLearnerResumesAndItsActorRejoins) {
  const fs::path dir = fresh_dir("kill_learner");
  const KeptOnFailure keep{dir};
  const fs::path config =
      write_config(dir, std::string(kSmallConfig) + "distributed: {straggler_timeout_s: 5}\n");
  const fs::path run = dir / "run";
  const std::vector<std::string> longer = {"--set", "total_steps=10240"};  // 40 updates
  Learner learner = start_learner({config.string(), longer[0], longer[1], "--run-dir", run.string(),
                                   "--listen", "127.0.0.1:0"});
  auto actor = start_actor(learner.address, {"--id", "stays", "--learner-timeout", "120"});
  learner.process->wait_for_line("checkpoint at update 10", kRunTimeoutS);
  learner.process->signal(SIGKILL);
  EXPECT_EQ(learner.process->wait(30), 128 + SIGKILL);

  Learner resumed = start_learner({"--resume", run.string(), "--listen", learner.address});
  ASSERT_EQ(resumed.address, learner.address);
  EXPECT_NE(resumed.process->wait_for_line("resumed ", kStartTimeoutS).find("at update"),
            std::string::npos);
  ASSERT_EQ(resumed.process->wait(kRunTimeoutS), 0) << resumed.process->output();
  EXPECT_EQ(actor->wait(60), 0) << actor->output();
  // The actor joined twice, by itself.
  const std::string& out = actor->output();
  const auto first = out.find("joined learner at");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(out.find("joined learner at", first + 1), std::string::npos) << out;
  expect_exact_rows(MetricsTable::read(run / "metrics.csv"), 40, 256);
}

TEST(DistributedProcess, ActorGivesUpClearlyWhenTheLearnerStaysDown) {
  const fs::path dir = fresh_dir("gone");
  const KeptOnFailure keep{dir};
  const fs::path config = write_config(dir, kSmallConfig);
  Learner learner = start_learner({config.string(), "--set", "total_steps=1000000", "--run-dir",
                                   (dir / "run").string(), "--listen", "127.0.0.1:0", "--quiet"});
  auto actor = start_actor(learner.address, {"--id", "patient", "--learner-timeout", "2"});
  learner.process->signal(SIGKILL);
  learner.process->wait(30);
  EXPECT_EQ(actor->wait(60), 1) << actor->output();
  EXPECT_NE(actor->output().find("learner at " + learner.address + " has been unreachable for"),
            std::string::npos)
      << actor->output();
  EXPECT_NE(actor->output().find("giving up"), std::string::npos) << actor->output();
}

TEST(DistributedProcess, MappoRunsThroughLearnerAndActor) {
  const fs::path dir = fresh_dir("mappo");
  const KeptOnFailure keep{dir};
  const fs::path config = write_config(dir, R"(
algo: mappo
seed: 2
total_steps: 1200
env: {id: simple_spread_v3, num_envs: 4}
ppo: {num_steps: 25, num_minibatches: 2, update_epochs: 2, value_norm: true}
mappo: {critic_input: state, agent_id: true}
run: {tensorboard: false}
)");
  ChildProcess train(
      {kBinary, "train", config.string(), "--run-dir", (dir / "train").string(), "--quiet"});
  ASSERT_EQ(train.wait(kRunTimeoutS), 0) << train.output();
  Learner learner = start_learner({config.string(), "--run-dir", (dir / "learner").string(),
                                   "--listen", "127.0.0.1:0", "--quiet"});
  auto actor = start_actor(learner.address, {"--id", "team"});
  EXPECT_EQ(actor->wait(kRunTimeoutS), 0) << actor->output();
  ASSERT_EQ(learner.process->wait(kRunTimeoutS), 0) << learner.process->output();
  const MetricsTable a = MetricsTable::read(dir / "train" / "metrics.csv"),
                     b = MetricsTable::read(dir / "learner" / "metrics.csv");
  expect_exact_rows(b, 12, 100);
  const auto ra = a.without_clock(), rb = b.without_clock();
  ASSERT_EQ(ra.size(), rb.size());
  for (std::size_t i = 0; i < ra.size(); ++i) EXPECT_EQ(ra[i], rb[i]) << "row " << i;
}

// The actor steps the copies of an env server instead of its own: still the metrics of train.
TEST(DistributedProcess, MappoActorOnAnEnvServerWritesTheMetricsOfTrain) {
  const fs::path dir = fresh_dir("mappo_server");
  const KeptOnFailure keep{dir};
  const fs::path config = write_config(dir, R"(
algo: mappo
seed: 4
total_steps: 600
env: {id: simple_spread_v3, num_envs: 4}
ppo: {num_steps: 25, num_minibatches: 2, update_epochs: 2}
run: {tensorboard: false}
)");
  ChildProcess train(
      {kBinary, "train", config.string(), "--run-dir", (dir / "train").string(), "--quiet"});
  ASSERT_EQ(train.wait(kRunTimeoutS), 0) << train.output();
  ChildProcess server({kBinary, "env-server", "--env", "simple_spread_v3", "--num-envs", "4",
                       "--listen", "127.0.0.1:0"});
  const std::string env_address = server.wait_for_line("listening on ", kStartTimeoutS);
  Learner learner = start_learner({config.string(), "--run-dir", (dir / "learner").string(),
                                   "--listen", "127.0.0.1:0", "--quiet"});
  auto actor = start_actor(learner.address, {"--id", "served", "--env-server", env_address});
  EXPECT_EQ(actor->wait(kRunTimeoutS), 0) << actor->output();
  ASSERT_EQ(learner.process->wait(kRunTimeoutS), 0) << learner.process->output();
  const auto a = MetricsTable::read(dir / "train" / "metrics.csv").without_clock();
  const auto b = MetricsTable::read(dir / "learner" / "metrics.csv").without_clock();
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), a.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "row " << i;
}

TEST(DistributedProcess, LearnerRefusesAnOpenAddressWithoutTokenAndEnforcesIt) {
  const fs::path dir = fresh_dir("token");
  const KeptOnFailure keep{dir};
  const fs::path config = write_config(dir, kSmallConfig);
  ChildProcess open({kBinary, "learner", config.string(), "--run-dir", (dir / "open").string(),
                     "--listen", "0.0.0.0:0"},
                    {}, true);
  EXPECT_EQ(open.wait(60), 1);
  EXPECT_NE(open.output().find("refusing to listen on 0.0.0.0:0 without a token"),
            std::string::npos)
      << open.output();
  Learner learner = start_learner({config.string(), "--run-dir", (dir / "run").string(), "--listen",
                                   "127.0.0.1:0", "--token", "letmein", "--quiet"});
  ChildProcess stranger({kBinary, "actor", "--learner", learner.address, "--id", "stranger"}, {},
                        true);
  EXPECT_EQ(stranger.wait(60), 1);
  EXPECT_NE(stranger.output().find("UNAUTHENTICATED"), std::string::npos) << stranger.output();
  auto friend_actor = start_actor(learner.address, {"--id", "friend", "--token", "letmein"});
  EXPECT_EQ(friend_actor->wait(kRunTimeoutS), 0) << friend_actor->output();
  EXPECT_EQ(learner.process->wait(kRunTimeoutS), 0) << learner.process->output();
}

// Two learners (rank 1 configured through torchrun's variables), each with its own actor; rank 0
// writes the run, counting both halves of every batch.
TEST(DistributedProcess, TwoDataParallelLearnersEachWithAnActor) {
  const fs::path dir = fresh_dir("parallel");
  const KeptOnFailure keep{dir};
  const fs::path config = write_config(dir, kSmallConfig);
  const std::string port = std::to_string(testing::free_port());
  auto rank0 = std::make_unique<ChildProcess>(
      std::vector<std::string>{kBinary, "learner", config.string(), "--run-dir",
                               (dir / "run").string(), "--listen", "127.0.0.1:0", "--world-size",
                               "2", "--rank", "0", "--master-port", port, "--quiet"},
      std::vector<std::string>{}, true);
  auto rank1 = std::make_unique<ChildProcess>(
      std::vector<std::string>{kBinary, "learner", "--listen", "127.0.0.1:0", "--quiet"},
      std::vector<std::string>{"RANK=1", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1",
                               "MASTER_PORT=" + port},
      true);
  const std::string address0 = rank0->wait_for_line("listening on ", kStartTimeoutS);
  const std::string address1 = rank1->wait_for_line("listening on ", kStartTimeoutS);
  auto actor0 = start_actor(address0, {"--id", "zero"});
  auto actor1 = start_actor(address1, {"--id", "one"});
  ASSERT_EQ(rank0->wait(kRunTimeoutS), 0) << rank0->output();
  ASSERT_EQ(rank1->wait(kRunTimeoutS), 0) << rank1->output();
  EXPECT_EQ(actor0->wait(60), 0) << actor0->output();
  EXPECT_EQ(actor1->wait(60), 0) << actor1->output();
  EXPECT_NE(actor1->output().find("2 copies of CartPole-v1"), std::string::npos)
      << "rank 1 gathers half the batch";
  const MetricsTable t = MetricsTable::read(dir / "run" / "metrics.csv");
  expect_exact_rows(t, 16, 256);
  for (std::size_t r = 0; r < t.rows.size(); ++r)
    EXPECT_EQ(t.at(r, "dist/actors"), 2) << "row " << r;
}

}  // namespace
}  // namespace trustrl::server
