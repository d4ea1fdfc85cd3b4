// The server's protocol state machine, request by request.

#include "server/env_session.h"

#include <gtest/gtest.h>

#include <cmath>

#include "server/spec_hash.h"
#include "server/transport.h"

namespace trustrl::server {
namespace {

using Code = grpc::StatusCode;

class EnvSessionTest : public testing::Test {
 protected:
  explicit EnvSessionTest(const std::string& id = "CartPole-v1", int copies = 3)
      : config_(make_session_config(registered_env_maker(id, {}, copies), "test")),
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

}  // namespace
}  // namespace trustrl::server
