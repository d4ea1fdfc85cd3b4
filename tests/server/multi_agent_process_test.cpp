// Multi-agent envs served by real processes: `trustrl env-server --env <multi-agent id>` driven by
// a RemoteVectorEnv, `trustrl check-env` on it, and the Python SDK serving a
// PettingZoo-style simulator (python/examples/coop_line_sim.py).

#include <gtest/gtest.h>
#include <signal.h>

#include "envs/multi_agent_conformance.h"
#include "envs/vector_env.h"
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

TEST(MultiAgentEnvServerProcess, ServesBatchesIdenticalToLocalAndStopsOnSigterm) {
  Child server = start_env_server("simple_speaker_listener_v4", 3);
  expect_all_pass(run_protocol_checks({server.address, "", "", kDefaultMaxMessageBytes}, 30),
                  "protocol");
  RemoteVectorEnv remote(client_for(server.address));
  auto local = envs::LocalVectorEnv::make("simple_speaker_listener_v4", {}, 3, 1);
  remote.reset(5);
  local->reset(5);
  std::vector<std::int64_t> a(6);
  for (int t = 0; t < 200; ++t) {
    for (std::size_t k = 0; k < a.size(); ++k)
      a[k] = static_cast<std::int64_t>((t * 7 + static_cast<int>(k) * 3) % (k % 2 ? 5 : 3));
    remote.step({a, {}});
    local->step({a, {}});
    ASSERT_EQ(remote.buffers().observations, local->buffers().observations) << "step " << t;
    ASSERT_EQ(remote.buffers().rewards, local->buffers().rewards) << "step " << t;
    ASSERT_EQ(remote.buffers().final_observations, local->buffers().final_observations)
        << "step " << t;
    ASSERT_EQ(remote.buffers().agent_episode_returns, local->buffers().agent_episode_returns)
        << "step " << t;
  }
  server.process->signal(SIGTERM);
  EXPECT_EQ(server.process->wait(30), 0) << server.process->output();
}

TEST(MultiAgentCheckEnv, RunsTheMultiAgentSuiteOnAMultiAgentServer) {
  Child server = start_env_server("multiwalker_v9", 2);
  ChildProcess check({kBinary, "check-env", server.address, "--steps", "200"});
  EXPECT_EQ(check.wait(300), 0) << check.output();
  const std::string out = check.output();
  EXPECT_NE(out.find("Multi-agent env behaviour"), std::string::npos) << out;
  EXPECT_NE(out.find("PASS  invalid joint actions are refused"), std::string::npos) << out;
  EXPECT_NE(out.find("PASS  a client without CAPABILITY_MULTI_AGENT is refused"), std::string::npos)
      << out;
  EXPECT_NE(out.find(" passed, 0 failed"), std::string::npos) << out;
  EXPECT_EQ(out.find("  FAIL  "), std::string::npos) << out;
}

// Python with grpc, protobuf and numpy is a dependency (scripts/setup.sh), so its absence fails
// these tests rather than skipping them: the Python SDK would otherwise go untested.
bool have_python() { return std::string(TRUSTRL_PYTHON).size() > 0; }

Child start_python_multi_agent_sim(int copies) {
  Child c;
  c.process = std::make_unique<ChildProcess>(
      std::vector<std::string>{
          TRUSTRL_PYTHON, std::string(TRUSTRL_SOURCE_DIR) + "/python/examples/coop_line_sim.py",
          "--listen", "127.0.0.1:0", "--num-envs", std::to_string(copies)},
      std::vector<std::string>{"PYTHONPATH=" TRUSTRL_PYTHON_PATH});
  c.address = c.process->wait_for_line("listening on ", kStartTimeoutS);
  return c;
}

// A pure-Python PettingZoo-style simulator with a discrete and a continuous agent of different
// observation widths, agents that finish one at a time, and a global state.
TEST(PythonMultiAgentSimulator, ExampleConformsAndPassesCheckEnv) {
  ASSERT_TRUE(have_python()) << "no Python with grpc, protobuf and numpy (scripts/setup.sh)";
  Child sim = start_python_multi_agent_sim(3);
  ChildProcess check({kBinary, "check-env", sim.address, "--steps", "300"});
  EXPECT_EQ(check.wait(300), 0) << check.output();
  EXPECT_NE(check.output().find(" passed, 0 failed"), std::string::npos) << check.output();
  EXPECT_NE(check.output().find("Multi-agent env behaviour"), std::string::npos) << check.output();

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

}  // namespace
}  // namespace trustrl::server
