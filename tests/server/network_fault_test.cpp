// A learner and two actors over a faulty network: each actor reaches the learner through its own
// fault proxy (tests/support/fault_proxy.h), and actor 'b' steps an env server through a third.
// Injected: 20 ms +- 5 ms latency on every link; resets every few seconds; a 5 s blackhole of
// actor 'a'. Asserted every time: training finishes its step budget; every update trained on
// exactly one batch (metrics.csv: update u at global_step u x batch); each batch, as the learner
// logs it (--log-batches), is exactly batch copies of rollouts no other batch took; every rollout
// an actor was told was taken is in the batch of its version; every process ends within its
// deadline. The blackhole test also checks that the cut-off actor rejoined and contributed again.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "core/error.h"
#include "tests/support/child_process.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/metrics_table.h"

namespace trustrl::server {
namespace {

using trustrl::testing::ChildProcess;
using trustrl::testing::FaultProxy;
namespace fs = std::filesystem;

constexpr double kStartTimeoutS = 60;
// Deadlines for the whole run and for each actor's exit after the learner's: generous, since a
// loaded CI machine is slow; a hang still fails here, long before ctest's TIMEOUT.
constexpr double kRunTimeoutS = 240;
constexpr double kExitTimeoutS = 60;
const std::string kBinary = std::string(TRUSTRL_BINARY_DIR) + "/cli/trustrl";

constexpr int kBatchEnvs = 8;  // two actors of 4 copies
constexpr int kNumSteps = 16;
constexpr int kBatchSteps = kBatchEnvs * kNumSteps;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int port_of(const std::string& address) {
  return std::stoi(address.substr(address.rfind(':') + 1));
}

// Removes the test's folder unless the test failed (or TRUSTRL_KEEP_TEST_DIRS is set).
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

// The run: `updates` updates of CartPole. Short straggler and actor timeouts, so that a cut-off
// actor's share is re-dealt and the actor dropped within the blackhole's 5 s.
std::string config(int updates) {
  return "seed: 5\ntotal_steps: " + std::to_string(updates * kBatchSteps) +
         "\nenv: {id: CartPole-v1, num_envs: " + std::to_string(kBatchEnvs) +
         "}\nppo: {num_steps: " + std::to_string(kNumSteps) +
         ", num_minibatches: 2, update_epochs: 2}\n"
         "distributed: {actor_envs: 4, straggler_timeout_s: 1, actor_timeout_s: 3, "
         "heartbeat_interval_s: 0.25}\n"
         "run: {tensorboard: false, checkpoint_every: 1000}\n";
}

// Learner <- proxy <- actor 'a'; learner <- proxy <- actor 'b' -> proxy -> env server.
struct Cluster {
  fs::path dir;
  std::unique_ptr<ChildProcess> env_server;
  std::unique_ptr<FaultProxy> env_link;
  std::unique_ptr<ChildProcess> learner;
  std::unique_ptr<FaultProxy> link_a, link_b;
  std::unique_ptr<ChildProcess> actor_a, actor_b;
  double started = 0;

