// The server's protocol state machine, request by request: plain envs in the single-agent wire
// form, multi-agent envs with the same rules, packed wire arrays and the joint-action checks.

#include "server/env_protocol/env_session.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "core/error.h"
#include "envs/vector_env.h"
#include "server/env_protocol/convert.h"
#include "server/env_protocol/spec_hash.h"
#include "server/transport/transport.h"

namespace trustrl::server {
namespace {

using Code = grpc::StatusCode;

class EnvSessionTest : public testing::Test {
 protected:
  explicit EnvSessionTest(const std::string& id = "CartPole-v1", int copies = 3,
                          const OptionMap& options = {})
      : config_(make_session_config(registered_env_maker(id, options, copies), "test")),
        session_(config_) {}

  wire::SessionRequest handshake() const {
    wire::SessionRequest r;
    r.mutable_handshake()->set_protocol_version(kProtocolVersion);
    return r;
  }
  static wire::SessionRequest reset(std::uint64_t seed) {
    wire::SessionRequest r;
    r.mutable_reset()->set_seed(seed);
    return r;
  }
  static wire::SessionRequest step(std::vector<std::int64_t> discrete,
                                   std::vector<float> continuous = {}) {
    wire::SessionRequest r;
    r.mutable_step()->mutable_discrete_actions()->Add(discrete.begin(), discrete.end());
    r.mutable_step()->mutable_continuous_actions()->Add(continuous.begin(), continuous.end());
    return r;
  }
  grpc::Status send(const wire::SessionRequest& r) {
    response_.Clear();
    return session_.handle(r, &response_);
  }
  void expect(const wire::SessionRequest& r, Code code, const std::string& message_part) {
    const grpc::Status s = send(r);
    EXPECT_EQ(s.error_code(), code) << describe(s);
    EXPECT_NE(s.error_message().find(message_part), std::string::npos) << describe(s);
  }

