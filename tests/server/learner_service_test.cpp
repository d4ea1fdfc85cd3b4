// The learner service in this process, driven by a raw gRPC client (bad input of every kind,
// retries, staleness, chunking) and by ActorLoop (the asynchronous mode end to end).

#include "server/distributed/learner_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <thread>

#include "agents/env_actor.h"
#include "agents/trainer.h"
#include "core/error.h"
#include "envs/registry.h"
#include "server/distributed/actor_loop.h"
#include "server/distributed/learner_convert.h"
#include "server/env_protocol/session_client.h"
#include "server/env_protocol/spec_hash.h"
#include "tests/server/loopback_peer.h"
#include "trustrl/learner/v1/learner.grpc.pb.h"

namespace trustrl::server {
namespace {

namespace fs = std::filesystem;

agents::TrainConfig config_for(const std::string& extra = "") {
  return agents::parse_train_config(R"(
seed: 3
total_steps: 2048
env: {id: CartPole-v1, num_envs: 4}
ppo: {num_steps: 16, num_minibatches: 2, update_epochs: 2}
run: {tensorboard: false}
)" + extra);
}

// A learner service on loopback for `config`, with a raw client.
struct Harness {
  explicit Harness(agents::TrainConfig c, LearnerServiceOptions options = {})
      : config(std::move(c)) {
    env = agents::probe_env(config, agents::local_env_factory());
    learner = agents::make_learner(config, env);
    service = std::make_unique<LearnerService>(
        agents::ChannelSetup{config, env, 0, 1, static_cast<int>(config.env.num_envs)}, options);
    service->publish(learner->snapshot());
    stub = learner_wire::LearnerService::NewStub(
        make_channel({service->address(), "", "", kDefaultMaxMessageBytes}));
  }

  grpc::Status join(const std::string& id, std::uint64_t incarnation,
                    learner_wire::JoinResponse* out = nullptr, std::uint64_t hash = 0,
                    const std::string& token = "") {
    return join_via(*stub, id, incarnation, out, hash, token);
  }

  grpc::Status join_via(learner_wire::LearnerService::Stub& client, const std::string& id,
                        std::uint64_t incarnation, learner_wire::JoinResponse* out = nullptr,
                        std::uint64_t hash = 0, const std::string& token = "") {
    grpc::ClientContext context;
    add_token(context, token);
    learner_wire::JoinRequest request;
    request.set_protocol_version(1);
    request.set_actor_id(id);
    request.set_incarnation(incarnation);
    request.set_spec_hash(hash ? hash : service->run_info().spec_hash());
    request.set_num_envs(static_cast<int>(config.env.num_envs));
    learner_wire::JoinResponse response;
    return client.Join(&context, request, out ? out : &response);
  }

  // A real rollout of `version` from a local actor.
  agents::Rollout rollout(std::int64_t version, std::uint64_t seed = 1) {
    agents::EnvActor actor(
        envs::LocalVectorEnv::make("CartPole-v1", {}, static_cast<int>(config.env.num_envs), 1),
        seed);
    actor.set_policy(learner->snapshot());
    agents::Rollout r;
    actor.collect(static_cast<int>(config.ppo.num_steps), r);
    r.policy_version = version;
    return r;
  }

  grpc::Status push(const std::string& id, std::uint64_t incarnation, std::int64_t sequence,
                    const agents::Rollout& r, learner_wire::PushRolloutResponse* response,
                    std::size_t chunk = 1 << 20) {
    learner_wire::Rollout message;
    to_wire(r, &message);
    return push_bytes(id, incarnation, sequence, r.policy_version, message.SerializeAsString(),
                      response, chunk);
  }

  grpc::Status push_bytes(const std::string& id, std::uint64_t incarnation, std::int64_t sequence,
                          std::int64_t version, const std::string& bytes,
                          learner_wire::PushRolloutResponse* response,
                          std::size_t chunk = 1 << 20) {
    grpc::ClientContext context;
    auto writer = stub->PushRollout(&context, response);
    learner_wire::RolloutChunk c;
    c.mutable_header()->set_actor_id(id);
    c.mutable_header()->set_incarnation(incarnation);
    c.mutable_header()->set_sequence(sequence);
    c.mutable_header()->set_policy_version(version);
    c.mutable_header()->set_total_bytes(static_cast<std::int64_t>(bytes.size()));
    std::size_t offset = 0;
    do {
      c.set_data(bytes.substr(offset, chunk));
      offset += c.data().size();
      if (!writer->Write(c)) break;
      c.clear_header();
    } while (offset < bytes.size());
    writer->WritesDone();
    return writer->Finish();
  }

