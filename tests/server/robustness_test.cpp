// The env server under hostile input: garbage, truncated, mutated and oversized messages, wrong
// session order, wrong batch sizes, NaN actions, floods and abrupt disconnects. Every attack must
// be answered with a status (or, for a mutation that happens to be valid, an answer), and a
// concurrent honest session must keep getting exactly the batches a local env gives.

#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "core/rng.h"
#include "envs/registry.h"
#include "server/env_protocol/env_server.h"
#include "server/env_protocol/remote_vector_env.h"
#include "server/transport/transport.h"

namespace trustrl::server {
namespace {

using Code = grpc::StatusCode;
constexpr double kTimeoutS = 20.0;
constexpr char kSessionMethod[] = "/trustrl.env.v1.EnvService/Session";

// A session stream that sends raw bytes, bypassing the typed stub, so that messages no client
// library would produce reach the server.
class RawSession {
 public:
  explicit RawSession(const std::shared_ptr<grpc::Channel>& channel) : stub_(channel) {
    call_ = stub_.PrepareCall(&context_, kSessionMethod, &cq_);
    call_->StartCall(tag(kStart));
    await(kStart);
  }
  ~RawSession() {
    context_.TryCancel();
    if (!finished_) {
      call_->Finish(&status_, tag(kFinish));
      await(kFinish);
    }
    cq_.Shutdown();
    void* t;
    bool ok;
    while (cq_.Next(&t, &ok)) {
    }
  }

  // Sends `bytes` as one message and reads one answer. OK with the answer's bytes, or the status
  // that ended the stream.
  grpc::Status exchange(const std::string& bytes, std::string* answer = nullptr) {
    grpc::Slice slice(bytes);
    grpc::ByteBuffer out(&slice, 1);
    call_->Write(out, tag(kWrite));
    const bool wrote = await(kWrite);
    grpc::ByteBuffer in;
    call_->Read(&in, tag(kRead));
    if (wrote && await(kRead)) {
      if (answer) {
        std::vector<grpc::Slice> slices;
        (void)in.Dump(&slices);
        answer->clear();
        for (const auto& s : slices)
          answer->append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
      return grpc::Status::OK;
    }
    if (!wrote) await(kRead);
    call_->Finish(&status_, tag(kFinish));
    await(kFinish);
    finished_ = true;
    return status_;
  }

 private:
  enum { kStart = 1, kWrite, kRead, kFinish };
  static void* tag(int i) { return reinterpret_cast<void*>(static_cast<std::intptr_t>(i)); }
  // Waits for `which`; any other tag that completes first is noted and skipped.
  bool await(int which) {
    void* t = nullptr;
    bool ok = false;
    for (;;) {
      const auto s = cq_.AsyncNext(&t, &ok, deadline_after(kTimeoutS));
      if (s != grpc::CompletionQueue::GOT_EVENT) {
        ADD_FAILURE() << "the server did not answer within " << kTimeoutS << " s";
        context_.TryCancel();
        return false;
      }
      if (reinterpret_cast<std::intptr_t>(t) == which) return ok;
    }
  }

  grpc::GenericStub stub_;
  grpc::ClientContext context_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  grpc::Status status_;
  bool finished_ = false;
};

std::string bytes_of(const wire::SessionRequest& r) { return r.SerializeAsString(); }

wire::SessionRequest handshake() {
  wire::SessionRequest r;
  r.mutable_handshake()->set_protocol_version(kProtocolVersion);
  return r;
}
wire::SessionRequest reset(std::uint64_t seed) {
  wire::SessionRequest r;
  r.mutable_reset()->set_seed(seed);
  return r;
}
wire::SessionRequest discrete_step(std::vector<std::int64_t> actions) {
  wire::SessionRequest r;
  r.mutable_step()->mutable_discrete_actions()->Add(actions.begin(), actions.end());
  return r;
}
wire::SessionRequest continuous_step(std::vector<float> actions) {
  wire::SessionRequest r;
  r.mutable_step()->mutable_continuous_actions()->Add(actions.begin(), actions.end());
  return r;
}

// An honest client that steps alongside the attacks and checks every batch against a local env.
class Bystander {
 public:
  explicit Bystander(const std::string& address)
      : local_(envs::LocalVectorEnv::make("CartPole-v1", {}, 4, 1)) {
    RemoteEnvOptions options;
    options.address = address;
    options.max_reconnects = 0;
    remote_ = std::make_unique<RemoteVectorEnv>(options);
    remote_->reset(77);
    local_->reset(77);
  }
  // Steps both and says whether they still agree.
  bool step() {
    const std::vector<std::int64_t> a{t_ % 2, (t_ / 2) % 2, 1, 0};
    ++t_;
    remote_->step({a, {}});
    local_->step({a, {}});
    return remote_->buffers().observations == local_->buffers().observations &&
           remote_->buffers().rewards == local_->buffers().rewards &&
           remote_->buffers().terminated == local_->buffers().terminated;
  }