  SessionConfig config_;
  EnvSession session_;
  wire::SessionResponse response_;
};

TEST_F(EnvSessionTest, ServesHandshakeResetAndSteps) {
  ASSERT_TRUE(send(handshake()).ok());
  ASSERT_TRUE(response_.has_handshake());
  const wire::ServerInfo& info = response_.handshake().server();
  EXPECT_EQ(info.num_envs(), 3);
  EXPECT_EQ(info.spec().id(), "CartPole-v1");
  EXPECT_EQ(info.spec_hash(), spec_hash(info.spec()));
  ASSERT_TRUE(send(reset(7)).ok());
  EXPECT_EQ(response_.reset().observations_size(), 3 * 4);
  ASSERT_TRUE(send(step({0, 1, 1})).ok());
  EXPECT_EQ(response_.step().observations_size(), 12);
  EXPECT_EQ(response_.step().rewards_size(), 3);
}

TEST_F(EnvSessionTest, EnforcesSessionOrder) {
  expect(reset(1), Code::FAILED_PRECONDITION, "the first request of a session must be a handshake");
  ASSERT_TRUE(send(handshake()).ok());
  expect(step({0, 0, 0}), Code::FAILED_PRECONDITION, "send a reset request first");
  expect(handshake(), Code::FAILED_PRECONDITION, "a second handshake");
  expect(wire::SessionRequest(), Code::INVALID_ARGUMENT, "no payload");
}

TEST_F(EnvSessionTest, HandshakeMismatchesSayWhatDiffers) {
  wire::SessionRequest r = handshake();
  r.mutable_handshake()->set_protocol_version(2);
  expect(r, Code::FAILED_PRECONDITION,
         "the client speaks protocol version 2, this server speaks version 1");
  r = handshake();
  r.mutable_handshake()->set_num_envs(8);
  expect(r, Code::FAILED_PRECONDITION,
         "the client expects 8 copies per session, this server serves 3");
  r = handshake();
  wire::EnvSpec expected = config_.info.spec();
  expected.mutable_action_space()->set_n(3);
  r.mutable_handshake()->set_spec_hash(spec_hash(expected));
  *r.mutable_handshake()->mutable_expected_spec() = expected;
  expect(r, Code::FAILED_PRECONDITION, "action_space: expected Discrete(3), got Discrete(2)");
  r.mutable_handshake()->clear_expected_spec();
  expect(r, Code::FAILED_PRECONDITION, "send expected_spec to see which field differs");
}

TEST_F(EnvSessionTest, TimeLimitOverrideChangesTheSpecAndItsHash) {
  wire::SessionRequest r = handshake();
  r.mutable_handshake()->set_max_episode_steps(4);
  wire::EnvSpec expected = config_.info.spec();
  expected.set_max_episode_steps(4);
  r.mutable_handshake()->set_spec_hash(spec_hash(expected));
  ASSERT_TRUE(send(r).ok()) << "the hash is checked against the overridden spec";
  EXPECT_EQ(response_.handshake().server().spec().max_episode_steps(), 4);
  ASSERT_TRUE(send(reset(1)).ok());
  int truncations = 0;
  for (int t = 0; t < 4; ++t) {
    ASSERT_TRUE(send(step({0, 1, 0})).ok());
    for (const bool x : response_.step().truncated()) truncations += x;
  }
  EXPECT_GT(truncations, 0);
}

TEST_F(EnvSessionTest, ChecksEveryActionBeforeSteppingAny) {
  ASSERT_TRUE(send(handshake()).ok());
  ASSERT_TRUE(send(reset(5)).ok());
  const auto first = response_.reset().observations();
  expect(step({0, 1}), Code::INVALID_ARGUMENT,
         "expected 3 values in discrete_actions (3 copies x 1 component(s) of Discrete(2)), got 2");
  EnvSession fresh(config_);
  auto run = [&](EnvSession& s, const wire::SessionRequest& r) {
    response_.Clear();
    return s.handle(r, &response_);
  };
  ASSERT_TRUE(run(fresh, handshake()).ok());
  ASSERT_TRUE(run(fresh, reset(5)).ok());
  {  // a bad batch leaves every copy untouched
    const grpc::Status s = run(fresh, step({1, 1, 7}));
    EXPECT_EQ(s.error_code(), Code::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(),
              "step: the action of copy 2 is 7, outside Discrete(2) (allowed 0..1)");
    // The refused batch moved no copy: a valid step now matches one from the first observations.
    ASSERT_TRUE(run(fresh, step({1, 1, 1})).ok());
    const auto after = response_.step().observations();
    EnvSession reference(config_);
    ASSERT_TRUE(run(reference, handshake()).ok());
    ASSERT_TRUE(run(reference, reset(5)).ok());
    EXPECT_TRUE(std::equal(first.begin(), first.end(), response_.reset().observations().begin()));
    ASSERT_TRUE(run(reference, step({1, 1, 1})).ok());
    EXPECT_TRUE(std::equal(after.begin(), after.end(), response_.step().observations().begin()));
  }
  expect(step({0, 0, 0}, {0.5f, 0.5f, 0.5f}), Code::INVALID_ARGUMENT,
         "continuous_actions must be empty, got 3 values");
}

class ContinuousSessionTest : public EnvSessionTest {
 protected:
  ContinuousSessionTest() : EnvSessionTest("Pendulum-v1", 2) {}
};

TEST_F(ContinuousSessionTest, RefusesNonFiniteActionsAndAcceptsOutOfBoundOnes) {
  ASSERT_TRUE(send(handshake()).ok());
  ASSERT_TRUE(send(reset(1)).ok());
  expect(step({}, {0.5f, NAN}), Code::INVALID_ARGUMENT,
         "the action of copy 1 is nan; actions must be finite");
  expect(step({}, {INFINITY, 0.0f}), Code::INVALID_ARGUMENT, "the action of copy 0 is inf");
  expect(step({1, 1}), Code::INVALID_ARGUMENT, "takes continuous_actions (float32)");
  // As in Gymnasium, the env clips an out-of-bound torque (Pendulum's bound is 2).
  EXPECT_TRUE(send(step({}, {5.0f, -5.0f})).ok());
}

// The service edge: every failure leaves handle() as a status, with the code that says whose
// fault it is (the client's request, or the server's env) and the text naming it.

// A CartPole vector env whose reset or step throws, as a broken simulator's would; it keeps its
// own time limit whatever it is asked for.
class FailingEnv final : public envs::VectorEnv {
 public:
  explicit FailingEnv(bool reset_fails)
      : env_(envs::LocalVectorEnv::make("CartPole-v1", {}, 2, 1)), reset_fails_(reset_fails) {}
  const envs::MultiAgentSpec& spec() const override { return env_->spec(); }
  int num_envs() const override { return env_->num_envs(); }
  void reset(std::uint64_t seed) override {
    if (reset_fails_) throw Error("the physics blew up");
    env_->reset(seed);
  }
  void step(const envs::ActionBatch&) override { throw Error("the physics blew up"); }
  const envs::StepBuffers& buffers() const override { return env_->buffers(); }

