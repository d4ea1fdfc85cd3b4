// Careless and hostile command lines against real `trustrl` processes: absurd incarnations,
// `eval --env-server` on a server that serves another spec than the policy was trained on, and
// one host taking a learner's connections and actor places.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>
#include <vector>

#include "agents/trainer.h"
#include "server/env_protocol/env_server.h"
#include "server/env_protocol/session_client.h"
#include "tests/server/loopback_peer.h"
#include "tests/support/child_process.h"
#include "trustrl/learner/v1/learner.grpc.pb.h"

namespace trustrl::server {
namespace {

namespace fs = std::filesystem;
using trustrl::testing::ChildProcess;

const std::string kBinary = std::string(TRUSTRL_BINARY_DIR) + "/cli/trustrl";
constexpr double kTimeoutS = 120;

TEST(HostileProcess, AnActorRefusesANegativeOrAbsurdIncarnation) {
  for (const std::string bad : {"-1", "0", "4611686018427387905", "18446744073709551615", "1e3"}) {
    ChildProcess actor({kBinary, "actor", "--learner", "127.0.0.1:1", "--incarnation", bad}, {},
                       true);
    EXPECT_NE(actor.wait(kTimeoutS), 0) << bad;
    EXPECT_NE(actor.output().find("must be a whole number from 1 to 4611686018427387904"),
              std::string::npos)
        << bad << ": " << actor.output();
  }
}

TEST(HostileProcess, EvalOnAnEnvServerChecksTheSpecAsActorsDo) {
  const fs::path dir =
      fs::temp_directory_path() / ("trustrl_evalspec_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  agents::TrainerOptions quiet;
  quiet.progress = false;
  quiet.verbose = false;
  agents::Trainer::start(agents::parse_train_config(R"(
seed: 1
total_steps: 256
env: {id: CartPole-v1, num_envs: 2}
ppo: {num_steps: 64, num_minibatches: 2, update_epochs: 1}
run: {tensorboard: false}
)"),
                         dir, quiet)
      ->run();
  ASSERT_TRUE(fs::exists(dir / "policy.trustrl"));

  // The same env id with another time limit: another spec, which the policy was not trained on.
  EnvServer other(registered_env_maker("CartPole-v1", {{"max_episode_steps", "50"}}, 1), {});
  ChildProcess refused(
      {kBinary, "eval", dir.string(), "--env-server", other.address(), "--episodes", "1"}, {},
      true);
  EXPECT_NE(refused.wait(kTimeoutS), 0) << refused.output();
  EXPECT_NE(refused.output().find("spec hash"), std::string::npos) << refused.output();
  EXPECT_NE(refused.output().find("max_episode_steps"), std::string::npos) << refused.output();

  // The spec it was trained on is served: eval runs.
  EnvServer same(registered_env_maker("CartPole-v1", {}, 1), {});
  ChildProcess accepted(
      {kBinary, "eval", dir.string(), "--env-server", same.address(), "--episodes", "1"}, {}, true);
  EXPECT_EQ(accepted.wait(kTimeoutS), 0) << accepted.output();
  fs::remove_all(dir);
}

TEST(HostileProcess, ALearnerCapsConnectionsAndActorsPerHost) {
  namespace learner_wire = ::trustrl::learner::v1;
  const fs::path dir =
      fs::temp_directory_path() / ("trustrl_peercaps_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  ChildProcess learner(
      {kBinary, "learner", std::string(TRUSTRL_SOURCE_DIR) + "/configs/ppo_cartpole.yaml",
       "--run-dir", (dir / "run").string(), "--listen", "127.0.0.1:0", "--max-actors-per-peer", "1",
       "--max-connections-per-peer", "3"},
      {}, true);
  const std::string address = learner.wait_for_line("listening on ", kTimeoutS);
  const int port = std::stoi(address.substr(address.rfind(':') + 1));

  // 6 connections from 127.0.0.2: 3 held, 3 closed at once.
  std::vector<int> flood;
  for (int k = 0; k < 6; ++k) flood.push_back(testing::connect_from("127.0.0.2", port));
  int closed = 0;
  for (int attempt = 0; attempt < 100 && closed < 3; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    closed = 0;
    for (const int fd : flood) closed += testing::closed_by_server(fd) ? 1 : 0;
  }
  EXPECT_EQ(closed, 3);
  for (const int fd : flood) close(fd);

  // One actor from 127.0.0.1 joins, a second is refused naming the host and the flag.
  auto stub = learner_wire::LearnerService::NewStub(
      make_channel({address, "", "", kDefaultMaxMessageBytes}));
  learner_wire::DescribeResponse described;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub->Describe(&context, learner_wire::DescribeRequest(), &described).ok());
  }
  auto join = [&](const std::string& id) {
    grpc::ClientContext context;
    learner_wire::JoinRequest request;
    request.set_protocol_version(1);
    request.set_actor_id(id);
    request.set_incarnation(1);
    request.set_spec_hash(described.run().spec_hash());
    request.set_num_envs(4);
    learner_wire::JoinResponse response;
    return stub->Join(&context, request, &response);
  };
  EXPECT_TRUE(join("a").ok());
  const grpc::Status refused = join("b");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << describe(refused);
  EXPECT_NE(refused.error_message().find("maximum of 1 actors from ipv4:127.0.0.1; stop one or "
                                         "raise the limit (--max-actors-per-peer)"),
            std::string::npos)
      << describe(refused);
  {
    grpc::ClientContext context;
    learner_wire::LeaveRequest leave;
    leave.set_actor_id("a");
    leave.set_incarnation(1);
    learner_wire::LeaveResponse left;
    EXPECT_TRUE(stub->Leave(&context, leave, &left).ok());
  }
  learner.signal(SIGTERM);
  learner.wait(kTimeoutS);
  EXPECT_NE(learner.output().find("learner: refused a connection from ipv4:127.0.0.2: it already "
                                  "holds 3 connections, the most one client host may hold "
                                  "(--max-connections-per-peer)"),
            std::string::npos)
      << learner.output();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace trustrl::server