  Cluster(const std::string& name, int updates) {
    dir = fs::temp_directory_path() / ("trustrl_faults_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path config_file = dir / "config.yaml";
    std::ofstream(config_file) << config(updates);
    started = now_s();
    env_server = std::make_unique<ChildProcess>(
        std::vector<std::string>{kBinary, "env-server", "--env", "CartPole-v1", "--num-envs", "4",
                                 "--listen", "127.0.0.1:0"},
        std::vector<std::string>{}, /*merge_stderr=*/true);
    env_server->log_to((dir / "env_server.log").string());
    env_link = std::make_unique<FaultProxy>(
        port_of(env_server->wait_for_line("listening on ", kStartTimeoutS)), 11);
    learner = std::make_unique<ChildProcess>(
        std::vector<std::string>{kBinary, "learner", config_file.string(), "--run-dir",
                                 (dir / "run").string(), "--listen", "127.0.0.1:0", "--min-actors",
                                 "2", "--log-batches"},
        std::vector<std::string>{}, /*merge_stderr=*/true);
    learner->log_to((dir / "learner.log").string());
    const int learner_port = port_of(learner->wait_for_line("listening on ", kStartTimeoutS));
    link_a = std::make_unique<FaultProxy>(learner_port, 12);
    link_b = std::make_unique<FaultProxy>(learner_port, 13);
  }

  void start_actors() {
    actor_a = start_actor("a", *link_a, {});
    actor_b = start_actor("b", *link_b, {"--env-server", env_link->address()});
  }

  std::unique_ptr<ChildProcess> start_actor(const std::string& id, const FaultProxy& link,
                                            const std::vector<std::string>& more) {
    std::vector<std::string> argv = {kBinary,         "actor", "--learner",         link.address(),
                                     "--id",          id,      "--learner-timeout", "30",
                                     "--log-rollouts"};
    argv.insert(argv.end(), more.begin(), more.end());
    auto actor = std::make_unique<ChildProcess>(argv, std::vector<std::string>{}, true);
    actor->log_to((dir / (id + ".log")).string());
    try {
      actor->wait_for_line("actor: joined learner at " + link.address(), kStartTimeoutS);
    } catch (const std::exception&) {
      const auto s = link.stats();
      std::cout << "proxy " << link.address() << ": " << s.connections << " connections, "
                << s.resets << " resets, " << s.bytes_forwarded << " bytes forwarded" << std::endl;
      throw;
    }
    return actor;
  }

  // The learner ends within its deadline, then each actor within its own.
  void finish() {
    ASSERT_EQ(learner->wait(kRunTimeoutS), 0) << learner->output();
    EXPECT_EQ(actor_a->wait(kExitTimeoutS), 0) << actor_a->output();
    EXPECT_EQ(actor_b->wait(kExitTimeoutS), 0) << actor_b->output();
    std::cout << "run took " << now_s() - started << " s" << std::endl;
  }
};

// A rollout as the learner and its actor both name it.
struct RolloutId {
  std::string actor;
  std::int64_t sequence = 0;
  auto operator<=>(const RolloutId&) const = default;
};

// "learner: batch for version V: 'a' #7 (4 copies), 'b' #3 (4 copies)", in the order logged.
struct BatchLine {
  std::int64_t version = 0;
  std::vector<std::pair<RolloutId, int>> parts;  // with their copies
  std::size_t offset = 0;                        // in the learner's output
};

std::vector<BatchLine> batch_lines(const std::string& output) {
  std::vector<BatchLine> out;
  const std::regex line_re("learner: batch for version (\\d+): ([^\\n]*)");
  const std::regex part_re("'([^']+)' #(\\d+) \\((\\d+) copies\\)");
  for (auto it = std::sregex_iterator(output.begin(), output.end(), line_re);
       it != std::sregex_iterator(); ++it) {
    BatchLine b;
    b.version = std::stoll((*it)[1]);
    b.offset = static_cast<std::size_t>(it->position());
    const std::string parts = (*it)[2];
    for (auto p = std::sregex_iterator(parts.begin(), parts.end(), part_re);
         p != std::sregex_iterator(); ++p)
      b.parts.push_back({{(*p)[1], std::stoll((*p)[2])}, std::stoi((*p)[3])});
    out.push_back(b);
  }
  return out;
}

// What the actor was told was taken: "actor: pushed rollout N (version V)".
std::map<RolloutId, std::int64_t> acknowledged(const std::string& actor,
                                               const std::string& output) {
  std::map<RolloutId, std::int64_t> out;
  const std::regex re("actor: pushed rollout (\\d+) \\(version (\\d+)\\)");
  for (auto it = std::sregex_iterator(output.begin(), output.end(), re);
       it != std::sregex_iterator(); ++it) {
    const RolloutId id{actor, std::stoll((*it)[1])};
    EXPECT_EQ(out.count(id), 0u) << "actor " << actor << " logged rollout " << id.sequence
                                 << " as taken twice";
    out[id] = std::stoll((*it)[2]);
  }
  return out;
}

// Nothing lost, nothing counted twice: rows, batches and the actors' receipts agree.
void expect_exact_accounting(const Cluster& c, int updates) {
  const auto rows = testing::MetricsTable::read(c.dir / "run" / "metrics.csv").numeric_rows();
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(updates));
  for (int u = 0; u < updates; ++u) {
    EXPECT_EQ(rows[u].at("update"), u + 1) << "row " << u;
    EXPECT_EQ(rows[u].at("global_step"), static_cast<double>(kBatchSteps) * (u + 1)) << "row " << u;
  }
  const auto batches = batch_lines(c.learner->output());
  ASSERT_EQ(batches.size(), static_cast<std::size_t>(updates)) << "one batch per update";
  std::map<RolloutId, std::int64_t> batched;  // rollout -> the version whose batch took it
  for (std::size_t v = 0; v < batches.size(); ++v) {
    EXPECT_EQ(batches[v].version, static_cast<std::int64_t>(v)) << "batches in version order";
    int copies = 0;
    for (const auto& [id, n] : batches[v].parts) {
      copies += n;
      EXPECT_TRUE(batched.emplace(id, batches[v].version).second)
          << "rollout '" << id.actor << "' #" << id.sequence << " was taken twice";
    }
    EXPECT_EQ(copies, kBatchEnvs) << "batch of version " << v;
  }
  // Synchronous mode takes every rollout it accepts of a version into that version's batch (the
  // last published version is never trained on). A lost reply may leave an actor untold, but
  // never told of a rollout that no batch took.
  std::int64_t told = 0;
  for (const auto& [name, actor] : {std::pair{"a", c.actor_a.get()}, {"b", c.actor_b.get()}})
    for (const auto& [id, version] : acknowledged(name, actor->output())) {
      if (version >= updates) continue;
      ++told;
      const auto it = batched.find(id);
      ASSERT_NE(it, batched.end()) << "rollout '" << id.actor << "' #" << id.sequence
                                   << " of version " << version << " was taken, then lost";
      EXPECT_EQ(it->second, version) << "rollout '" << id.actor << "' #" << id.sequence;
    }
  std::cout << batched.size() << " rollouts trained on, " << told << " acknowledged to their actors"
            << std::endl;
}

// Rollouts of `actor` in batches logged after `offset` of the learner's output.
int contributions_after(const std::vector<BatchLine>& batches, const std::string& actor,
                        std::size_t offset) {
  int n = 0;
  for (const auto& b : batches)
    if (b.offset > offset)
      for (const auto& [id, copies] : b.parts) n += id.actor == actor;
  return n;
}

TEST(NetworkFaults, LatencyWithJitterOnEveryLink) {
  constexpr int kUpdates = 12;
  Cluster c("latency", kUpdates);
  const KeptOnFailure keep{c.dir};
  for (FaultProxy* link : {c.link_a.get(), c.link_b.get(), c.env_link.get()})
    link->set_latency(0.020, 0.005);
  c.start_actors();
  c.finish();
  expect_exact_accounting(c, kUpdates);
  // Both actors took part, every link carried traffic, and the latency was really there: each of
  // b's rollouts is 16 env steps of >= 2 x 15 ms (a lower bound only: slower is fine).
  const auto batches = batch_lines(c.learner->output());
  EXPECT_GT(contributions_after(batches, "a", 0), 0);
  const int from_b = contributions_after(batches, "b", 0);
  EXPECT_GT(from_b, 0);
  EXPECT_GE(now_s() - c.started, from_b * 16 * 0.030);
  for (FaultProxy* link : {c.link_a.get(), c.link_b.get(), c.env_link.get()})
    EXPECT_GT(link->stats().bytes_forwarded, 0);
}

TEST(NetworkFaults, PeriodicResetsOfEveryLink) {
  constexpr int kUpdates = 24;
  Cluster c("resets", kUpdates);
  const KeptOnFailure keep{c.dir};
  // The env link's latency paces the run (each of b's rollouts takes >= 16 x 10 ms), so that
  // every link is reset several times however fast the machine is.
  c.env_link->set_latency(0.005);
  c.start_actors();
  c.link_a->reset_every(1.5);
  c.link_b->reset_every(2.0);
  c.env_link->reset_every(2.5);
  c.finish();
  expect_exact_accounting(c, kUpdates);
  EXPECT_GE(c.link_a->stats().resets, 1);
  EXPECT_GE(c.link_b->stats().resets, 1);
  EXPECT_GE(c.env_link->stats().resets, 1);
  // A reset ends the membership (the heartbeat stream breaks); the actor joins again. The run lasts
  // long enough (>= 24 x 160 ms of b's env steps) for both learner links to be reset within it.
  const std::string& out = c.learner->output();
  for (const std::string actor : {"a", "b"}) {
    const std::regex join_re("learner: actor '" + actor + "' \\(incarnation \\d+\\) joined from");
    const auto joins = std::distance(std::sregex_iterator(out.begin(), out.end(), join_re),
                                     std::sregex_iterator());
    EXPECT_GE(joins, 2) << "actor " << actor << " never had to join again";
  }
  std::cout << "resets: a " << c.link_a->stats().resets << ", b " << c.link_b->stats().resets
            << ", env " << c.env_link->stats().resets << std::endl;
}

TEST(NetworkFaults, BlackholedActorIsReplacedThenRejoins) {
  constexpr int kUpdates = 24;
  Cluster c("blackhole", kUpdates);
  const KeptOnFailure keep{c.dir};
  c.env_link->set_latency(0.005);  // paces the run, as above
  c.start_actors();
  c.learner->wait_for_line("learner: batch for version 3:", kRunTimeoutS);
  c.link_a->blackhole_for(5.0);
  const double hole_start = now_s();
  // The learner drops 'a' (no heartbeat for actor_timeout_s) and gives its share to 'b'.
  c.learner->wait_for_line("learner: actor 'a'", kRunTimeoutS);
  c.finish();
  std::cout << "blackhole began " << hole_start - c.started << " s into the run" << std::endl;
  expect_exact_accounting(c, kUpdates);
  EXPECT_GT(c.link_a->stats().bytes_dropped, 0);
  // The learner logged 'a' gone, then 'a' joining again, then batches with 'a' in them.
  const std::string& out = c.learner->output();
  std::smatch gone, joined;
  ASSERT_TRUE(std::regex_search(
      out, gone,
      std::regex("learner: actor 'a' \\(incarnation \\d+\\) \\(slot \\d+\\) is gone: [^\\n]*")))
      << out;
  std::cout << gone.str() << std::endl;
  const std::string after = out.substr(gone.position() + gone.length());
  ASSERT_TRUE(std::regex_search(
      after, joined, std::regex("learner: actor 'a' \\(incarnation \\d+\\) joined from")))
      << "actor 'a' never rejoined";
  const std::size_t rejoined_at = gone.position() + gone.length() + joined.position();
  EXPECT_GT(contributions_after(batch_lines(out), "a", rejoined_at), 0)
      << "actor 'a' never contributed after it rejoined";
  // Nothing came back from the learner for longer than its actor_timeout_s: the actor gave up on
  // the connection by itself (before that fix it waited on it forever).
  EXPECT_NE(c.actor_a->output().find("no answer to heartbeats"), std::string::npos)
      << c.actor_a->output();
}

}  // namespace
}  // namespace trustrl::server
