// RemoteVectorEnv serving teams, against an in-process EnvServer over loopback: the
// conformance suite, bit-identical batches with LocalVectorEnv, one client for both kinds of
// server, spec checks, joint-action checks, reconnection, and hostile sessions beside an honest
// one.

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "core/text.h"
#include "envs/conformance.h"
#include "envs/random_actions.h"
#include "envs/registry.h"
#include "server/env_protocol/env_server.h"
#include "server/env_protocol/remote_vector_env.h"
#include "server/env_protocol/spec_hash.h"
#include "server/transport/transport.h"

namespace trustrl::server {
namespace {

using Code = grpc::StatusCode;
constexpr double kTimeoutS = 20.0;

RemoteEnvOptions client_for(const std::string& address) {
  RemoteEnvOptions options;
  options.address = address;
  options.connect_timeout_s = kTimeoutS;
  options.request_timeout_s = kTimeoutS;
  options.max_reconnects = 0;
  return options;
}

std::unique_ptr<EnvServer> serve(const std::string& id, int copies,
                                 const OptionMap& env_options = {}, EnvServerOptions options = {}) {
  return std::make_unique<EnvServer>(registered_env_maker(id, env_options, copies),
                                     std::move(options));
}

std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Every buffer, bit for bit (NaN-free by the checks on arrival).
void expect_same(const envs::StepBuffers& a, const envs::StepBuffers& b, const std::string& at) {
  EXPECT_EQ(a.observations, b.observations) << at;
  EXPECT_EQ(a.states, b.states) << at;
  EXPECT_EQ(a.rewards, b.rewards) << at;
  EXPECT_EQ(a.active, b.active) << at;
  EXPECT_EQ(a.terminated, b.terminated) << at;
  EXPECT_EQ(a.truncated, b.truncated) << at;
  EXPECT_EQ(a.final_observations, b.final_observations) << at;
  EXPECT_EQ(a.final_states, b.final_states) << at;
  EXPECT_EQ(a.final_active, b.final_active) << at;
  EXPECT_EQ(a.episode_returns, b.episode_returns) << at;
  EXPECT_EQ(a.agent_episode_returns, b.agent_episode_returns) << at;
  EXPECT_EQ(a.episode_lengths, b.episode_lengths) << at;
}

// The suite asks for its own copy count, so the server serves that many.
void expect_conformance(const std::string& id, const OptionMap& env_options = {}, int steps = 600) {
  envs::ConformanceOptions suite;
  suite.steps = steps;
  auto server = serve(id, suite.num_envs, env_options);
  for (const auto& check :
       envs::run_conformance(remote_env_maker(client_for(server->address())), suite))
    EXPECT_TRUE(check.passed) << id << " " << check.name << ": " << check.detail;
}

TEST(RemoteVectorEnvTeam, ConformanceSimpleSpread) { expect_conformance("simple_spread_v3"); }
TEST(RemoteVectorEnvTeam, ConformanceSimpleSpeakerListener) {
  expect_conformance("simple_speaker_listener_v4");
}
TEST(RemoteVectorEnvTeam, ConformanceMultiWalker) { expect_conformance("multiwalker_v9"); }
// Walkers that fall go inactive one by one: the suite then sends actions for inactive agents.
TEST(RemoteVectorEnvTeam, ConformanceMultiWalkerWithInactiveAgents) {
  expect_conformance("multiwalker_v9", {{"terminate_on_fall", "false"}}, 300);
}

void expect_same_as_local(const std::string& id, const OptionMap& env_options, int copies,
                          int steps) {
  auto server = serve(id, copies, env_options);
  RemoteVectorEnv remote(client_for(server->address()));
  auto local = envs::LocalVectorEnv::make(id, env_options, copies, 1);
  EXPECT_EQ(remote.spec().canonical(), local->spec().canonical());
  EXPECT_EQ(remote.num_envs(), copies);
  remote.reset(77);
  local->reset(77);
  expect_same(remote.buffers(), local->buffers(), id + " after reset");
  envs::RandomJointActions actions(local->spec(), copies, 5);
  int ended = 0, inactive = 0;
  for (int t = 0; t < steps; ++t) {
    const envs::ActionBatch batch = actions.next(local->buffers().active);
    remote.step(batch);
    local->step(batch);
    expect_same(remote.buffers(), local->buffers(), id + " step " + std::to_string(t));
    if (::testing::Test::HasFailure()) return;
    for (int i = 0; i < copies; ++i) ended += local->buffers().done(i);
    for (const auto x : local->buffers().active) inactive += x == 0;
  }
  EXPECT_GT(ended, 0) << "the run should see auto-resets";
  remote.reset(78);
  local->reset(78);
  expect_same(remote.buffers(), local->buffers(), id + " after a second reset");
  if (id == "multiwalker_v9") {
    EXPECT_GT(inactive, 0) << "the run should see inactive agents";
  }
}

TEST(RemoteVectorEnvTeam, SameBatchesAsLocalSimpleSpread) {
  expect_same_as_local("simple_spread_v3", {{"reward", "mappo"}}, 4, 120);
}
TEST(RemoteVectorEnvTeam, SameBatchesAsLocalSpeakerListener) {
  expect_same_as_local("simple_speaker_listener_v4", {}, 3, 120);
}
TEST(RemoteVectorEnvTeam, SameBatchesAsLocalMultiWalkerWithFallingWalkers) {
  expect_same_as_local("multiwalker_v9", {{"terminate_on_fall", "false"}, {"max_cycles", "60"}}, 3,
                       200);
}

TEST(RemoteVectorEnvTeam, OneClientDrivesBothKindsOfServer) {
  // A team server is driven in the multi-agent wire form, a plain env's server in the
  // single-agent form, as one agent.
  auto multi = serve("simple_spread_v3", 2);
  RemoteVectorEnv team(client_for(multi->address()));
  EXPECT_FALSE(team.single_agent());
  EXPECT_EQ(team.spec().num_agents(), 3);
  EXPECT_EQ(team.buffers().num_agents, 3);

  auto single =
      std::make_unique<EnvServer>(registered_env_maker("CartPole-v1", {}, 2), EnvServerOptions{});
  RemoteVectorEnv plain(client_for(single->address()));
  ASSERT_TRUE(plain.single_agent());
  EXPECT_EQ(plain.single_agent_spec().canonical(), envs::make("CartPole-v1")->spec().canonical());
  EXPECT_EQ(plain.buffers().num_agents, 1);
  plain.reset(3);
  const std::vector<std::int64_t> push{0, 1};
  plain.step({push, {}});
  EXPECT_EQ(plain.buffers().active, (std::vector<std::uint8_t>{1, 1}));
}

TEST(RemoteVectorEnvTeam, SpecMismatchFailsAtTheHandshakeNamingTheField) {
  auto server = serve("simple_spread_v3", 2);
  auto four = envs::make_multi_agent("simple_spread_v3", {{"n", "4"}});
  RemoteEnvOptions expecting_four = client_for(server->address());
  expecting_four.expected_spec = four->spec();
  const std::string message = error_of([&] { RemoteVectorEnv env(expecting_four); });
  EXPECT_NE(message.find("spec mismatch"), std::string::npos) << message;
  EXPECT_NE(message.find("num_agents: expected 4, got 3"), std::string::npos) << message;
  // The right spec is accepted, with a time-limit override hashed in.
  RemoteEnvOptions options = client_for(server->address());
  options.max_episode_steps = 7;
  options.expected_spec = envs::make_multi_agent("simple_spread_v3")->spec();
  RemoteVectorEnv env(options);
  EXPECT_EQ(env.spec().max_episode_steps, 7);
}

// A batch a local env would refuse throws here too, before anything is sent: the session goes on.
TEST(RemoteVectorEnvTeam, RefusesBadJointActionsLocallyAndKeepsTheSession) {
  auto server = serve("simple_speaker_listener_v4", 2);
  RemoteVectorEnv remote(client_for(server->address()));
  auto local = envs::LocalVectorEnv::make("simple_speaker_listener_v4", {}, 2, 1);
  remote.reset(4);
  local->reset(4);
  EXPECT_NE(error_of([&] {
              remote.step({std::vector<std::int64_t>{0, 0, 0}, {}});
            })
                .find("expected 4 discrete action values ([2 copies, 2 agents, 1 per agent]), "
                      "got 3"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              remote.step({std::vector<std::int64_t>{0, 0, 0, 9}, {}});
            }).find("copy 1, agent 1 (listener_0): discrete action 9 is outside Discrete(5)"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              remote.step({std::vector<std::int64_t>{-1, 0, 0, 0}, {}});
            }).find("copy 0, agent 0 (speaker_0): discrete action -1"),
            std::string::npos);
  const std::vector<std::int64_t> ok{2, 4, 1, 0};
  remote.step({ok, {}});
  local->step({ok, {}});
  expect_same(remote.buffers(), local->buffers(), "after the refusals");
}

