// Every config the project ships (configs/*.yaml) loads, validates and builds what it describes:
// a typo or a stale key in one would otherwise surface only when a user runs it.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "agents/distill_config.h"
#include "agents/train_config.h"
#include "agents/trainer.h"
#include "agents/vector_env_factory.h"

namespace trustrl::agents {
namespace {

namespace fs = std::filesystem;

TEST(ShippedConfigs, EveryConfigLoadsAndBuildsItsLearnerAndEnv) {
  int training = 0, distillation = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(TRUSTRL_SOURCE_DIR) / "configs")) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    if (name.starts_with("distill_")) {
      EXPECT_NO_THROW(load_distill_config(entry.path().string()));
      ++distillation;
      continue;
    }
    TrainConfig config;
    ASSERT_NO_THROW(config = load_train_config(entry.path().string()));
    EXPECT_GT(config.num_updates(), 0);
    // The env with its options, the networks for its spaces, the learner and its trust region.
    EXPECT_NO_THROW(make_roles(config, local_env_factory()));
    ++training;
  }
  EXPECT_GE(training, 30);  // 39 when written: the folder was found and read
  EXPECT_GE(distillation, 2);
}

}  // namespace
}  // namespace trustrl::agents
