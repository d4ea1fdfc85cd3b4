// Files written by an earlier trustrl (tests/data/legacy_runs, written by the build before PPO and
// MAPPO shared one learner core) still resume and evaluate: the checkpoint and policy-file formats
// are kept.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "agents/evaluate.h"
#include "agents/rollout_limits.h"
#include "agents/saved_policy.h"
#include "agents/trainer.h"
#include "core/files.h"
#include "core/section_file.h"

namespace trustrl::agents {
namespace {

namespace fs = std::filesystem;

const fs::path kLegacy = fs::path(TRUSTRL_TEST_DATA_DIR) / "legacy_runs";

TrainerOptions quiet() {
  TrainerOptions o;
  o.progress = false;
  o.verbose = false;
  return o;
}

// A writable copy of a legacy run directory.
fs::path copy_run(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("trustrl_legacy_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(kLegacy / name, dir, fs::copy_options::recursive);
  return dir;
}

std::vector<std::uint8_t> learner_bytes(Learner& learner) {
  ByteWriter w;
  learner.save(w);
  return w.take();
}

// The learner reads the earlier build's state as it was written (it saves the same bytes), acts
// with the policy that build saved beside it, and trains on to the end of the run.
void resume_legacy_run(const std::string& name, std::int64_t checkpoint_update) {
  const fs::path dir = copy_run(name);
  const fs::path ckpt = RunDir::open(dir).checkpoints().back();
  const SectionFile file = SectionFile::read(ckpt, "checkpoint");
  auto t = Trainer::resume(RunDir::open(dir), quiet());
  EXPECT_EQ(t->counters().update, checkpoint_update);
  EXPECT_EQ(learner_bytes(t->learner()), file.get("learner")) << name << ": learner state";

  // The loaded learner's policy is the one the earlier build stored in the checkpoint.
  const PolicySnapshot stored = SavedPolicy::read(ckpt).snapshot;
  const PolicySnapshot loaded = t->learner().snapshot();
  ByteWriter a, b;
  stored.save(a);
  loaded.save(b);
  EXPECT_EQ(a.take(), b.take()) << name << ": policy";

  t->run();
  EXPECT_TRUE(t->finished());
  // The resumed run writes the new name and drops the old file, so no reader picks a stale one.
  EXPECT_TRUE(fs::exists(dir / "policy.trustrl"));
  EXPECT_FALSE(fs::exists(dir / "policy.pt"));
  EXPECT_GT(t->learner().version(), checkpoint_update);
  EXPECT_EQ(non_finite_parameter(t->learner().snapshot()), std::nullopt);
  fs::remove_all(dir);
}

TEST(LegacyFiles, PpoCheckpointResumes) { resume_legacy_run("ppo", 2); }

TEST(LegacyFiles, MappoCheckpointResumes) { resume_legacy_run("mappo", 3); }

TEST(LegacyFiles, PpoPolicyFileEvaluates) {
  const SavedPolicy saved = SavedPolicy::read(kLegacy / "ppo" / "policy.pt");
  EXPECT_EQ(saved.env_id, "CartPole-v1");
  EXPECT_FALSE(saved.multi_agent);
  ASSERT_EQ(saved.snapshot.groups.size(), 1u);
  const EvalResult r = evaluate(saved.make_env(2), saved.snapshot, 4, true, 3);
  ASSERT_EQ(r.returns.size(), 4u);
  for (const double x : r.returns) EXPECT_TRUE(x >= 1 && x <= 500) << x;
}

TEST(LegacyFiles, MappoPolicyFileEvaluates) {
  const SavedPolicy saved = SavedPolicy::read(kLegacy / "mappo" / "policy.pt");
  EXPECT_EQ(saved.env_id, "simple_speaker_listener_v4");
  EXPECT_TRUE(saved.multi_agent);
  ASSERT_EQ(saved.snapshot.groups.size(), 2u);
  EXPECT_TRUE(saved.snapshot.groups[0].agent_id_input);
  const EvalResult r = evaluate(saved.make_multi_agent_env(2), saved.snapshot, 4, true, 3);
  ASSERT_EQ(r.returns.size(), 4u);
  for (const double x : r.returns) EXPECT_TRUE(std::isfinite(x) && x < 0) << x;
}

}  // namespace
}  // namespace trustrl::agents