 private:
  std::unique_ptr<envs::LocalVectorEnv> local_;
  std::unique_ptr<RemoteVectorEnv> remote_;
  std::int64_t t_ = 0;
};

class Robustness : public testing::Test {
 protected:
  static constexpr int kMaxMessageBytes = 1 << 20;
  static constexpr int kMaxSessions = 8;

  Robustness() {
    EnvServerOptions options;
    options.max_message_bytes = kMaxMessageBytes;
    options.max_sessions = kMaxSessions;
    server_ = std::make_unique<EnvServer>(registered_env_maker("CartPole-v1", {}, 4), options);
    channel_ = make_channel({server_->address(), "", "", kMaxMessageBytes * 4});
    bystander_ = std::make_unique<Bystander>(server_->address());
  }

  // A raw session already through the handshake and a reset.
  std::unique_ptr<RawSession> running_session() {
    auto s = std::make_unique<RawSession>(channel_);
    EXPECT_TRUE(s->exchange(bytes_of(handshake())).ok());
    EXPECT_TRUE(s->exchange(bytes_of(reset(1))).ok());
    return s;
  }

  void expect_refused(RawSession& s, const std::string& bytes, Code code, const std::string& what) {
    const grpc::Status status = s.exchange(bytes);
    EXPECT_EQ(status.error_code(), code) << what << ": " << describe(status);
    EXPECT_FALSE(status.error_message().empty()) << what;
    EXPECT_TRUE(bystander_->step()) << "the honest session was disturbed by: " << what;
  }