// The server goes away mid-run and comes back on the same port: the next step reconnects, starts
// fresh episodes and reports every copy as cut, with the last view it had as the final one.
TEST(RemoteVectorEnvTeam, ReconnectsAfterTheServerRestartsAndCountsCutEpisodes) {
  const int copies = 3;
  auto server = serve("simple_spread_v3", copies);
  const std::string address = server->address();
  RemoteEnvOptions client = client_for(address);
  client.max_reconnects = 3;
  client.reconnect_backoff_s = 0.01;
  RemoteVectorEnv env(client);
  env.reset(42);
  envs::RandomJointActions actions(env.spec(), copies, 1);
  std::vector<double> returns(static_cast<std::size_t>(copies * 3), 0.0);
  for (int t = 0; t < 5; ++t) {
    env.step(actions.next(env.buffers().active));
    for (std::size_t k = 0; k < returns.size(); ++k) returns[k] += env.buffers().rewards[k];
  }
  const envs::StepBuffers before = env.buffers();

  server.reset();
  EnvServerOptions same_port;
  same_port.listen = address;
  server = serve("simple_spread_v3", copies, {}, same_port);

  env.step(actions.next(env.buffers().active));
  EXPECT_EQ(env.cut_episodes(), copies);
  EXPECT_EQ(env.reconnects(), 1);
  const envs::StepBuffers& b = env.buffers();
  EXPECT_EQ(b.truncated, std::vector<std::uint8_t>(copies, 1));
  EXPECT_EQ(b.terminated, std::vector<std::uint8_t>(copies, 0));
  EXPECT_EQ(b.rewards, std::vector<double>(returns.size(), 0.0)) << "the lost step never happened";
  EXPECT_EQ(b.final_observations, before.observations);
  EXPECT_EQ(b.final_states, before.states);
  EXPECT_EQ(b.final_active, before.active);
  EXPECT_EQ(b.episode_lengths, std::vector<std::int32_t>(copies, 5));
  EXPECT_EQ(b.agent_episode_returns, returns);
  // The fresh episodes are seeded from the run's seed.
  auto local = envs::LocalVectorEnv::make("simple_spread_v3", {}, copies, 1);
  local->reset(Rng::derive(42, 1));
  EXPECT_EQ(b.observations, local->buffers().observations);
  EXPECT_EQ(b.states, local->buffers().states);
  const envs::ActionBatch next = actions.next(b.active);
  env.step(next);
  local->step(next);
  EXPECT_EQ(env.buffers().observations, local->buffers().observations) << "stepping goes on";
}

