// Careless and hostile command lines against real `trustrl` processes: absurd incarnations, and
// `eval --env-server` on a server that serves another spec than the policy was trained on.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "agents/trainer.h"
#include "server/env_server.h"
#include "tests/server/child_process.h"

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
  ASSERT_TRUE(fs::exists(dir / "policy.pt"));

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

}  // namespace
}  // namespace trustrl::server