 private:
  std::unique_ptr<envs::LocalVectorEnv> env_;
  bool reset_fails_;
};

TEST(EnvSessionEdge, MapsEachFailureToTheStatusClientsSee) {
  bool maker_fails = false, reset_fails = false;
  const SessionConfig config = make_session_config(
      [&](int) -> std::unique_ptr<envs::VectorEnv> {
        if (maker_fails) throw Error("out of licences");
        return std::make_unique<FailingEnv>(reset_fails);
      },
      "test");
  wire::SessionRequest handshake;
  handshake.mutable_handshake()->set_protocol_version(kProtocolVersion);
  wire::SessionRequest reset;
  reset.mutable_reset()->set_seed(1);
  wire::SessionRequest step;
  step.mutable_step()->add_discrete_actions(1);
  wire::SessionResponse response;
  auto expect = [&](EnvSession& session, const wire::SessionRequest& r, Code code,
                    const std::string& message) {
    const grpc::Status s = session.handle(r, &response);
    EXPECT_EQ(s.error_code(), code) << describe(s);
    EXPECT_EQ(s.error_message(), message);
  };

  maker_fails = true;
  EnvSession no_env(config);
  expect(no_env, handshake, Code::INVALID_ARGUMENT,
         "handshake: cannot make the session's env: out of licences");
  maker_fails = false;

  EnvSession ignores_limit(config);
  wire::SessionRequest limited = handshake;
  limited.mutable_handshake()->set_max_episode_steps(7);
  expect(ignores_limit, limited, Code::INTERNAL,
         "handshake: the env ignored the time limit it was asked for");

  reset_fails = true;
  EnvSession no_reset(config);
  ASSERT_TRUE(no_reset.handle(handshake, &response).ok());
  expect(no_reset, reset, Code::INTERNAL, "reset: the env failed: the physics blew up");
  reset_fails = false;

  EnvSession no_step(config);
  ASSERT_TRUE(no_step.handle(handshake, &response).ok());
  ASSERT_TRUE(no_step.handle(reset, &response).ok());
  // A bad batch is the client's fault (a ProtocolError, named after the request)...
  expect(no_step, step, Code::INVALID_ARGUMENT,
         "step: expected 2 values in discrete_actions (2 copies x 1 component(s) of "
         "Discrete(2)), got 1");
  // ...a good one that the env fails on is the server's.
  step.mutable_step()->add_discrete_actions(0);
  expect(no_step, step, Code::INTERNAL, "step: the env failed: the physics blew up");
}

// Multi-agent envs.

class MultiAgentSessionTest : public EnvSessionTest {
 protected:
  explicit MultiAgentSessionTest(const std::string& id = "simple_speaker_listener_v4",
                                 int copies = 2, OptionMap options = {})
      : EnvSessionTest(id, copies, options), id_(id), copies_(copies), options_(options) {}