  agents::TrainConfig config;
  agents::RunEnv env;
  std::unique_ptr<agents::Learner> learner;
  std::unique_ptr<LearnerService> service;
  std::unique_ptr<learner_wire::LearnerService::Stub> stub;
};

void expect_status(const grpc::Status& s, grpc::StatusCode code, const std::string& text) {
  EXPECT_EQ(s.error_code(), code) << describe(s);
  EXPECT_NE(s.error_message().find(text), std::string::npos) << describe(s);
}

TEST(LearnerService, JoinChecksSpecHashProtocolAndIdentity) {
  Harness h(config_for());
  learner_wire::JoinResponse joined;
  ASSERT_TRUE(h.join("a", 1, &joined).ok());
  EXPECT_EQ(joined.slot(), 0);
  EXPECT_EQ(joined.env_seed(), 3u)
      << "the first actor's envs take the run's seed, as trustrl train's do";
  EXPECT_EQ(joined.run().env_id(), "CartPole-v1");
  EXPECT_EQ(joined.run().num_steps(), 16);
  EXPECT_EQ(joined.run().actor_envs(), 4);

  // A different env: the message names the field that differs.
  envs::EnvSpec pendulum = envs::make("Pendulum-v1")->spec();
  grpc::ClientContext context;
  learner_wire::JoinRequest request;
  request.set_protocol_version(1);
  request.set_actor_id("b");
  request.set_incarnation(1);
  *request.mutable_spec() = to_wire(pendulum);
  request.set_spec_hash(spec_hash(request.spec()));
  request.set_num_envs(2);
  learner_wire::JoinResponse response;
  expect_status(h.stub->Join(&context, request, &response), grpc::StatusCode::FAILED_PRECONDITION,
                "action_space: expected Discrete(2)");

  request.set_spec_hash(h.service->run_info().spec_hash());
  request.set_protocol_version(2);
  grpc::ClientContext context2;
  expect_status(h.stub->Join(&context2, request, &response), grpc::StatusCode::FAILED_PRECONDITION,
                "protocol version");
  expect_status(h.join("", 1), grpc::StatusCode::INVALID_ARGUMENT, "actor_id");

  // A newer incarnation replaces the member; an older one is refused.
  ASSERT_TRUE(h.join("a", 5, &joined).ok());
  EXPECT_EQ(joined.slot(), 0);
  expect_status(h.join("a", 4), grpc::StatusCode::FAILED_PRECONDITION, "stale");
  learner_wire::PushRolloutResponse pushed;
  expect_status(h.push("a", 1, 1, h.rollout(0), &pushed), grpc::StatusCode::FAILED_PRECONDITION,
                "stale");
  expect_status(h.push("nobody", 1, 1, h.rollout(0), &pushed), grpc::StatusCode::NOT_FOUND,
                "join again");
  EXPECT_EQ(h.service->members(), 1);
}

TEST(LearnerService, BadRolloutsAreRefusedByNameAndTheServiceGoesOn) {
  Harness h(config_for());
  ASSERT_TRUE(h.join("a", 1).ok());
  learner_wire::PushRolloutResponse response;
  std::int64_t sequence = 0;

  agents::Rollout nan = h.rollout(0);
  nan.observations[5] = NAN;
  expect_status(h.push("a", 1, ++sequence, nan, &response), grpc::StatusCode::INVALID_ARGUMENT,
                "'observations' has a non-finite value at index 5");

  agents::Rollout action = h.rollout(0);
  action.discrete_actions[3] = 7;
  expect_status(h.push("a", 1, ++sequence, action, &response), grpc::StatusCode::INVALID_ARGUMENT,
                "discrete_actions row 3 (agent 0) is 7, outside Discrete(2)");

  agents::Rollout short_rows = h.rollout(0);
  short_rows.rewards.pop_back();
  expect_status(h.push("a", 1, ++sequence, short_rows, &response),
                grpc::StatusCode::INVALID_ARGUMENT, "'rewards' has");

  agents::Rollout steps = h.rollout(0);
  steps = agents::Rollout();
  steps.allocate(8, 4, 1, 4, 1, true);
  expect_status(h.push("a", 1, ++sequence, steps, &response), grpc::StatusCode::INVALID_ARGUMENT,
                "rollout.num_steps is 8, this run's rollouts have 16");

  expect_status(h.push("a", 1, ++sequence, h.rollout(3), &response),
                grpc::StatusCode::INVALID_ARGUMENT, "from the future");
  expect_status(h.push_bytes("a", 1, ++sequence, 0, "not a rollout at all", &response),
                grpc::StatusCode::INVALID_ARGUMENT, "not a valid trustrl.learner.v1.Rollout");
  expect_status(h.push_bytes("a", 1, ++sequence, 0, std::string(1 << 22, 'x'), &response),
                grpc::StatusCode::RESOURCE_EXHAUSTED, "exceeds");
  EXPECT_EQ(h.service->accepted_rollouts(), 0);

  // Still serving: a good rollout is taken.
  ASSERT_TRUE(h.push("a", 1, ++sequence, h.rollout(0), &response).ok());
  EXPECT_TRUE(response.accepted()) << response.reason();
  EXPECT_EQ(h.service->accepted_rollouts(), 1);
}

TEST(LearnerService, ARetriedPushIsTakenOnceAndChunksReassemble) {
  agents::TrainConfig config = config_for("distributed: {chunk_bytes: 1024}\n");
  Harness h(config);
  ASSERT_TRUE(h.join("a", 1).ok());
  const agents::Rollout r = h.rollout(0);
  learner_wire::PushRolloutResponse first, again;
  ASSERT_TRUE(h.push("a", 1, 1, r, &first, 700).ok());  // several chunks
  ASSERT_TRUE(h.push("a", 1, 1, r, &again, 700).ok());  // the reply was "lost": same sequence
  EXPECT_TRUE(first.accepted());
  EXPECT_FALSE(first.duplicate());
  EXPECT_TRUE(again.accepted());
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(h.service->accepted_rollouts(), 1);

  agents::Batch batch;
  ASSERT_TRUE(h.service->next_batch(4, 16, batch));
  EXPECT_EQ(batch.rollout.observations, r.observations) << "the batch is that one rollout, once";
  EXPECT_EQ(batch.actors, 1);

  // Parameters come in chunks of at most chunk_bytes and make up the snapshot.
  grpc::ClientContext context;
  learner_wire::GetParametersRequest request;
  request.set_actor_id("a");
  request.set_incarnation(1);
  request.set_have_version(-1);
  auto reader = h.stub->GetParameters(&context, request);
  learner_wire::ParametersChunk chunk;
  std::string bytes;
  int chunks = 0;
  while (reader->Read(&chunk)) {
    EXPECT_LE(chunk.data().size(), 1024u);
    EXPECT_EQ(chunk.offset(), static_cast<std::int64_t>(bytes.size()));
    bytes += chunk.data();
    ++chunks;
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_GT(chunks, 2);
  ByteWriter expected;
  h.learner->snapshot().save(expected);
  EXPECT_EQ(std::vector<std::uint8_t>(bytes.begin(), bytes.end()), expected.bytes());
  // Nothing is sent again for the version the actor holds.
  grpc::ClientContext context2;
  request.set_have_version(0);
  auto again_reader = h.stub->GetParameters(&context2, request);
  ASSERT_TRUE(again_reader->Read(&chunk));
  EXPECT_EQ(chunk.total_bytes(), 0);
  EXPECT_FALSE(again_reader->Read(&chunk));
  ASSERT_TRUE(again_reader->Finish().ok());
}

TEST(LearnerService, APushCutShortIsDroppedWhole) {
  Harness h(config_for());
  ASSERT_TRUE(h.join("a", 1).ok());
  learner_wire::Rollout message;
  to_wire(h.rollout(0), &message);
  const std::string bytes = message.SerializeAsString();
  {
    grpc::ClientContext context;
    learner_wire::PushRolloutResponse response;
    auto writer = h.stub->PushRollout(&context, &response);
    learner_wire::RolloutChunk c;
    c.mutable_header()->set_actor_id("a");
    c.mutable_header()->set_incarnation(1);
    c.mutable_header()->set_sequence(1);
    c.mutable_header()->set_total_bytes(static_cast<std::int64_t>(bytes.size()));
    c.set_data(bytes.substr(0, bytes.size() / 2));
    ASSERT_TRUE(writer->Write(c));
    writer->WritesDone();  // the actor "died" half way
    EXPECT_FALSE(writer->Finish().ok());
  }
  EXPECT_EQ(h.service->accepted_rollouts(), 0);
  learner_wire::PushRolloutResponse response;
  ASSERT_TRUE(h.push("a", 1, 1, h.rollout(0), &response).ok())
      << "the sequence number was not used up";
  EXPECT_TRUE(response.accepted());
  EXPECT_FALSE(response.duplicate());
}

TEST(LearnerService, SynchronousModeTakesOnlyTheCurrentVersion) {
  Harness h(config_for());
  ASSERT_TRUE(h.join("a", 1).ok());
  agents::PolicySnapshot next = h.learner->snapshot();
  next.version = 1;
  h.service->publish(next);
  learner_wire::PushRolloutResponse response;
  ASSERT_TRUE(h.push("a", 1, 1, h.rollout(0), &response).ok());
  EXPECT_FALSE(response.accepted());
  EXPECT_NE(response.reason().find("stale: acted with policy version 0, the learner is at 1"),
            std::string::npos)
      << response.reason();
  ASSERT_TRUE(h.push("a", 1, 2, h.rollout(1), &response).ok());
  EXPECT_TRUE(response.accepted());
  ASSERT_TRUE(h.push("a", 1, 3, h.rollout(1), &response).ok());
  EXPECT_FALSE(response.accepted());
  EXPECT_NE(response.reason().find("already complete"), std::string::npos) << response.reason();
  agents::Batch batch;
  ASSERT_TRUE(h.service->next_batch(4, 16, batch));
  EXPECT_EQ(batch.discarded_steps, 2 * 64) << "the stale and the unneeded rollout";
}

// A member's heartbeat stream, held open (closing it ends the membership).
struct Heartbeats {
  Heartbeats(Harness& h, const std::string& id) : stream(h.stub->Heartbeat(&context)) {
    beat.set_actor_id(id);
    beat.set_incarnation(1);
  }
  ~Heartbeats() {
    context.TryCancel();
    stream->Finish().ok();
  }
  // The rollouts asked of this member so far, as the next directive says.
  std::int64_t requested() {
    learner_wire::HeartbeatResponse directive;
    EXPECT_TRUE(stream->Write(beat));
    EXPECT_TRUE(stream->Read(&directive));
    return directive.rollouts_requested();
  }
  grpc::ClientContext context;
  std::unique_ptr<
      grpc::ClientReaderWriter<learner_wire::HeartbeatRequest, learner_wire::HeartbeatResponse>>
      stream;
  learner_wire::HeartbeatRequest beat;
};

TEST(LearnerService, ABatchBeginsOnlyWithMinActorsMembers) {
  LearnerServiceOptions options;
  options.min_actors = 2;
  Harness h(config_for(), options);
  ASSERT_TRUE(h.join("a", 1).ok());
  Heartbeats a(h, "a");
  EXPECT_EQ(a.requested(), 0) << "one member of two: nothing asked yet";
  ASSERT_TRUE(h.join("b", 1).ok());
  Heartbeats b(h, "b");
  // Each has the whole batch's 4 copies: one of them is asked.
  EXPECT_EQ(a.requested() + b.requested(), 1);
  options.min_actors = 3;
  options.max_actors = 2;
  EXPECT_THROW(Harness(config_for(), options), Error);
}

TEST(LearnerService, AJoinAfterTheRunIsToldItIsOver) {
  LearnerServiceOptions options;
  options.finish_grace_s = 0.1;
  Harness h(config_for(), options);
  ASSERT_TRUE(h.join("a", 1).ok());
  h.service->finish();
  // An actor cut off just before the end learns that the run is over, not that it is refused.
  expect_status(h.join("late", 1), grpc::StatusCode::OUT_OF_RANGE, "the run is over");
}

TEST(LearnerService, AsynchronousModeRefusesRolloutsOlderThanTheBound) {
  Harness h(config_for("distributed: {mode: async, max_staleness: 1}\n"));
  ASSERT_TRUE(h.join("a", 1).ok());
  agents::PolicySnapshot snapshot = h.learner->snapshot();
  for (std::int64_t v = 1; v <= 3; ++v) {
    snapshot.version = v;
    h.service->publish(snapshot);
  }
  learner_wire::PushRolloutResponse response;
  ASSERT_TRUE(h.push("a", 1, 1, h.rollout(1), &response).ok());
  EXPECT_FALSE(response.accepted());
  EXPECT_NE(response.reason().find("takes versions >= 2"), std::string::npos) << response.reason();
  ASSERT_TRUE(h.push("a", 1, 2, h.rollout(2), &response).ok());
  EXPECT_TRUE(response.accepted()) << response.reason();
  agents::Batch batch;
  ASSERT_TRUE(h.service->next_batch(4, 16, batch));
  EXPECT_EQ(batch.max_version_lag, 1);
  EXPECT_DOUBLE_EQ(batch.mean_version_lag, 1.0);
}

TEST(LearnerService, SecurityTokenAndLoopback) {
  LearnerServiceOptions open;
  open.listen = "0.0.0.0:0";
  agents::TrainConfig config = config_for();
  const agents::RunEnv env = agents::probe_env(config, agents::local_env_factory());
  try {
    LearnerService service(agents::ChannelSetup{config, env, 0, 1, 4}, open);
    FAIL() << "a learner reachable from other machines without a token";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("refusing to listen on 0.0.0.0:0 without a token"),
              std::string::npos);
  }
  LearnerServiceOptions guarded;
  guarded.token = "s3cret";
  Harness h(config, guarded);
  expect_status(h.join("a", 1), grpc::StatusCode::UNAUTHENTICATED, "needs a token");
  expect_status(h.join("a", 1, nullptr, 0, "wrong"), grpc::StatusCode::UNAUTHENTICATED,
                "wrong token");
  EXPECT_TRUE(h.join("a", 1, nullptr, 0, "s3cret").ok());
}

TEST(LearnerService, ServesOverTls) {
  const fs::path dir =
      fs::temp_directory_path() / ("trustrl_learner_tls_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "
      "/CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
      (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string() + " 2>/dev/null";
  // openssl is a test dependency (scripts/setup.sh): without it TLS would go untested, so fail.
  ASSERT_EQ(std::system(command.c_str()), 0)
      << "the openssl tool is missing (scripts/setup.sh installs it)";
  LearnerServiceOptions options;
  options.tls_cert_file = dir / "cert.pem";
  options.tls_key_file = dir / "key.pem";
  Harness h(config_for(), options);
  auto describe_with = [&](const std::string& ca) {
    auto stub = learner_wire::LearnerService::NewStub(
        make_channel({h.service->address(), "", ca, kDefaultMaxMessageBytes}));
    grpc::ClientContext context;
    context.set_deadline(deadline_after(5));
    learner_wire::DescribeResponse response;
    return stub->Describe(&context, learner_wire::DescribeRequest(), &response);
  };
  EXPECT_FALSE(describe_with("").ok()) << "a plaintext actor cannot talk to a TLS learner";
  EXPECT_TRUE(describe_with((dir / "cert.pem").string()).ok());
  fs::remove_all(dir);
}

// Asynchronous training end to end, in one process: an ActorLoop thread never waits for the
// learner, so it acts one version behind; the learner logs the lag and KL(behaviour || current).
TEST(LearnerService, AsynchronousTrainingLogsLagAndBehaviourKl) {
  const fs::path dir = fs::temp_directory_path() / ("trustrl_async_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  agents::TrainConfig config = config_for("distributed: {mode: async, max_staleness: 2}\n");
  config.total_steps = 64 * 20;
  agents::TrainerOptions options;
  options.progress = false;
  options.verbose = false;
  LearnerService* service = nullptr;
  options.make_channel = [&](const agents::ChannelSetup& setup) {
    auto s = std::make_unique<LearnerService>(setup, LearnerServiceOptions{});
    service = s.get();
    return s;
  };
  auto trainer = agents::Trainer::start(config, dir, options);
  ActorLoopOptions actor;
  actor.learner = service->address();
  actor.actor_id = "async";
  std::thread thread([&] { ActorLoop(actor).run(); });
  trainer->run();
  thread.join();
  std::ifstream csv(dir / "metrics.csv");
  std::string header, line;
  std::getline(csv, header);
  std::vector<std::string> names;
  {
    std::stringstream ss(header);
    std::string cell;
    while (std::getline(ss, cell, ',')) names.push_back(cell);
  }
  const auto column = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin());
  };
  int rows = 0;
  double lag_total = 0;
  while (std::getline(csv, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    const double lag = std::stod(cells.at(column("dist/max_version_lag")));
    EXPECT_LE(lag, 2) << "row " << rows;
    lag_total += lag;
    EXPECT_TRUE(std::isfinite(std::stod(cells.at(column("kl/behaviour")))));
    ++rows;
  }
  EXPECT_EQ(rows, 20);
  EXPECT_GT(lag_total, 0) << "an actor that never waits acts with older versions";
  fs::remove_all(dir);
}

TEST(LearnerService, PoisonedRolloutsAreRefusedNamingTheField) {
  Harness h(config_for());
  ASSERT_TRUE(h.join("a", 1).ok());
  learner_wire::PushRolloutResponse response;
  std::int64_t sequence = 0;
  agents::Rollout r = h.rollout(0);
  r.log_probs[2] = -1e30F;
  expect_status(h.push("a", 1, ++sequence, r, &response), grpc::StatusCode::INVALID_ARGUMENT,
                "rollout.log_probs[2] is -1e+30, outside [");
  r = h.rollout(0);
  r.log_probs[0] = 2.0F;
  expect_status(h.push("a", 1, ++sequence, r, &response), grpc::StatusCode::INVALID_ARGUMENT,
                "rollout.log_probs[0] is 2");
  r = h.rollout(0);
  r.rewards[5] = 3e38F;
  expect_status(h.push("a", 1, ++sequence, r, &response), grpc::StatusCode::INVALID_ARGUMENT,
                "rollout.rewards[5] is 3e+38, beyond +-1e+06 (distributed.reward_bound)");
  r = h.rollout(0);
  r.values[1] = 1e30F;
  expect_status(h.push("a", 1, ++sequence, r, &response), grpc::StatusCode::INVALID_ARGUMENT,
                "rollout.values[1] is 1e+30");
  EXPECT_EQ(h.service->accepted_rollouts(), 0);
  // An honest rollout from the same actor is still taken.
  ASSERT_TRUE(h.push("a", 1, ++sequence, h.rollout(0), &response).ok());
  EXPECT_TRUE(response.accepted()) << response.reason();

  // The bound is configurable.
  Harness tight(config_for("distributed: {reward_bound: 0.5}\n"));
  ASSERT_TRUE(tight.join("a", 1).ok());
  expect_status(tight.push("a", 1, 1, tight.rollout(0), &response),
                grpc::StatusCode::INVALID_ARGUMENT, "beyond +-0.5 (distributed.reward_bound)");
}

TEST(LearnerService, AbsurdIncarnationsAreRefusedAndCannotLockAnActorOut) {
  Harness h(config_for());
  expect_status(h.join("a", std::numeric_limits<std::uint64_t>::max()),
                grpc::StatusCode::INVALID_ARGUMENT, "incarnation 18446744073709551615 is outside");
  expect_status(h.join("a", kMaxIncarnation + 1), grpc::StatusCode::INVALID_ARGUMENT,
                "is outside [1, 4611686018427387904]");
  // The largest valid one joins, and while it is a member an older one is stale ...
  ASSERT_TRUE(h.join("a", kMaxIncarnation).ok());
  expect_status(h.join("a", 7), grpc::StatusCode::FAILED_PRECONDITION, "stale");
  // ... but once it has left, the id is free again: one bad join does not lock it out.
  grpc::ClientContext context;
  learner_wire::LeaveRequest leave;
  leave.set_actor_id("a");
  leave.set_incarnation(kMaxIncarnation);
  learner_wire::LeaveResponse left;
  ASSERT_TRUE(h.stub->Leave(&context, leave, &left).ok());
  ASSERT_TRUE(h.join("a", 7).ok());
  learner_wire::PushRolloutResponse response;
  ASSERT_TRUE(h.push("a", 7, 1, h.rollout(0), &response).ok());
  EXPECT_TRUE(response.accepted()) << response.reason();
}

TEST(LearnerService, OneHostCannotTakeEveryActorPlace) {
  LearnerServiceOptions options;
  options.max_actors_per_peer = 2;
  Harness h(config_for(), options);
  ASSERT_TRUE(h.join("a", 1).ok());
  ASSERT_TRUE(h.join("b", 1).ok());
  const grpc::Status third = h.join("c", 1);
  expect_status(third, grpc::StatusCode::RESOURCE_EXHAUSTED,
                "join: this learner already has its maximum of 2 actors from ipv4:127.0.0.1; "
                "stop one or raise the limit (--max-actors-per-peer)");
  // Another host (127.0.0.2) is still served ...
  const int port = std::stoi(h.service->address().substr(h.service->address().rfind(':') + 1));
  auto other_channel = testing::channel_from("127.0.0.2", port);
  ASSERT_TRUE(other_channel);
  auto other = learner_wire::LearnerService::NewStub(other_channel);
  EXPECT_TRUE(h.join_via(*other, "d", 1).ok());
  // ... a member of the full host may join again (it replaces itself), and a leave frees a place.
  EXPECT_TRUE(h.join("a", 2).ok());
  grpc::ClientContext context;
  learner_wire::LeaveRequest leave;
  leave.set_actor_id("b");
  leave.set_incarnation(1);
  learner_wire::LeaveResponse left;
  ASSERT_TRUE(h.stub->Leave(&context, leave, &left).ok());
  EXPECT_TRUE(h.join("c", 1).ok());
  EXPECT_EQ(h.service->members(), 3);
}

TEST(LearnerService, APushAfterASequenceJumpIsAnsweredWithWhatHappened) {
  Harness h(config_for("distributed: {mode: async, max_staleness: 10}\n"));
  ASSERT_TRUE(h.join("a", 1).ok());
  learner_wire::PushRolloutResponse response;
  // A jump far past the newest push is refused, naming the sequence; it uses nothing up.
  expect_status(h.push("a", 1, std::int64_t{1} << 62, h.rollout(0), &response),
                grpc::StatusCode::INVALID_ARGUMENT, "sequence 4611686018427387904 jumps more than");
  ASSERT_TRUE(h.push("a", 1, 4, h.rollout(0), &response).ok());
  EXPECT_TRUE(response.accepted()) << response.reason();
  EXPECT_FALSE(response.duplicate());
  ASSERT_TRUE(h.push("a", 1, 9, h.rollout(0), &response).ok());  // a small gap is fine
  EXPECT_TRUE(response.accepted()) << response.reason();
  // An older sequence is not a retry of the newest push: it is not taken, and says so.
  ASSERT_TRUE(h.push("a", 1, 5, h.rollout(0), &response).ok());
  EXPECT_FALSE(response.accepted());
  EXPECT_TRUE(response.duplicate());
  EXPECT_NE(response.reason().find("not taken: sequence 5 is older than"), std::string::npos)
      << response.reason();
  // A retry of the newest is answered as the first time.
  ASSERT_TRUE(h.push("a", 1, 9, h.rollout(0), &response).ok());
  EXPECT_TRUE(response.accepted());
  EXPECT_TRUE(response.duplicate());
  EXPECT_EQ(h.service->accepted_rollouts(), 2);
}

}  // namespace
}  // namespace trustrl::server
