// Real processes, for both kinds of env: the `trustrl env-server` binary serving a plain and a
// multi-agent env, and the Python SDK's example simulators (python/examples/cartpole_sim.py and
// coop_line_sim.py), driven by a RemoteVectorEnv in this process; `trustrl check-env` as a user
// runs it; a server killed mid-run. One parameterized suite holds what every kind must do; the
// tests of one kind follow it. Every wait is on a line the child prints or on its exit, each with
// a deadline.

#include <gtest/gtest.h>
#include <signal.h>

#include <cmath>
#include <functional>

#include "core/error.h"
#include "envs/classic/cartpole.h"
#include "envs/conformance.h"
#include "envs/options.h"
#include "envs/registry.h"
#include "envs/single_agent_adapter.h"
#include "server/env_protocol/protocol_checks.h"
#include "server/env_protocol/remote_vector_env.h"
#include "tests/server/test_servers.h"
#include "tests/support/child_process.h"

namespace trustrl::server {
namespace {

using trustrl::testing::Child;
using trustrl::testing::ChildProcess;
using trustrl::testing::kBinary;
using trustrl::testing::kStartTimeoutS;
using trustrl::testing::start_env_server;
using trustrl::testing::start_python_example;
using trustrl::testing::start_python_sim;

RemoteEnvOptions client_for(const std::string& address) {
  RemoteEnvOptions options;
  options.address = address;
  options.connect_timeout_s = 30;
  options.request_timeout_s = 30;
  options.max_reconnects = 0;
  return options;
}

void expect_all_pass(const std::vector<envs::ConformanceCheck>& checks, const std::string& what) {
  for (const auto& c : checks) EXPECT_TRUE(c.passed) << what << ": " << c.name << ": " << c.detail;
}

// Python with grpc, protobuf and numpy is a dependency (scripts/setup.sh), so its absence fails
// these tests rather than skipping them: the Python SDK would otherwise go untested.
bool have_python() { return std::string(TRUSTRL_PYTHON).size() > 0; }

// One kind of env, as the shared tests serve it.
struct Kind {
  std::string name;
  /// Served by `trustrl env-server` with 3 copies and compared with local copies step by step.
  std::string id;
  int compare_steps;
  /// The discrete actions of step t for the 3 copies.
  std::function<std::vector<std::int64_t>(int t)> actions;
  /// Served with 2 copies for `trustrl check-env --steps check_steps`; lines its report must hold.
  std::string check_id;
  int check_steps;
  std::vector<std::string> check_lines;
  /// The Python SDK's example of this kind (python/examples/) and the steps its checks take.
  std::string python_example;
  int python_steps;
};

const Kind kPlain{
    .name = "Plain",
    .id = "CartPole-v1",
    .compare_steps = 300,
    .actions =
        [](int t) {
          return std::vector<std::int64_t>{t % 2, (t / 3) % 2, 1 - t % 2};
        },
    .check_id = "MountainCar-v0",
    .check_steps = 250,
    .check_lines = {"Env behaviour (spaces, reset/step contract, seeding, truncation):",
                    "PASS  invalid actions are refused",
                    "PASS  a step before any reset is refused"},
    .python_example = "cartpole_sim.py",
    .python_steps = 600};

const Kind kMultiAgent{
    .name = "MultiAgent",
    .id = "simple_speaker_listener_v4",
    .compare_steps = 200,
    .actions =
        [](int t) {
          // Speaker Discrete(3), listener Discrete(5), for 3 copies.
          std::vector<std::int64_t> a(6);
          for (std::size_t k = 0; k < a.size(); ++k)
            a[k] = static_cast<std::int64_t>((t * 7 + static_cast<int>(k) * 3) % (k % 2 ? 5 : 3));
          return a;
        },
    .check_id = "multiwalker_v9",
    .check_steps = 200,
    .check_lines = {"Multi-agent env behaviour", "PASS  invalid actions are refused",
                    "PASS  a client without CAPABILITY_MULTI_AGENT is refused"},
    .python_example = "coop_line_sim.py",
    .python_steps = 300};

class ServedEnvProcess : public ::testing::TestWithParam<Kind> {};

TEST_P(ServedEnvProcess, ServesConformantBatchesIdenticalToLocalAndStopsOnSigterm) {
  const Kind& kind = GetParam();
  Child server = start_env_server(kind.id, 3);
  envs::ConformanceOptions suite;
  suite.num_envs = 3;
  expect_all_pass(envs::run_conformance(remote_env_maker(client_for(server.address)), suite),
                  "conformance");
  expect_all_pass(run_protocol_checks({server.address, "", "", kDefaultMaxMessageBytes}, 30),
                  "protocol");

  RemoteVectorEnv remote(client_for(server.address));
  auto local = envs::LocalVectorEnv::make(kind.id, {}, 3, 1);
  remote.reset(5);
  local->reset(5);
  for (int t = 0; t < kind.compare_steps; ++t) {
    const std::vector<std::int64_t> a = kind.actions(t);
    remote.step({a, {}});
    local->step({a, {}});
    ASSERT_EQ(remote.buffers().observations, local->buffers().observations) << "step " << t;
    ASSERT_EQ(remote.buffers().rewards, local->buffers().rewards) << "step " << t;
    ASSERT_EQ(remote.buffers().final_observations, local->buffers().final_observations)
        << "step " << t;
    ASSERT_EQ(remote.buffers().episode_lengths, local->buffers().episode_lengths) << "step " << t;
    ASSERT_EQ(remote.buffers().agent_episode_returns, local->buffers().agent_episode_returns)
        << "step " << t;
  }
  server.process->signal(SIGTERM);
  EXPECT_EQ(server.process->wait(30), 0) << server.process->output();
}

TEST_P(ServedEnvProcess, CheckEnvPassesOnAConformingServerAndFailsWhenItIsGone) {
  const Kind& kind = GetParam();
  Child server = start_env_server(kind.check_id, 2);
  ChildProcess ok(
      {kBinary, "check-env", server.address, "--steps", std::to_string(kind.check_steps)});
  EXPECT_EQ(ok.wait(300), 0) << ok.output();
  const std::string out = ok.output();
  for (const auto& line : kind.check_lines) EXPECT_NE(out.find(line), std::string::npos) << out;
  EXPECT_NE(out.find(" passed, 0 failed"), std::string::npos) << out;
  EXPECT_EQ(out.find("  FAIL  "), std::string::npos) << out;

  server.process->signal(SIGKILL);
  server.process->wait(30);
  ChildProcess gone({kBinary, "check-env", server.address, "--timeout", "5"});
  EXPECT_EQ(gone.wait(60), 1) << gone.output();
  EXPECT_NE(gone.output().find("FAIL  GetSpec"), std::string::npos) << gone.output();
  EXPECT_NE(gone.output().find("is the simulator running and listening on " + server.address),
            std::string::npos)
      << gone.output();
}

TEST_P(ServedEnvProcess, PythonExampleConformsAndPassesCheckEnv) {
  ASSERT_TRUE(have_python()) << "no Python with grpc, protobuf and numpy (scripts/setup.sh)";
  const Kind& kind = GetParam();
  Child sim = start_python_example(kind.python_example, 3);
  envs::ConformanceOptions suite;
  suite.num_envs = 3;
  suite.steps = kind.python_steps;
  expect_all_pass(envs::run_conformance(remote_env_maker(client_for(sim.address)), suite),
                  "conformance");
  expect_all_pass(run_protocol_checks({sim.address, "", "", kDefaultMaxMessageBytes}, 30),
                  "protocol");
  ChildProcess check(
      {kBinary, "check-env", sim.address, "--steps", std::to_string(kind.python_steps)});
  EXPECT_EQ(check.wait(300), 0) << check.output();
  EXPECT_NE(check.output().find(" passed, 0 failed"), std::string::npos) << check.output();
  EXPECT_NE(check.output().find(kind.check_lines.front()), std::string::npos) << check.output();
  sim.process->signal(SIGINT);
  EXPECT_EQ(sim.process->wait(30), 0) << sim.process->output();
}

std::string kind_name(const ::testing::TestParamInfo<Kind>& info) { return info.param.name; }
void PrintTo(const Kind& kind, std::ostream* out) { *out << kind.name; }

INSTANTIATE_TEST_SUITE_P(Kinds, ServedEnvProcess, ::testing::Values(kPlain, kMultiAgent),
                         kind_name);

// The server dies (SIGKILL) mid-run and a new one starts on the same port: the client reconnects
// at its next step and reports the cut. When the server stays down, it gives up after its tries.
TEST(EnvServerProcess, ClientSurvivesAKilledServerAndGivesUpWhenItStaysDown) {
  const int copies = 4;
  Child server = start_env_server("CartPole-v1", copies);
  RemoteEnvOptions options = client_for(server.address);
  options.max_reconnects = 4;
  options.reconnect_backoff_s = 0.02;
  RemoteVectorEnv env(options);
  env.reset(8);
  const std::vector<std::int64_t> a{0, 1, 1, 0};
  for (int t = 0; t < 10; ++t) env.step({a, {}});
  const std::vector<float> before = env.buffers().observations;

  server.process->signal(SIGKILL);
  EXPECT_EQ(server.process->wait(30), 128 + SIGKILL);
  Child again = start_env_server("CartPole-v1", copies, server.address);
  ASSERT_EQ(again.address, server.address);

  env.step({a, {}});
  EXPECT_EQ(env.cut_episodes(), copies);
  EXPECT_EQ(env.reconnects(), 1);
  EXPECT_EQ(env.buffers().truncated, std::vector<std::uint8_t>(copies, 1));
  EXPECT_EQ(env.buffers().final_observations, before);
  for (int t = 0; t < 5; ++t) env.step({a, {}});
  EXPECT_EQ(env.buffers().rewards, std::vector<double>(copies, 1.0)) << "stepping goes on";

  again.process->signal(SIGKILL);
  again.process->wait(30);
  try {
    env.step({a, {}});
    FAIL() << "a server that stays down must end the run";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "simulator at " + server.address +
                  " is unreachable (lost mid-run, 4 episodes cut): gave up after 4 attempt(s)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(env.cut_episodes(), 2 * copies);
}

TEST(EnvServerProcess, CliRefusesNonLoopbackWithoutTokenAndEnforcesTheToken) {
  ChildProcess refused({kBinary, "env-server", "--env", "CartPole-v1", "--listen", "0.0.0.0:0"}, {},
                       true);
  EXPECT_EQ(refused.wait(30), 1);
  EXPECT_NE(refused.output().find("refusing to listen on 0.0.0.0:0 without a token"),
            std::string::npos)
      << refused.output();

  Child server = start_env_server("Pendulum-v1", 2, "127.0.0.1:0", {"--token", "letmein"});
  RemoteEnvOptions options = client_for(server.address);
  try {
    RemoteVectorEnv env(options);
    FAIL() << "a session without the token was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("UNAUTHENTICATED"), std::string::npos) << e.what();
  }
  options.token = "letmein";
  RemoteVectorEnv env(options);
  env.reset(1);
  EXPECT_EQ(env.spec().id, "Pendulum-v1");
}

TEST(PythonSimulator, ExampleCartPoleFollowsGymnasiumsEquations) {
  ASSERT_TRUE(have_python()) << "no Python with grpc, protobuf and numpy (scripts/setup.sh)";
  Child sim = start_python_sim(3);
  // The simulator's spec is the built-in CartPole-v1's: a client expecting it is accepted.
  RemoteEnvOptions options = client_for(sim.address);
  options.expected_spec = envs::one_agent_spec(envs::make("CartPole-v1")->spec());
  RemoteVectorEnv remote(options);
  remote.reset(21);
  // Each transition matches the C++ CartPole started from the same (float32) state.
  envs::EnvOptions no_options("CartPole-v1", {});
  envs::CartPole reference(no_options);
  std::vector<float> obs(4);
  int compared = 0;
  for (int t = 0; t < 200; ++t) {
    const std::vector<float> before = remote.buffers().observations;
    const std::vector<std::int64_t> a{t % 2, (t / 2) % 2, (t / 5) % 2};
    remote.step({a, {}});
    for (int i = 0; i < 3; ++i) {
      const auto row = static_cast<std::size_t>(i) * 4;
      const std::vector<double> state(before.begin() + static_cast<long>(row),
                                      before.begin() + static_cast<long>(row) + 4);
      reference.reset(0, obs);
      reference.set_state(state, obs);
      reference.step({std::span(a).subspan(static_cast<std::size_t>(i), 1), {}}, obs);
      const auto& b = remote.buffers();
      const float* got = b.done(i) ? &b.final_observations[row] : &b.observations[row];
      for (int k = 0; k < 4; ++k)
        ASSERT_NEAR(got[k], obs[static_cast<std::size_t>(k)], 1e-5)
            << "step " << t << " copy " << i;
      ++compared;
    }
  }
  EXPECT_EQ(compared, 600);
  sim.process->signal(SIGINT);
  EXPECT_EQ(sim.process->wait(30), 0) << sim.process->output();
}

// The PettingZoo-style example has a discrete and a continuous agent of different observation
// widths, agents that finish one at a time, and a global state.
TEST(PythonMultiAgentSimulator, ExampleHasMixedAgentsAndRepeatsItsEpisodes) {
  ASSERT_TRUE(have_python()) << "no Python with grpc, protobuf and numpy (scripts/setup.sh)";
  Child sim = start_python_example("coop_line_sim.py", 3);
  RemoteVectorEnv env(client_for(sim.address));
  const envs::MultiAgentSpec& spec = env.spec();
  ASSERT_EQ(spec.num_agents(), 2);
  EXPECT_EQ(spec.agent_names[0], "stepper");
  EXPECT_TRUE(spec.action_spaces[0].is_discrete());
  EXPECT_FALSE(spec.action_spaces[1].is_discrete());
  EXPECT_NE(spec.obs_dim(0), spec.obs_dim(1));
  EXPECT_GT(spec.state_dim(), 0);
  // Same seed, same actions: the same batches from two sessions.
  RemoteVectorEnv again(client_for(sim.address));
  env.reset(9);
  again.reset(9);
  std::vector<std::int64_t> d(static_cast<std::size_t>(3 * 2 * spec.max_action_dim()));
  std::vector<float> c(d.size());
  int ended = 0, partial = 0;
  for (int t = 0; t < 100; ++t) {
    const auto& active = env.buffers().active;
    for (std::size_t k = 0; k < active.size(); ++k) {
      d[k] = active[k] && k % 2 == 0 ? (t + static_cast<int>(k)) % 3 : envs::kNoDiscreteAction;
      c[k] = active[k] && k % 2 == 1 ? -0.5f
                                     : envs::kNoContinuousAction;  // glider: left, to the target
    }
    env.step({d, c});
    again.step({d, c});
    ASSERT_EQ(env.buffers().observations, again.buffers().observations) << "step " << t;
    ASSERT_EQ(env.buffers().rewards, again.buffers().rewards) << "step " << t;
    for (int i = 0; i < 3; ++i) {
      ended += env.buffers().done(i);
      partial +=
          !env.buffers().done(i) && (env.buffers().active[static_cast<std::size_t>(2 * i)] !=
                                     env.buffers().active[static_cast<std::size_t>(2 * i + 1)]);
    }
  }
  EXPECT_GT(ended, 0);
  EXPECT_GT(partial, 0) << "one agent should finish before the other";
  sim.process->signal(SIGINT);
  EXPECT_EQ(sim.process->wait(30), 0) << sim.process->output();
}

TEST(CheckEnvCommand, ReportsABrokenPythonSimulator) {
  ASSERT_TRUE(have_python()) << "no Python with grpc, protobuf and numpy (scripts/setup.sh)";
  // Observations leave the declared Box and the seed is ignored: two checks must fail, by name.
  const std::string code =
      "import numpy as np, trustrl_env\n"
      "from trustrl_env import spaces\n"
      "class Broken:\n"
      "    observation_space = spaces.Box(-1.0, 1.0, shape=(2,))\n"
      "    action_space = spaces.Discrete(2)\n"
      "    def reset(self, seed=None):\n"
      "        return np.zeros(2, dtype=np.float32), {}\n"
      "    def step(self, action):\n"
      "        return np.full(2, 5.0, dtype=np.float32), 1.0, False, False, {}\n"
      "trustrl_env.serve(Broken, '127.0.0.1:0', num_envs=2, log=lambda line: None)\n";
  Child sim;
  sim.process =
      std::make_unique<ChildProcess>(std::vector<std::string>{TRUSTRL_PYTHON, "-c", code},
                                     std::vector<std::string>{"PYTHONPATH=" TRUSTRL_PYTHON_PATH});
  sim.address = sim.process->wait_for_line("listening on ", kStartTimeoutS);
  ChildProcess check({kBinary, "check-env", sim.address, "--steps", "50"});
  EXPECT_EQ(check.wait(120), 1) << check.output();
  EXPECT_NE(check.output().find(
                "FAIL  step contract\n        the observation at step 0 of copy 0 is outside "
                "Box(-1, 1, (2,)) at index 0: [5, 5]"),
            std::string::npos)
      << check.output();
  EXPECT_NE(check.output().find("FAIL  different seeds, different episodes"), std::string::npos)
      << check.output();
  EXPECT_NE(check.output().find("PASS  a step before any reset is refused"), std::string::npos)
      << check.output();
}

}  // namespace
}  // namespace trustrl::server