  static wire::SessionRequest handshake(bool multi_agent = true) {
    wire::SessionRequest r;
    r.mutable_handshake()->set_protocol_version(kProtocolVersion);
    if (multi_agent) r.mutable_handshake()->add_capabilities(wire::CAPABILITY_MULTI_AGENT);
    return r;
  }
  void start(std::uint64_t seed = 3) {
    ASSERT_TRUE(send(handshake()).ok());
    ASSERT_TRUE(send(reset(seed)).ok());
  }

  std::string id_;
  int copies_;
  OptionMap options_;
};

TEST_F(MultiAgentSessionTest, DescribesTheAgentsAndHashesThem) {
  const wire::EnvSpec& spec = config_.info.spec();
  EXPECT_EQ(spec.num_agents(), 2);
  ASSERT_EQ(spec.agents_size(), 2);
  EXPECT_EQ(spec.agents(0).name(), "speaker_0");
  EXPECT_EQ(spec.agents(1).name(), "listener_0");
  EXPECT_EQ(spec.observation_space().kind(), wire::SPACE_KIND_UNSPECIFIED);
  EXPECT_EQ(spec.state_space().low_size(), 14);
  EXPECT_EQ(config_.info.spec_hash(), spec_hash(spec));
  // The hash covers the agent count, each agent's spaces, the state space and the time limit.
  for (int field = 0; field < 4; ++field) {
    wire::EnvSpec other = spec;
    if (field == 0) {
      other.set_num_agents(3);
      *other.add_agents() = spec.agents(1);
    } else if (field == 1) {
      other.mutable_agents(1)->mutable_action_space()->set_n(4);
    } else if (field == 2) {
      other.mutable_state_space()->set_high(0, 1.0f);
    } else {
      other.set_max_episode_steps(spec.max_episode_steps() + 1);
    }
    EXPECT_NE(spec_hash(other), spec_hash(spec)) << "field " << field;
  }
  wire::EnvSpec renamed = spec;
  renamed.mutable_agents(0)->set_name("talker");
  renamed.set_id("another name");
  EXPECT_EQ(spec_hash(renamed), spec_hash(spec)) << "names are informational";
}

TEST_F(MultiAgentSessionTest, RefusesAClientThatCannotReadTheAgentAxis) {
  expect(handshake(/*multi_agent=*/false), Code::FAILED_PRECONDITION,
         "this server serves a multi-agent env (2 agents) and the client did not declare "
         "CAPABILITY_MULTI_AGENT");
}

TEST_F(MultiAgentSessionTest, WrongAgentCountIsRefusedAtTheHandshakeNamingIt) {
  wire::SessionRequest r = handshake();
  wire::EnvSpec expected = config_.info.spec();
  expected.set_num_agents(3);
  *expected.add_agents() = expected.agents(1);
  r.mutable_handshake()->set_spec_hash(spec_hash(expected));
  *r.mutable_handshake()->mutable_expected_spec() = expected;
  expect(r, Code::FAILED_PRECONDITION, "num_agents: expected 3, got 2");
}

TEST_F(MultiAgentSessionTest, ServesPackedArraysMatchingALocalEnv) {
  start(11);
  auto local = envs::LocalVectorEnv::make(id_, {}, copies_, 1);
  local->reset(11);
  const AgentLayout layout(local->spec());
  EXPECT_EQ(layout.obs_width, 3 + 11);
  std::vector<float> packed;
  pack_observations(layout, local->buffers().observations, packed);
  const auto& first = response_.reset().observations();
  EXPECT_EQ(std::vector<float>(first.begin(), first.end()), packed);
  EXPECT_EQ(response_.reset().states_size(), copies_ * 14);
  EXPECT_EQ(response_.reset().agent_active_size(), copies_ * 2);

  // Speaker Discrete(3), listener Discrete(5): [N, 2] int64, in agent order.
  for (int t = 0; t < 30; ++t) {
    const std::vector<std::int64_t> wire_actions{t % 3, t % 5, (t + 1) % 3, (t + 2) % 5};
    ASSERT_TRUE(send(step(wire_actions)).ok()) << "step " << t;
    // The same actions, padded to [N, A, max_action_dim = 1].
    local->step({wire_actions, {}});
    const wire::StepResponse& s = response_.step();
    pack_observations(layout, local->buffers().observations, packed);
    ASSERT_EQ(std::vector<float>(s.observations().begin(), s.observations().end()), packed);
    ASSERT_EQ(std::vector<double>(s.agent_rewards().begin(), s.agent_rewards().end()),
              local->buffers().rewards);
    ASSERT_EQ(s.rewards_size(), copies_);
    EXPECT_DOUBLE_EQ(s.rewards(0), local->buffers().rewards[0] + local->buffers().rewards[1]);
    ASSERT_EQ(std::vector<float>(s.states().begin(), s.states().end()), local->buffers().states);
  }
}

TEST_F(MultiAgentSessionTest, ChecksEveryJointActionBeforeSteppingAny) {
  start();
  expect(step({0, 0, 0}), Code::INVALID_ARGUMENT,
         "step: expected 4 values in discrete_actions (2 copies x 2 discrete component(s) of the "
         "agents' action spaces, in agent order), got 3");
  EnvSession fresh(config_);
  auto run = [&](const wire::SessionRequest& r) {
    response_.Clear();
    return fresh.handle(r, &response_);
  };
  ASSERT_TRUE(run(handshake()).ok());
  ASSERT_TRUE(run(reset(3)).ok());
  const auto first = response_.reset().observations();
  // Copy 1's listener (Discrete(5)) gets 5: the whole batch is refused, naming it. Copy 0's
  // listener was told to move (2), so stepping copy 0 anyway would show in its velocity.
  const grpc::Status s = run(step({0, 2, 1, 5}));
  EXPECT_EQ(s.error_code(), Code::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "step: copy 1, agent 1 (listener_0): discrete action 5 is outside Discrete(5) "
            "(allowed 0..4)");
  // An active agent may not send the no-action sentinel either.
  EnvSession other(config_);
  wire::SessionResponse ignored;
  auto on = [&](EnvSession& session, const wire::SessionRequest& request) {
    ignored.Clear();
    return session.handle(request, &ignored);
  };
  ASSERT_TRUE(on(other, handshake()).ok());
  ASSERT_TRUE(on(other, reset(3)).ok());
  const grpc::Status sentinel = on(other, step({-1, 0, 1, 2}));
  EXPECT_EQ(sentinel.error_code(), Code::INVALID_ARGUMENT);
  EXPECT_NE(sentinel.error_message().find("copy 0, agent 0 (speaker_0): discrete action -1"),
            std::string::npos)
      << sentinel.error_message();
  // The refused batches moved no copy: a valid step now matches a reference session's, both after
  // the sentinel at copy 0 and after the bad action at copy 1 (whose copy 0 was valid: a session
  // that stepped copies while checking them would have moved copy 0 there).
  EnvSession again(config_);
  ASSERT_TRUE(on(again, handshake()).ok());
  ASSERT_TRUE(on(again, reset(3)).ok());
  EXPECT_TRUE(std::equal(first.begin(), first.end(), ignored.reset().observations().begin()));
  wire::SessionResponse reference;
  ASSERT_TRUE(again.handle(step({2, 4, 1, 3}), &reference).ok());
  ASSERT_TRUE(on(other, step({2, 4, 1, 3})).ok());
  EXPECT_TRUE(std::equal(reference.step().observations().begin(),
                         reference.step().observations().end(),
                         ignored.step().observations().begin()));
  ASSERT_TRUE(run(step({2, 4, 1, 3})).ok());
  EXPECT_TRUE(std::equal(reference.step().observations().begin(),
                         reference.step().observations().end(),
                         response_.step().observations().begin()));
  expect(step({0, 0, 0, 0}, {0.5f}), Code::INVALID_ARGUMENT,
         "no agent of this env takes continuous actions; continuous_actions must be empty");
}

class MultiWalkerSessionTest : public MultiAgentSessionTest {
 protected:
  // Walkers that fall are removed one by one instead of ending the episode.
  MultiWalkerSessionTest()
      : MultiAgentSessionTest("multiwalker_v9", 2, {{"terminate_on_fall", "false"}}) {}
};

TEST_F(MultiWalkerSessionTest, RefusesNaNAndActionsForInactiveAgents) {
  start(1);
  const int a = 3, dim = 4;  // 3 walkers, Box(-1, 1, (4,)) each: [N, 12] float32
  std::vector<float> actions(static_cast<std::size_t>(copies_ * a * dim), 0.0f);
  actions[5] = NAN;
  expect(step({}, actions), Code::INVALID_ARGUMENT,
         "step: copy 0, agent 1 (walker_1): continuous action nan at component 1 is not finite");

  EnvSession session(config_);
  wire::SessionResponse r;
  auto call = [&](const wire::SessionRequest& request) {
    r.Clear();
    return session.handle(request, &r);
  };
  ASSERT_TRUE(call(handshake()).ok());
  ASSERT_TRUE(call(reset(1)).ok());
  // Drive the walkers with full torque until one falls and goes inactive.
  std::vector<std::uint8_t> active(static_cast<std::size_t>(copies_ * a), 1);
  int inactive = -1;
  for (int t = 0; t < 400 && inactive < 0; ++t) {
    std::vector<float> push(actions.size());
    for (std::size_t k = 0; k < push.size(); ++k)
      push[k] = active[k / dim] ? ((t / 7 + static_cast<int>(k)) % 2 ? 1.0f : -1.0f) : NAN;
    ASSERT_TRUE(call(step({}, push)).ok()) << "step " << t;
    const auto& mask = r.step().agent_active();
    for (std::size_t k = 0; k < active.size(); ++k) active[k] = mask[static_cast<int>(k)];
    for (std::size_t k = 0; k < active.size() && inactive < 0; ++k)
      if (!active[k]) inactive = static_cast<int>(k);
  }
  ASSERT_GE(inactive, 0) << "no walker fell";
  // A real action in the fallen walker's slot is refused, naming it.
  std::vector<float> bad(actions.size());
  for (std::size_t k = 0; k < bad.size(); ++k) bad[k] = active[k / dim] ? 0.0f : NAN;
  bad[static_cast<std::size_t>(inactive * dim)] = 0.25f;
  const grpc::Status s = call(step({}, bad));
  EXPECT_EQ(s.error_code(), Code::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("copy " + std::to_string(inactive / a) + ", agent " +
                                   std::to_string(inactive % a) + " (walker_" +
                                   std::to_string(inactive % a) +
                                   ") is inactive; its action must be NaN (no action), got 0.25"),
            std::string::npos)
      << s.error_message();
}

TEST_F(MultiWalkerSessionTest, TimeLimitOverrideTruncatesEveryCopy) {
  wire::SessionRequest r = handshake();
  r.mutable_handshake()->set_max_episode_steps(3);
  ASSERT_TRUE(send(r).ok());
  EXPECT_EQ(response_.handshake().server().spec().max_episode_steps(), 3);
  ASSERT_TRUE(send(reset(2)).ok());
  for (int t = 0; t < 3; ++t) ASSERT_TRUE(send(step({}, std::vector<float>(24, 0.0f))).ok());
  const wire::StepResponse& s = response_.step();
  int ended = 0;
  for (int i = 0; i < copies_; ++i) ended += s.terminated(i) || s.truncated(i);
  EXPECT_EQ(ended, copies_);
  EXPECT_EQ(s.final_observations_size(), ended * 3 * 31);
  EXPECT_EQ(s.final_states_size(), ended * 3 * 31);
  EXPECT_EQ(s.final_agent_active_size(), ended * 3);
  EXPECT_EQ(s.episode_lengths_size(), ended);
  for (int j = 0; j < ended; ++j) EXPECT_EQ(s.episode_lengths(j), 3);
}

}  // namespace
}  // namespace trustrl::server