  std::unique_ptr<EnvServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Bystander> bystander_;
};

TEST_F(Robustness, GarbageBytesAreRefused) {
  Rng rng(1);
  for (int k = 0; k < 20; ++k) {
    std::string garbage(static_cast<std::size_t>(1 + rng.below(200)), '\0');
    for (char& c : garbage) c = static_cast<char>(rng.below(256));
    RawSession s(channel_);
    const grpc::Status status = s.exchange(garbage);
    // Bytes that happen to parse are a request of some kind, refused for its content; bytes that
    // do not parse never reach the session.
    EXPECT_FALSE(status.ok()) << "garbage " << k << " was answered";
    EXPECT_FALSE(status.error_message().empty());
    EXPECT_TRUE(bystander_->step());
  }
}

TEST_F(Robustness, UnparsableMessageIsRefused) {
  RawSession s(channel_);
  // Field 1 (handshake) as a length-delimited field claiming 100 bytes, then none.
  expect_refused(s, std::string("\x0a\x64", 2), Code::INVALID_ARGUMENT,
                 "a truncated length-delimited field");
}

TEST_F(Robustness, EveryTruncationOfAStepIsRefused) {
  const std::string step = bytes_of(discrete_step({1, 0, 1, 1}));
  for (std::size_t len = 0; len < step.size(); ++len) {
    auto s = running_session();
    const grpc::Status status = s->exchange(step.substr(0, len));
    EXPECT_FALSE(status.ok()) << "a step cut to " << len << " of " << step.size()
                              << " bytes was answered";
    EXPECT_EQ(status.error_code(), Code::INVALID_ARGUMENT) << describe(status);
    EXPECT_TRUE(bystander_->step());
  }
}

TEST_F(Robustness, OversizedMessageIsRefused) {
  auto s = running_session();
  wire::SessionRequest huge;
  huge.mutable_step()->mutable_discrete_actions()->Resize(kMaxMessageBytes, 1);
  expect_refused(*s, bytes_of(huge), Code::RESOURCE_EXHAUSTED, "a message over the size limit");
}

TEST_F(Robustness, OutOfOrderAndMalformedRequestsAreRefused) {
  struct Case {
    std::vector<wire::SessionRequest> before;
    wire::SessionRequest attack;
    Code code;
    std::string what;
  };
  const std::vector<Case> cases = {
      {{}, reset(1), Code::FAILED_PRECONDITION, "a reset before the handshake"},
      {{}, discrete_step({0, 0, 0, 0}), Code::FAILED_PRECONDITION, "a step before the handshake"},
      {{handshake()},
       discrete_step({0, 0, 0, 0}),
       Code::FAILED_PRECONDITION,
       "a step before any reset"},
      {{handshake()}, handshake(), Code::FAILED_PRECONDITION, "a second handshake"},
      {{handshake(), reset(1)}, wire::SessionRequest(), Code::INVALID_ARGUMENT, "an empty request"},
      {{handshake(), reset(1)},
       discrete_step({}),
       Code::INVALID_ARGUMENT,
       "a step with no actions"},
      {{handshake(), reset(1)},
       discrete_step({0, 1, 0}),
       Code::INVALID_ARGUMENT,
       "a step for 3 of 4 copies"},
      {{handshake(), reset(1)},
       discrete_step(std::vector<std::int64_t>(1000, 0)),
       Code::INVALID_ARGUMENT,
       "1000 actions"},
      {{handshake(), reset(1)},
       discrete_step({0, 1, 0, -1}),
       Code::INVALID_ARGUMENT,
       "a negative action"},
      {{handshake(), reset(1)},
       discrete_step({0, 1, 0, INT64_MAX}),
       Code::INVALID_ARGUMENT,
       "a huge action"},
      {{handshake(), reset(1)},
       continuous_step({NAN, 0, 0, 0}),
       Code::INVALID_ARGUMENT,
       "NaN actions"},
  };
  for (const Case& c : cases) {
    RawSession s(channel_);
    for (const auto& r : c.before) ASSERT_TRUE(s.exchange(bytes_of(r)).ok()) << c.what;
    expect_refused(s, bytes_of(c.attack), c.code, c.what);
  }
  wire::SessionRequest old_client = handshake();
  old_client.mutable_handshake()->set_protocol_version(0);
  RawSession s(channel_);
  expect_refused(s, bytes_of(old_client), Code::FAILED_PRECONDITION, "protocol_version unset");
}

TEST_F(Robustness, ContinuousActionsMustBeFinite) {
  auto pendulum =
      std::make_unique<EnvServer>(registered_env_maker("Pendulum-v1", {}, 2), EnvServerOptions{});
  auto channel = make_channel({pendulum->address(), "", "", kDefaultMaxMessageBytes});
  for (const float bad : {NAN, INFINITY, -INFINITY}) {
    RawSession s(channel);
    ASSERT_TRUE(s.exchange(bytes_of(handshake())).ok());
    ASSERT_TRUE(s.exchange(bytes_of(reset(1))).ok());
    expect_refused(s, bytes_of(continuous_step({0.5f, bad})), Code::INVALID_ARGUMENT,
                   "a non-finite torque");
  }
}

// Random mutations of valid requests, thrown from another thread while the honest session steps.
TEST_F(Robustness, MutatedRequestsNeverHurtTheServer) {
  const std::vector<std::string> seeds = {bytes_of(handshake()), bytes_of(reset(9)),
                                          bytes_of(discrete_step({1, 0, 1, 0}))};
  std::atomic<int> refused{0}, answered{0}, silent{0};
  std::thread attacker([&] {
    Rng rng(2);
    for (int k = 0; k < 300; ++k) {
      std::string msg = seeds[rng.below(seeds.size())];
      const int edits = 1 + static_cast<int>(rng.below(4));
      for (int e = 0; e < edits && !msg.empty(); ++e) {
        const std::size_t at = rng.below(msg.size());
        switch (rng.below(4)) {
          case 0:
            msg[at] = static_cast<char>(msg[at] ^ (1 << rng.below(8)));
            break;
          case 1:
            msg[at] = static_cast<char>(rng.below(256));
            break;
          case 2:
            msg.resize(at);
            break;
          default:
            msg.insert(at, msg.substr(at, rng.below(8)));
        }
      }
      auto s = std::make_unique<RawSession>(channel_);
      if (!s->exchange(seeds[0]).ok() || !s->exchange(seeds[1]).ok()) {
        ++silent;
        continue;
      }
      const grpc::Status status = s->exchange(msg);
      if (status.ok()) {
        ++answered;
      } else {
        ++refused;
        if (status.error_message().empty()) ++silent;
      }
    }
  });
  int agreed = 0;
  for (int t = 0; t < 400; ++t) agreed += bystander_->step();
  attacker.join();
  EXPECT_EQ(agreed, 400);
  EXPECT_EQ(silent.load(), 0) << "every refusal carries a message";
  EXPECT_EQ(refused + answered, 300);
  EXPECT_GT(refused.load(), 100);
  // The server is still whole: a new honest session works.
  Bystander another(server_->address());
  EXPECT_TRUE(another.step());
}

TEST_F(Robustness, SessionFloodIsRefusedAtTheLimit) {
  // The bystander holds one of the kMaxSessions places.
  std::vector<std::unique_ptr<RawSession>> sessions;
  for (int k = 0; k < kMaxSessions - 1; ++k) {
    sessions.push_back(std::make_unique<RawSession>(channel_));
    ASSERT_TRUE(sessions.back()->exchange(bytes_of(handshake())).ok()) << k;
  }
  RawSession extra(channel_);
  expect_refused(extra, bytes_of(handshake()), Code::RESOURCE_EXHAUSTED, "one session too many");
  sessions.pop_back();  // cancelled by the client
  sessions.clear();
  // Cancelled sessions stop counting once the server has seen the cancellation; a clean close is
  // counted off before its final status reaches the client.
  SessionClient polite(channel_, "");
  wire::SessionResponse response;
  ASSERT_TRUE(polite.call(handshake(), &response, kTimeoutS).ok());
  EXPECT_TRUE(polite.close(kTimeoutS).ok());
}

TEST_F(Robustness, AbruptDisconnectsLeaveTheServerServing) {
  for (int k = 0; k < 20; ++k) {
    auto s = running_session();
    s.reset();  // cancels mid-session, with a reset answered and nothing closed
    EXPECT_TRUE(bystander_->step());
  }
  Bystander another(server_->address());
  EXPECT_TRUE(another.step());
}

}  // namespace
}  // namespace trustrl::server
