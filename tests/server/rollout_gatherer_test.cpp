// The rollout gatherer without sockets: joins and caps, incarnations, sequence numbers, batch
// assembly, departures and stragglers, driven through its plain structs.

#include "server/gatherer/rollout_gatherer.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "agents/env_actor.h"
#include "agents/trainer.h"
#include "envs/vector_env.h"
#include "server/gatherer/learner_protocol.h"

namespace trustrl::server {
namespace {

// Records what the gatherer sends to one member's heartbeat stream.
class RecordingSink final : public DirectiveSink {
 public:
  void send(const Directive& directive) override {
    std::lock_guard lock(mutex_);
    last_ = directive;
    changed_.notify_all();
  }
  void close(const std::optional<Refusal>& why) override {
    std::lock_guard lock(mutex_);
    closed_ = true;
    why_ = why;
  }
  std::int64_t requested() {
    std::lock_guard lock(mutex_);
    return last_.rollouts_requested;
  }
  // Blocks until the member has been asked for `n` rollouts (bounded: a hang fails the test).
  bool wait_for_requested(std::int64_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(60),
                             [&] { return last_.rollouts_requested >= n; });
  }
  bool closed() {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  std::optional<Refusal> why() {
    std::lock_guard lock(mutex_);
    return why_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  Directive last_;
  bool closed_ = false;
  std::optional<Refusal> why_;
};

struct Fixture {
  explicit Fixture(const std::string& extra = "",
                   const std::function<void(GathererSettings&)>& adjust = {})
      : config(agents::parse_train_config(R"(
seed: 3
total_steps: 2048
env: {id: CartPole-v1, num_envs: 4}
ppo: {num_steps: 16, num_minibatches: 2, update_epochs: 2}
run: {tensorboard: false}
)" + extra)) {
    env = agents::probe_env(config, agents::local_env_factory());
    learner = agents::make_learner(config, env);
    GathererSettings settings;
    settings.distributed = config.distributed;
    settings.batch_envs = 4;
    settings.num_steps = 16;
    settings.gamma = config.ppo.gamma;
    settings.seed = config.seed;
    settings.finish_grace_s = 0;
    settings.log_batches = true;
    settings.log = [this](const std::string& line) {
      std::lock_guard lock(log_mutex);
      lines.push_back(line);
    };
    if (adjust) adjust(settings);
    gatherer = std::make_unique<RolloutGatherer>(settings);
    gatherer->publish(learner->snapshot());
  }

  JoinAnswer join(const std::string& id, std::uint64_t incarnation, int num_envs = 4,
                  const std::string& host = "10.0.0.1") {
    return gatherer->join({id, incarnation, num_envs, host, "ipv4:" + host + ":5000"});
  }

  // A member with a heartbeat stream.
  std::shared_ptr<RecordingSink> member(const std::string& id, int num_envs = 4,
                                        const std::string& host = "10.0.0.1") {
    join(id, 1, num_envs, host);
    auto sink = std::make_shared<RecordingSink>();
    sink->send(gatherer->heartbeat({id, 1, 0, 0}, sink));  // the heartbeat's answer
    return sink;
  }

  // A real rollout of `num_envs` CartPole copies, labelled with `version`.
  agents::Rollout rollout(std::int64_t version, int num_envs = 4, std::uint64_t seed = 1) {
    agents::EnvActor actor(envs::LocalVectorEnv::make("CartPole-v1", {}, num_envs, 1), seed);
    actor.set_policy(learner->snapshot());
    agents::Rollout r;
    actor.collect(16, r);
    r.policy_version = version;
    return r;
  }

  // What a push is answered: admission, then the rollout.
  PushAnswer push(const std::string& id, std::uint64_t incarnation, std::int64_t sequence,
                  agents::Rollout r) {
    const PushHeader header{id, incarnation, sequence, r.policy_version};
    const PushAdmission admission = gatherer->admit_push(header);
    if (admission.answer) return *admission.answer;
    EXPECT_EQ(admission.num_envs, r.num_envs);
    return gatherer->take_push(header, std::move(r), 1000);
  }

  bool logged(const std::string& text) {
    std::lock_guard lock(log_mutex);
    for (const auto& line : lines)
      if (line.find(text) != std::string::npos) return true;
    return false;
  }

  agents::TrainConfig config;
  agents::RunEnv env;
  std::unique_ptr<agents::Learner> learner;
  std::mutex log_mutex;
  std::vector<std::string> lines;
  std::unique_ptr<RolloutGatherer> gatherer;
};

// Runs `call`, expecting a Refusal of `code` whose message contains `text`.
template <class Call>
void expect_refusal(Call&& call, RefusalCode code, const std::string& text) {
  try {
    call();
    ADD_FAILURE() << "no refusal; expected one containing '" << text << "'";
  } catch (const Refusal& r) {
    EXPECT_EQ(r.code(), code) << r.what();
    EXPECT_NE(std::string(r.what()).find(text), std::string::npos) << r.what();
  }
}

TEST(RolloutGatherer, JoinsAreCheckedAndCappedInAllAndPerHost) {
  Fixture f("", [](GathererSettings& s) {
    s.max_actors = 2;
    s.max_actors_per_peer = 1;
  });
  expect_refusal([&] { f.join("", 1); }, RefusalCode::kInvalidArgument,
                 "actor_id must be 1 to 128");
  expect_refusal([&] { f.join("a\n", 1); }, RefusalCode::kInvalidArgument, "printable ASCII");
  expect_refusal([&] { f.join("a", 0); }, RefusalCode::kInvalidArgument,
                 "incarnation 0 is outside");
  expect_refusal([&] { f.join("a", kMaxIncarnation + 1); }, RefusalCode::kInvalidArgument,
                 "is outside [1, 4611686018427387904]");
  expect_refusal([&] { f.join("a", 1, 0); }, RefusalCode::kInvalidArgument,
                 "num_envs must be in [1, 65536], got 0");
  EXPECT_EQ(f.gatherer->members(), 0) << "a refused join makes no member";

  const JoinAnswer a = f.join("a", 1, 4, "10.0.0.1");
  EXPECT_EQ(a.slot, 0);
  EXPECT_EQ(a.env_seed, 3u) << "the first actor of rank 0 takes the run's seed";
  EXPECT_EQ(a.policy_version, 0);
  expect_refusal([&] { f.join("b", 1, 4, "10.0.0.1"); }, RefusalCode::kResourceExhausted,
                 "maximum of 1 actors from 10.0.0.1");
  const JoinAnswer b = f.join("b", 1, 4, "10.0.0.2");
  EXPECT_EQ(b.slot, 1);
  EXPECT_NE(b.env_seed, a.env_seed);
  expect_refusal([&] { f.join("c", 1, 4, "10.0.0.3"); }, RefusalCode::kResourceExhausted,
                 "maximum of 2 actors; stop one or raise the limit (--max-actors)");
  EXPECT_EQ(f.gatherer->members(), 2);

  // A slot freed is taken by the next join; a member coming back gets fresh env seeds.
  f.gatherer->leave("a", 1);
  const JoinAnswer c = f.join("c", 1, 4, "10.0.0.3");
  EXPECT_EQ(c.slot, 0);
  EXPECT_NE(c.env_seed, a.env_seed) << "the second join of slot 0";
  f.gatherer->leave("c", 1);
  const JoinAnswer again = f.join("a", 2, 4, "10.0.0.1");
  EXPECT_EQ(again.slot, 0) << "its last slot, free again";
  EXPECT_NE(again.env_seed, a.env_seed);
  EXPECT_NE(again.env_seed, c.env_seed);
  EXPECT_TRUE(f.logged("actor 'a' (incarnation 1) joined from ipv4:10.0.0.1:5000: slot 0"));
}

// Heartbeats carry each actor's running totals of cut episodes and unstable env steps: the
// gatherer keeps each member's largest, sums the members, and keeps what departed ones reported.
TEST(RolloutGatherer, CutEpisodesAndUnstableStepsAreSummedOverActorsPastAndPresent) {
  Fixture f;
  auto a = f.member("a"), b = f.member("b");
  f.gatherer->heartbeat({"a", 1, 0, 2, 5}, a);
  f.gatherer->heartbeat({"b", 1, 0, 1, 7}, b);
  f.gatherer->heartbeat({"a", 1, 0, 1, 4}, a);  // a late, smaller report changes nothing
  EXPECT_EQ(f.gatherer->cut_episodes(), 3);
  EXPECT_EQ(f.gatherer->unstable_steps(), 12);
  f.gatherer->leave("a", 1);
  EXPECT_EQ(f.gatherer->cut_episodes(), 3);
  EXPECT_EQ(f.gatherer->unstable_steps(), 12);
  f.gatherer->heartbeat({"b", 1, 0, 1, 9}, b);
  EXPECT_EQ(f.gatherer->unstable_steps(), 14);
}

TEST(RolloutGatherer, StaleIncarnationsAreRefusedAndANewerOneReplacesTheMember) {
  Fixture f;
  f.join("a", 5);
  auto stream = std::make_shared<RecordingSink>();
  f.gatherer->heartbeat({"a", 5, 0, 0}, stream);
  expect_refusal([&] { f.join("a", 4); }, RefusalCode::kFailedPrecondition,
                 "incarnation 5 of this actor is a member");
  expect_refusal(
      [&] {
        f.gatherer->heartbeat({"a", 4, 0, 0}, stream);
      },
      RefusalCode::kFailedPrecondition, "is stale: incarnation 5");
  expect_refusal(
      [&] {
        f.gatherer->heartbeat({"a", 6, 0, 0}, stream);
      },
      RefusalCode::kNotFound, "is not a member");
  expect_refusal([&] { f.gatherer->parameters("nobody", 1); }, RefusalCode::kNotFound,
                 "join again");
  expect_refusal([&] { f.push("a", 4, 1, f.rollout(0)); }, RefusalCode::kFailedPrecondition,
                 "stale");

  f.join("a", 6);
  EXPECT_EQ(f.gatherer->members(), 1);
  ASSERT_TRUE(stream->closed()) << "the older incarnation's stream is closed";
  ASSERT_TRUE(stream->why());
  EXPECT_EQ(stream->why()->code(), RefusalCode::kFailedPrecondition);
  // An incarnation that left no longer holds the id: an older one may join.
  f.gatherer->leave("a", 6);
  EXPECT_NO_THROW(f.join("a", 4));
}

TEST(RolloutGatherer, DuplicateAndOutOfOrderPushesAreTakenOnce) {
  Fixture f;
  f.member("a");
  expect_refusal([&] { f.push("a", 1, 0, f.rollout(0)); }, RefusalCode::kInvalidArgument,
                 "sequence must be >= 1");
  expect_refusal([&] { f.push("a", 1, 1, f.rollout(5)); }, RefusalCode::kInvalidArgument,
                 "policy version 5 is from the future (the learner is at 0)");
  expect_refusal(
      [&] {
        f.gatherer->take_push({"a", 1, 1, 0}, f.rollout(1), 1000);
      },
      RefusalCode::kInvalidArgument,
      "header.policy_version 0 differs from rollout.policy_version 1");

  const PushAnswer first = f.push("a", 1, 1, f.rollout(0));
  EXPECT_TRUE(first.accepted) << first.reason;
  EXPECT_FALSE(first.duplicate);
  const PushAnswer retry = f.push("a", 1, 1, f.rollout(0));
  EXPECT_TRUE(retry.accepted) << "a retry gets the first answer again";
  EXPECT_TRUE(retry.duplicate);
  EXPECT_EQ(f.gatherer->accepted_rollouts(), 1);

  expect_refusal([&] { f.push("a", 1, 2 + (1 << 16), f.rollout(0)); },
                 RefusalCode::kInvalidArgument, "jumps more than 65536");
  const PushAnswer skipped = f.push("a", 1, 3, f.rollout(0));  // 2 was given up on
  EXPECT_FALSE(skipped.accepted);
  EXPECT_NE(skipped.reason.find("the batch for version 0 is already complete"), std::string::npos)
      << skipped.reason;
  const PushAnswer older = f.push("a", 1, 2, f.rollout(0));
  EXPECT_FALSE(older.accepted);
  EXPECT_TRUE(older.duplicate);
  EXPECT_NE(older.reason.find("sequence 2 is older than this membership's newest push (3)"),
            std::string::npos)
      << older.reason;
  EXPECT_EQ(f.gatherer->accepted_rollouts(), 1);

  agents::Batch batch;
  ASSERT_TRUE(f.gatherer->next_batch(4, 16, batch));
  EXPECT_EQ(batch.rollout.num_envs, 4);
  EXPECT_EQ(batch.discarded_steps, 64) << "the unneeded rollout";
  EXPECT_TRUE(f.logged("batch for version 0: 'a' #1 (4 copies)"));
  EXPECT_THROW(f.gatherer->next_batch(8, 16, batch), Error);
}

TEST(RolloutGatherer, ABatchIsAssembledInSlotOrderFromTheCurrentVersion) {
  Fixture f("", [](GathererSettings& s) { s.min_actors = 2; });
  auto a = f.member("a", 2);
  auto b = f.member("b", 2, "10.0.0.2");
  EXPECT_EQ(a->requested(), 1);
  EXPECT_EQ(b->requested(), 1);
  // A rollout of the version before is stale; b's arrives first but is taken second.
  agents::PolicySnapshot next = f.learner->snapshot();
  next.version = 1;
  f.gatherer->publish(next);
  const PushAnswer stale = f.push("b", 1, 1, f.rollout(0, 2));
  EXPECT_FALSE(stale.accepted);
  EXPECT_NE(stale.reason.find("stale: acted with policy version 0, the learner is at 1"),
            std::string::npos)
      << stale.reason;
  EXPECT_EQ(b->requested(), 2) << "its request for version 1 still stands";
  EXPECT_TRUE(f.push("b", 1, 2, f.rollout(1, 2, 7)).accepted);
  EXPECT_TRUE(f.push("a", 1, 1, f.rollout(1, 2, 8)).accepted);
  agents::Batch batch;
  ASSERT_TRUE(f.gatherer->next_batch(4, 16, batch));
  EXPECT_EQ(batch.rollout.num_envs, 4);
  EXPECT_EQ(batch.actors, 2);
  EXPECT_EQ(batch.max_version_lag, 0);
  EXPECT_EQ(batch.discarded_steps, 2 * 16);
  EXPECT_TRUE(f.logged("batch for version 1: 'a' #1 (2 copies), 'b' #2 (2 copies)"));
  const PushAnswer late = f.push("b", 1, 3, f.rollout(1, 2));
  EXPECT_FALSE(late.accepted) << "the batch is out";
}

TEST(RolloutGatherer, AnActorLeavingMidBatchHasItsShareDealtToTheOthers) {
  Fixture f;
  auto a = f.member("a");
  auto b = f.member("b", 4, "10.0.0.2");
  ASSERT_EQ(a->requested() + b->requested(), 1) << "one member's copies cover the batch";
  const bool a_asked = a->requested() == 1;
  const std::string gone = a_asked ? "a" : "b", stays = a_asked ? "b" : "a";
  auto& goner = a_asked ? a : b;
  auto& stayer = a_asked ? b : a;
  f.gatherer->leave(gone, 1);
  EXPECT_TRUE(goner->closed());
  EXPECT_FALSE(goner->why()) << "a member that leaves is closed normally";
  EXPECT_EQ(stayer->requested(), 1) << "the share goes to the one left";
  EXPECT_TRUE(f.push(stays, 1, 1, f.rollout(0)).accepted);
  agents::Batch batch;
  ASSERT_TRUE(f.gatherer->next_batch(4, 16, batch));
  EXPECT_EQ(batch.actors, 1);
  // A member whose stream breaks is gone too, and counted as cut off.
  f.gatherer->sink_closed(stayer.get());
  EXPECT_EQ(f.gatherer->members(), 0);
  expect_refusal([&] { f.gatherer->leave(stays, 1); }, RefusalCode::kNotFound, "not a member");
}

TEST(RolloutGatherer, ALateActorsShareGoesToTheOthersAndTheBatchCompletes) {
  Fixture f("distributed: {straggler_timeout_s: 0.05, actor_timeout_s: 600}\n",
            [](GathererSettings& s) { s.min_actors = 2; });
  auto a = f.member("a", 2);
  auto b = f.member("b", 2, "10.0.0.2");
  ASSERT_EQ(a->requested(), 1);
  ASSERT_EQ(b->requested(), 1);
  EXPECT_TRUE(f.push("a", 1, 1, f.rollout(0, 2)).accepted);
  std::future<agents::Batch> batch = std::async(std::launch::async, [&] {
    agents::Batch out;
    EXPECT_TRUE(f.gatherer->next_batch(4, 16, out));
    return out;
  });
  // b never delivers: past the straggler deadline, a is asked for b's share.
  ASSERT_TRUE(a->wait_for_requested(2));
  // b is late, not gone: actor_timeout_s is far off, however slow this machine.
  EXPECT_TRUE(f.push("a", 1, 2, f.rollout(0, 2)).accepted);
  const agents::Batch out = batch.get();
  EXPECT_EQ(out.actors, 1);
  EXPECT_TRUE(f.logged("actor 'b' (incarnation 1) (slot 1) did not deliver within"));
  EXPECT_TRUE(f.logged("batch for version 0: 'a' #1 (2 copies), 'a' #2 (2 copies)"));
  EXPECT_EQ(f.gatherer->members(), 2);
}

TEST(RolloutGatherer, AsynchronousModeTakesRolloutsWithinTheStalenessBound) {
  Fixture f("distributed: {mode: async, max_staleness: 1}\n");
  auto a = f.member("a");
  agents::PolicySnapshot snapshot = f.learner->snapshot();
  for (std::int64_t v = 1; v <= 3; ++v) {
    snapshot.version = v;
    f.gatherer->publish(snapshot);
  }
  const PushAnswer old = f.push("a", 1, 1, f.rollout(1));
  EXPECT_FALSE(old.accepted);
  EXPECT_NE(old.reason.find("takes versions >= 2"), std::string::npos) << old.reason;
  EXPECT_TRUE(f.push("a", 1, 2, f.rollout(2)).accepted);
  agents::Batch batch;
  ASSERT_TRUE(f.gatherer->next_batch(4, 16, batch));
  EXPECT_EQ(batch.max_version_lag, 1);
  EXPECT_GE(a->requested(), 2) << "asked for the next batch while this one trains";
}

TEST(RolloutGatherer, AfterTheRunIsOverJoinsAreToldSoAndPushesAreNotTaken) {
  Fixture f;
  auto a = f.member("a");
  f.gatherer->finish();
  const PushAnswer answer = f.push("a", 1, 1, f.rollout(0));
  EXPECT_FALSE(answer.accepted);
  EXPECT_EQ(answer.reason, "not needed: the run is over");
  expect_refusal([&] { f.join("late", 1); }, RefusalCode::kOutOfRange, "the run is over");
}

TEST(RolloutGatherer, StopEndsAWaitingNextBatch) {
  Fixture f;
  std::future<bool> got = std::async(std::launch::async, [&] {
    agents::Batch out;
    return f.gatherer->next_batch(4, 16, out);
  });
  f.gatherer->stop();
  EXPECT_FALSE(got.get());
}

}  // namespace
}  // namespace trustrl::server