TEST(RemoteVectorEnvTeam, GivesUpWhenTheServerStaysDown) {
  auto server = serve("simple_spread_v3", 2);
  RemoteEnvOptions client = client_for(server->address());
  client.max_reconnects = 2;
  client.reconnect_backoff_s = 0.01;
  RemoteVectorEnv env(client);
  env.reset(1);
  const std::vector<std::int64_t> a(6, 0);
  env.step({a, {}});
  server.reset();
  const std::string message = error_of([&] { env.step({a, {}}); });
  EXPECT_NE(
      message.find("simulator at " + client.address +
                   " is unreachable (lost mid-run, 2 episodes cut): gave up after 2 attempt(s)"),
      std::string::npos)
      << message;
  EXPECT_NE(error_of([&] { env.step({a, {}}); }).find("call reset() first"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Hostile sessions beside an honest one

wire::SessionRequest handshake() {
  wire::SessionRequest r;
  r.mutable_handshake()->set_protocol_version(kProtocolVersion);
  r.mutable_handshake()->add_capabilities(wire::CAPABILITY_MULTI_AGENT);
  return r;
}
wire::SessionRequest reset(std::uint64_t seed) {
  wire::SessionRequest r;
  r.mutable_reset()->set_seed(seed);
  return r;
}
wire::SessionRequest continuous_step(const std::vector<float>& actions) {
  wire::SessionRequest r;
  r.mutable_step()->mutable_continuous_actions()->Add(actions.begin(), actions.end());
  return r;
}

// Multiwalker with walkers that fall one by one, 2 copies of 3 walkers with Box(-1, 1, (4,)):
// a step carries [2, 12] float32.
class MultiAgentRobustness : public testing::Test {
 protected:
  static constexpr int kCopies = 2, kAgents = 3, kDim = 4;
  MultiAgentRobustness()
      : env_options_{{"terminate_on_fall", "false"}},
        server_(serve("multiwalker_v9", kCopies, env_options_)),
        channel_(make_channel({server_->address(), "", "", kDefaultMaxMessageBytes})),
        remote_(client_for(server_->address())),
        local_(envs::LocalVectorEnv::make("multiwalker_v9", env_options_, kCopies, 1)),
        actions_(local_->spec(), kCopies, 9) {
    remote_.reset(5);
    local_->reset(5);
  }

  // The honest session steps and still matches local copies.
  bool bystander_step() {
    const envs::ActionBatch batch = actions_.next(local_->buffers().active);
    remote_.step(batch);
    local_->step(batch);
    return remote_.buffers().observations == local_->buffers().observations &&
           remote_.buffers().rewards == local_->buffers().rewards &&
           remote_.buffers().active == local_->buffers().active;
  }

  // `requests` on a fresh session: all but the last answered, the last refused with `code` and a
  // message holding `what`.
  void expect_refused(const std::vector<wire::SessionRequest>& requests, Code code,
                      const std::string& what) {
    SessionClient session(channel_, "");
    wire::SessionResponse response;
    for (std::size_t k = 0; k + 1 < requests.size(); ++k)
      ASSERT_TRUE(session.call(requests[k], &response, kTimeoutS).ok()) << what << " " << k;
    const grpc::Status s = session.call(requests.back(), &response, kTimeoutS);
    EXPECT_EQ(s.error_code(), code) << describe(s);
    EXPECT_NE(s.error_message().find(what), std::string::npos) << describe(s);
    EXPECT_TRUE(bystander_step()) << "the honest session was disturbed by: " << what;
  }

  OptionMap env_options_;
  std::unique_ptr<EnvServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  RemoteVectorEnv remote_;
  std::unique_ptr<envs::LocalVectorEnv> local_;
  envs::RandomJointActions actions_;
};

TEST_F(MultiAgentRobustness, BadSessionsGetAStatusNamingTheProblem) {
  const std::vector<float> zeros(kCopies * kAgents * kDim, 0.0f);
  wire::SessionRequest no_capability = handshake();
  no_capability.mutable_handshake()->clear_capabilities();
  expect_refused({no_capability}, Code::FAILED_PRECONDITION,
                 "did not declare CAPABILITY_MULTI_AGENT");

  wire::SessionRequest two_walkers = handshake();
  wire::EnvSpec expected = server_->info().spec();
  expected.set_num_agents(2);
  expected.mutable_agents()->RemoveLast();
  two_walkers.mutable_handshake()->set_spec_hash(spec_hash(expected));
  *two_walkers.mutable_handshake()->mutable_expected_spec() = expected;
  expect_refused({two_walkers}, Code::FAILED_PRECONDITION, "num_agents: expected 2, got 3");

  // Actions for 2 of 3 agents, for one copy too few, or too many.
  expect_refused(
      {handshake(), reset(1), continuous_step(std::vector<float>(kCopies * 2 * kDim, 0))},
      Code::INVALID_ARGUMENT,
      "expected 24 values in continuous_actions (2 copies x 12 continuous component(s)");
  expect_refused({handshake(), reset(1), continuous_step(std::vector<float>(12, 0))},
                 Code::INVALID_ARGUMENT, "got 12");
  expect_refused({handshake(), reset(1), continuous_step(std::vector<float>(25, 0))},
                 Code::INVALID_ARGUMENT, "got 25");
  wire::SessionRequest wrong_dtype;
  wrong_dtype.mutable_step()->mutable_discrete_actions()->Resize(24, 0);
  expect_refused({handshake(), reset(1), wrong_dtype}, Code::INVALID_ARGUMENT,
                 "no agent of this env takes discrete actions");

  for (const float bad : {NAN, INFINITY, -INFINITY}) {
    std::vector<float> actions = zeros;
    actions[13] = bad;  // copy 1, agent 0, component 1
    expect_refused({handshake(), reset(1), continuous_step(actions)}, Code::INVALID_ARGUMENT,
                   "copy 1, agent 0 (walker_0): continuous action " + format_number(bad) +
                       " at component 1 is not finite");
  }
  std::vector<float> sentinel = zeros;
  sentinel[4] = NAN;  // an active agent sending the no-action sentinel
  expect_refused({handshake(), reset(1), continuous_step(sentinel)}, Code::INVALID_ARGUMENT,
                 "copy 0, agent 1 (walker_1): continuous action nan");
}

TEST_F(MultiAgentRobustness, AnActionForAnInactiveAgentIsRefused) {
  SessionClient session(channel_, "");
  wire::SessionResponse r;
  ASSERT_TRUE(session.call(handshake(), &r, kTimeoutS).ok());
  ASSERT_TRUE(session.call(reset(1), &r, kTimeoutS).ok());
  std::vector<std::uint8_t> active(kCopies * kAgents, 1);
  int fallen = -1;
  for (int t = 0; t < 400 && fallen < 0; ++t) {
    std::vector<float> push(kCopies * kAgents * kDim);
    for (std::size_t k = 0; k < push.size(); ++k)
      push[k] = active[k / kDim] ? ((t / 7 + static_cast<int>(k)) % 2 ? 1.0f : -1.0f) : NAN;
    ASSERT_TRUE(session.call(continuous_step(push), &r, kTimeoutS).ok()) << "step " << t;
    for (std::size_t k = 0; k < active.size(); ++k) {
      active[k] = r.step().agent_active(static_cast<int>(k));
      if (!active[k] && fallen < 0) fallen = static_cast<int>(k);
    }
    EXPECT_TRUE(bystander_step());
  }
  ASSERT_GE(fallen, 0) << "no walker fell";
  std::vector<float> actions(kCopies * kAgents * kDim);
  for (std::size_t k = 0; k < actions.size(); ++k) actions[k] = active[k / kDim] ? 0.0f : NAN;
  actions[static_cast<std::size_t>(fallen * kDim + 2)] = 0.5f;
  const grpc::Status s = session.call(continuous_step(actions), &r, kTimeoutS);
  EXPECT_EQ(s.error_code(), Code::INVALID_ARGUMENT) << describe(s);
  EXPECT_NE(s.error_message().find("agent " + std::to_string(fallen % kAgents) + " (walker_" +
                                   std::to_string(fallen % kAgents) +
                                   ") is inactive; its action must be NaN (no action), got 0.5 "
                                   "at component 2"),
            std::string::npos)
      << describe(s);
  for (int t = 0; t < 20; ++t) EXPECT_TRUE(bystander_step());
  EXPECT_EQ(server_->active_sessions(), 1) << "only the honest session is left";
}

}  // namespace
}  // namespace trustrl::server
