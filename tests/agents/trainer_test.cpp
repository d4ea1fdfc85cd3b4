// End-to-end training in one process: resume, saved policies, bad checkpoints.

#include "agents/trainer.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "agents/evaluate.h"
#include "agents/ppo.h"
#include "agents/rollout_limits.h"
#include "agents/saved_policy.h"
#include "core/error.h"
#include "core/files.h"
#include "core/section_file.h"
#include "tests/support/descriptor_shortage.h"
#include "tests/support/metrics_table.h"

namespace trustrl::agents {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path p =
      fs::temp_directory_path() / ("trustrl_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

TrainerOptions quiet() {
  TrainerOptions o;
  o.progress = false;
  o.verbose = false;
  return o;
}

// A small run that exercises every piece of state: observation normalization, reward scaling,
// LR and clip annealing, an adaptive KL penalty and a KL bound.
int count_lines_with(const fs::path& file, const std::string& text) {
  std::ifstream in(file);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(text) != std::string::npos;
  return n;
}

TrainConfig small_config() {
  return parse_train_config(R"(
seed: 7
total_steps: 4096
env: {id: CartPole-v1, num_envs: 4}
ppo: {num_steps: 64, num_minibatches: 4, update_epochs: 3, learning_rate: 0.001}
trust_region:
  clip: 0.2
  clip_anneal: true
  kl_penalty: {enabled: true, beta: 0.5, target: 0.005}
  kl_bound: {delta: 0.05}
normalize: {observations: true, rewards: true}
run: {checkpoint_every: 5, tensorboard: false}
)");
}

// small_config() with TRPO's step in place of the minibatch trust regions (its KL bound kept).
TrainConfig natural_gradient_config() {
  TrainConfig config = small_config();
  config.trust_region.mode = TrustRegionMode::kNaturalGradient;
  config.trust_region.clip.reset();
  config.trust_region.clip_anneal = false;
  config.trust_region.kl_penalty.enabled = false;
  return config;
}

std::vector<std::uint8_t> bytes_of(const std::function<void(ByteWriter&)>& save) {
  ByteWriter w;
  save(w);
  return w.take();
}

TEST(Trainer, ResumeContinuesExactlyWhereItStopped) {
  const TrainConfig config = small_config();
  ASSERT_EQ(config.num_updates(), 16);

  const fs::path straight = fresh_dir("straight");
  Trainer::start(config, straight, quiet())->run();

  const fs::path split = fresh_dir("split");
  std::vector<std::uint8_t> actor_bytes, norm_bytes, scaler_bytes, trust_bytes;
  torch::Tensor params, m, v;
  std::int64_t adam_steps;
  Rng::State learner_rng, actor_rng;
  TrainingCounters counters;
  auto ppo = [](Trainer& t) -> PpoLearner& { return dynamic_cast<PpoLearner&>(t.learner()); };
  auto group = [&](Trainer& t) -> const GroupModel& { return *ppo(t).groups()[0]; };
  {
    auto t = Trainer::start(config, split, quiet());
    t->run(7);  // stops after update 7 and checkpoints
    params = group(*t).optimizer->parameters().clone();
    m = group(*t).optimizer->first_moment().clone();
    v = group(*t).optimizer->second_moment().clone();
    adam_steps = group(*t).optimizer->steps();
    norm_bytes = bytes_of([&](ByteWriter& w) { group(*t).obs_normalizer.save(w); });
    scaler_bytes = bytes_of([&](ByteWriter& w) { ppo(*t).reward_scaler().save(w); });
    trust_bytes = bytes_of([&](ByteWriter& w) { group(*t).trust_region.save(w); });
    learner_rng = ppo(*t).rng().state();
    actor_rng = t->actor().rng().state();
    actor_bytes = bytes_of([&](ByteWriter& w) { t->actor().save(w); });
    counters = t->counters();
  }
  // A crash after the checkpoint may have left rows behind it; resume must drop them.
  {
    std::ofstream csv(split / "metrics.csv", std::ios::app);
    csv << "999,999,1,2,3\n";
  }
  auto t = Trainer::resume(RunDir::open(split), quiet());
  EXPECT_TRUE(torch::equal(group(*t).optimizer->parameters(), params)) << "weights";
  EXPECT_TRUE(torch::equal(group(*t).optimizer->first_moment(), m)) << "optimizer state";
  EXPECT_TRUE(torch::equal(group(*t).optimizer->second_moment(), v)) << "optimizer state";
  EXPECT_EQ(group(*t).optimizer->steps(), adam_steps) << "optimizer step count";
  EXPECT_EQ(bytes_of([&](ByteWriter& w) { group(*t).obs_normalizer.save(w); }), norm_bytes)
      << "obs normalizer";
  EXPECT_EQ(bytes_of([&](ByteWriter& w) { ppo(*t).reward_scaler().save(w); }), scaler_bytes)
      << "reward scaler";
  EXPECT_EQ(bytes_of([&](ByteWriter& w) { group(*t).trust_region.save(w); }), trust_bytes)
      << "beta, clip epsilon";
  EXPECT_EQ(ppo(*t).rng().state(), learner_rng) << "learner RNG";
  EXPECT_EQ(t->actor().rng().state(), actor_rng) << "actor RNG";
  EXPECT_EQ(bytes_of([&](ByteWriter& w) { t->actor().save(w); }), actor_bytes) << "envs";
  EXPECT_EQ(t->counters().update, counters.update);
  EXPECT_EQ(t->counters().global_step, counters.global_step);
  EXPECT_EQ(t->counters().episodes, counters.episodes);
  t->run();
  t.reset();

  // Same rows, none lost, none twice; the LR schedule carried on (charts/learning_rate is a
  // column).
  const auto a = testing::MetricsTable::read(straight / "metrics.csv").without_clock(),
             b = testing::MetricsTable::read(split / "metrics.csv").without_clock();
  ASSERT_EQ(a.size(), 16u);
  ASSERT_EQ(b.size(), 16u);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "row " << i;
  fs::remove_all(straight);
  fs::remove_all(split);
}

// trust_region.reference: a short run's policy as the reference of another run.
TrainConfig with_reference(TrainConfig config, const fs::path& reference,
                           const std::string& extra) {
  return parse_train_config(write_config(config),
                            {"trust_region.reference.policy=" + reference.string(), extra});
}

TEST(Trainer, AReferenceIsLoggedAndResumesExactly) {
  const fs::path reference = fresh_dir("reference");
  Trainer::start(small_config(), reference, quiet())->run(2);
  const TrainConfig config =
      with_reference(small_config(), reference, "trust_region.reference.schedule=adaptive");

  const fs::path straight = fresh_dir("ref_straight"), split = fresh_dir("ref_split");
  Trainer::start(config, straight, quiet())->run();
  Trainer::start(config, split, quiet())->run(7);
  Trainer::resume(RunDir::open(split), quiet())->run();
  const auto a = testing::MetricsTable::read(straight / "metrics.csv");
  const auto b = testing::MetricsTable::read(split / "metrics.csv");
  ASSERT_EQ(a.rows.size(), 16u);
  EXPECT_EQ(a.without_clock(), b.without_clock());
  std::set<double> betas;
  for (std::size_t i = 0; i < a.rows.size(); ++i) {
    EXPECT_GE(a.at(i, "kl/reference"), 0.0) << "row " << i;
    betas.insert(a.at(i, "trust/reference_beta"));
  }
  EXPECT_GT(betas.size(), 1u) << "the adaptive beta never moved: the resume of it is untested";
  // The file or the run directory: the same policy.
  const TrainConfig by_file =
      with_reference(small_config(), reference / "policy.trustrl", "seed=7");
  const fs::path c = fresh_dir("ref_file");
  Trainer::start(by_file, c, quiet())->run(2);
  EXPECT_GE(testing::MetricsTable::read(c / "metrics.csv").at(1, "kl/reference"), 0.0);
  for (const auto& d : {reference, straight, split, c}) fs::remove_all(d);
}

TEST(Trainer, AReferenceForAnotherEnvIsRefusedBeforeTraining) {
  const fs::path reference = fresh_dir("cartpole_reference");
  Trainer::start(small_config(), reference, quiet())->run(1);
  TrainConfig acrobot = small_config();
  acrobot.env.id = "Acrobot-v1";
  const fs::path dir = fresh_dir("acrobot_with_reference");
  try {
    Trainer::start(with_reference(acrobot, reference, "seed=7"), dir, quiet());
    ADD_FAILURE() << "a CartPole reference was accepted for Acrobot";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    for (const char* part :
         {"trust_region.reference.policy", "CartPole-v1", "Acrobot-v1", "policy.trustrl"})
      EXPECT_NE(m.find(part), std::string::npos) << part << " missing from: " << m;
    // Both spec hashes.
    const auto first = m.find("spec hash 0x");
    ASSERT_NE(first, std::string::npos) << m;
    EXPECT_NE(m.find("spec hash 0x", first + 1), std::string::npos) << m;
  }
  EXPECT_FALSE(fs::exists(dir));
  // A path that holds nothing.
  try {
    Trainer::start(with_reference(small_config(), reference / "missing.pt", "seed=7"), dir,
                   quiet());
    ADD_FAILURE() << "a missing reference was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("trust_region.reference.policy"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(dir));
  fs::remove_all(reference);
}

// A MuJoCo env whose reset noise puts the robot 1e11 from anywhere sane: every first step raises
// MuJoCo's bad-qpos warning, so every episode ends by instability. The run goes on, and counts and
// logs what happened; a CartPole run counts nothing.
TEST(Trainer, SimulationInstabilityIsCountedAndLogged) {
  const fs::path dir = fresh_dir("unstable");
  Trainer::start(parse_train_config(R"(
total_steps: 256
env: {id: Hopper-v5, num_envs: 2, options: {reset_noise_scale: 1e11}}
ppo: {num_steps: 32, num_minibatches: 2, update_epochs: 1}
run: {tensorboard: false}
)"),
                 dir, quiet())
      ->run();
  const auto table = testing::MetricsTable::read(dir / "metrics.csv");
  ASSERT_EQ(table.rows.size(), 4u);
  double last = 0;
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    const double count = table.at(i, "charts/unstable_steps");
    EXPECT_GT(count, last) << "update " << i + 1 << " ended episodes by instability";
    last = count;
  }
  EXPECT_LE(last, 256);  // at most one per env step
  const std::string log = read_text_file(dir / "train.log");
  EXPECT_NE(log.find("warning: update 1: "), std::string::npos) << log;
  EXPECT_NE(log.find("ended by simulation instability"), std::string::npos) << log;
  fs::remove_all(dir);

  const fs::path calm = fresh_dir("calm");
  Trainer::start(small_config(), calm, quiet())->run(2);
  const auto calm_table = testing::MetricsTable::read(calm / "metrics.csv");
  EXPECT_EQ(calm_table.at(1, "charts/unstable_steps"), 0);
  EXPECT_EQ(read_text_file(calm / "train.log").find("instability"), std::string::npos);
  fs::remove_all(calm);
}

// A critic that sees the same input for every state (observations clipped to +-1e-9 after
// normalization) predicts one value, whatever it learns: its explained variance is 0 on every
// update, and train.log says so once, at the tenth. A critic that learns says nothing.
TEST(Trainer, AFlatCriticIsReportedInTheLog) {
  const fs::path dir = fresh_dir("flat_critic");
  Trainer::start(parse_train_config(R"(
seed: 3
total_steps: 3072
env: {id: CartPole-v1, num_envs: 4}
ppo: {num_steps: 64, num_minibatches: 2, update_epochs: 2}
normalize: {observations: true, clip_obs: 1.0e-9}
run: {tensorboard: false}
)"),
                 dir, quiet())
      ->run();
  const auto table = testing::MetricsTable::read(dir / "metrics.csv");
  ASSERT_EQ(table.rows.size(), 12u);
  for (std::size_t i = 0; i < table.rows.size(); ++i)
    EXPECT_LE(std::abs(table.at(i, "losses/explained_variance")), 1e-3) << "update " << i + 1;
  const std::string log = read_text_file(dir / "train.log");
  const std::string warning = "the critic has explained none of the returns' variance for 10";
  EXPECT_NE(log.find("warning: update 10: " + warning), std::string::npos) << log;
  EXPECT_EQ(log.find(warning), log.rfind(warning)) << "warned once per flat stretch:\n" << log;
  fs::remove_all(dir);

  const fs::path learning = fresh_dir("learning_critic");
  Trainer::start(small_config(), learning, quiet())->run();
  EXPECT_EQ(read_text_file(learning / "train.log").find("explained none"), std::string::npos);
  fs::remove_all(learning);
}

// Threads only split the env copies, each with its own RNG, so the run is the same; this is also
// the trainer's threaded path that scripts/sanitize.sh tsan checks.
TEST(Trainer, EnvThreadsDoNotChangeTheRun) {
  TrainConfig serial = small_config();
  serial.env.threads = 1;
  TrainConfig threaded = small_config();
  threaded.env.threads = 3;
  const fs::path a = fresh_dir("serial"), b = fresh_dir("threaded");
  torch::Tensor serial_params, threaded_params;
  {
    auto t = Trainer::start(serial, a, quiet());
    t->run(4);
    serial_params =
        dynamic_cast<PpoLearner&>(t->learner()).groups()[0]->optimizer->parameters().clone();
  }
  {
    auto t = Trainer::start(threaded, b, quiet());
    t->run(4);
    threaded_params =
        dynamic_cast<PpoLearner&>(t->learner()).groups()[0]->optimizer->parameters().clone();
  }
  EXPECT_TRUE(torch::equal(serial_params, threaded_params));
  // train.log says how the copies were threaded, once.
  EXPECT_EQ(count_lines_with(b / "train.log", "env threads: 3 for "), 1)
      << read_text_file(b / "train.log");
  EXPECT_EQ(count_lines_with(b / "train.log", "(set in the config)"), 1);
  const auto serial_rows = testing::MetricsTable::read(a / "metrics.csv").without_clock();
  const auto threaded_rows = testing::MetricsTable::read(b / "metrics.csv").without_clock();
  ASSERT_EQ(serial_rows.size(), 4u);
  EXPECT_EQ(serial_rows, threaded_rows);
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(Trainer, EnvThreadsAreAutoUnlessANumberIsGiven) {
  EXPECT_EQ(small_config().env.threads, kAutoEnvThreads);
  {
    // Auto's choice, once made, is logged with what it measured.
    const fs::path dir = fresh_dir("auto_threads");
    Trainer::start(small_config(), dir, quiet())->run(3);
    const std::string log = read_text_file(dir / "train.log");
    EXPECT_EQ(count_lines_with(dir / "train.log", "env threads: "), 1) << log;
    EXPECT_NE(log.find("(auto: a batch took "), std::string::npos) << log;
    fs::remove_all(dir);
  }
  TrainConfig config;
  read_config(config, "env: {threads: auto}");
  EXPECT_EQ(config.env.threads, kAutoEnvThreads);
  read_config(config, "env: {threads: 2}");
  EXPECT_EQ(config.env.threads, 2);
  EXPECT_NE(write_config(config).find("threads: 2"), std::string::npos) << write_config(config);
  for (const char* bad : {"0", "1025", "two", "1.5"}) {
    try {
      read_config(config, std::string("env: {threads: ") + bad + "}");
      ADD_FAILURE() << "env.threads " << bad << " was accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()),
                std::string("env.threads: expected auto or a whole number in [1, 1024], got '") +
                    bad + "'");
    }
  }
}

TEST(Trainer, SavedPolicyEvaluatesLikeTheInMemoryOne) {
  TrainConfig config = small_config();
  const fs::path dir = fresh_dir("saved");
  auto t = Trainer::start(config, dir, quiet());
  t->run(3);
  const PolicySnapshot live = t->learner().snapshot();
  const SavedPolicy saved = SavedPolicy::read(dir / "policy.trustrl");
  EXPECT_EQ(saved.env_id, "CartPole-v1");
  EXPECT_FALSE(saved.multi_agent);
  for (bool deterministic : {true, false}) {
    auto env_a = envs::LocalVectorEnv::make("CartPole-v1", {}, 3, 1);
    auto env_b = envs::LocalVectorEnv::make("CartPole-v1", {}, 3, 1);
    const EvalResult a = evaluate(std::move(env_a), live, 9, deterministic, 5);
    const EvalResult b = evaluate(std::move(env_b), saved.snapshot, 9, deterministic, 5);
    EXPECT_EQ(a.returns, b.returns);
    EXPECT_EQ(a.lengths, b.lengths);
  }
  // A checkpoint carries the same policy.
  const SavedPolicy from_ckpt = SavedPolicy::read(t->run_dir().checkpoints().back());
  auto env_c = envs::LocalVectorEnv::make("CartPole-v1", {}, 3, 1);
  auto env_d = envs::LocalVectorEnv::make("CartPole-v1", {}, 3, 1);
  EXPECT_EQ(evaluate(std::move(env_c), live, 6, true, 1).returns,
            evaluate(std::move(env_d), from_ckpt.snapshot, 6, true, 1).returns);
  fs::remove_all(dir);
}

TEST(Trainer, CorruptCheckpointIsNamed) {
  const fs::path dir = fresh_dir("corrupt");
  Trainer::start(small_config(), dir, quiet())->run(2);
  const fs::path ckpt = RunDir::open(dir).checkpoints().back();
  auto bytes = read_file(ckpt);
  bytes.resize(bytes.size() / 2);
  write_file_atomic(ckpt, bytes);
  try {
    Trainer::resume(RunDir::open(dir), quiet());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated or corrupt"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(ckpt.string()), std::string::npos) << e.what();
  }
  bytes = read_file(dir / "policy.trustrl");
  bytes[bytes.size() / 2] ^= 0x40;
  write_file_atomic(dir / "policy.trustrl", bytes);
  try {
    SavedPolicy::read(dir / "policy.trustrl");
    ADD_FAILURE() << "a corrupt policy.trustrl was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find((dir / "policy.trustrl").string()), std::string::npos)
        << e.what();
  }
  fs::remove_all(dir);
}

std::string with_checkpoint_every(int every) {
  return "run: {checkpoint_every: " + std::to_string(every) +
         ", keep_checkpoints: 5, tensorboard: false}";
}

std::vector<std::string> metric_updates(const fs::path& csv) {
  std::vector<std::string> updates;
  const testing::MetricsTable t = testing::MetricsTable::read(csv);
  for (const auto& row : t.rows) updates.push_back(row.at(t.column("update")));
  return updates;
}

TEST(Trainer, ResumeFallsBackToTheNewestValidCheckpoint) {
  const fs::path dir = fresh_dir("fallback");
  TrainConfig config = small_config();
  read_config(config, with_checkpoint_every(5));
  Trainer::start(config, dir, quiet())->run(10);  // checkpoints after updates 5 and 10
  const RunDir run = RunDir::open(dir);
  ASSERT_EQ(run.checkpoints().size(), 2u);
  // The newest checkpoint damaged, a stray empty one numbered higher still, and the temporaries
  // of writes a kill interrupted.
  const fs::path newest = run.checkpoint_path(10), stray = run.checkpoint_path(999999999);
  auto bytes = read_file(newest);
  bytes.resize(bytes.size() - 10);
  write_file_atomic(newest, bytes);
  std::ofstream{stray};
  std::ofstream{run.checkpoints_dir() / ".ckpt-000000011.bin.tmp.4242"} << "partial";
  std::ofstream{dir / ".policy.trustrl.tmp.4242"} << "partial";

  auto t = Trainer::resume(RunDir::open(dir), quiet());
  EXPECT_EQ(t->counters().update, 5);
  EXPECT_TRUE(fs::exists(newest.string() + ".skipped"));
  EXPECT_TRUE(fs::exists(stray.string() + ".skipped"));
  EXPECT_FALSE(fs::exists(run.checkpoints_dir() / ".ckpt-000000011.bin.tmp.4242"));
  EXPECT_FALSE(fs::exists(dir / ".policy.trustrl.tmp.4242"));
  const std::string log = read_text_file(dir / "train.log");
  EXPECT_NE(log.find("skipped " + stray.string() + " (checkpoint file '" + stray.string() +
                     "' is not a trustrl"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("skipped " + newest.string() + " (checkpoint file '" + newest.string() +
                     "' is truncated"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("removed 2 temporary file(s)"), std::string::npos) << log;
  t->run(3);
  t.reset();
  EXPECT_EQ(metric_updates(dir / "metrics.csv"),
            (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8"}));
  fs::remove_all(dir);
}

TEST(Trainer, ResumeCutsMetricsAtTheFirstDamagedRow) {
  const fs::path dir = fresh_dir("damaged_rows");
  TrainConfig config = small_config();
  read_config(config, with_checkpoint_every(2));
  Trainer::start(config, dir, quiet())->run(6);  // checkpoints after updates 2, 4 and 6
  // Row 5 damaged (a stray byte): the checkpoint after update 6 counts rows that are no longer
  // intact, so resume goes back to the one after update 4 and writes rows 5 and 6 again.
  std::string csv = read_text_file(dir / "metrics.csv");
  std::size_t pos = 0;
  for (int line = 0; line < 5; ++line) pos = csv.find('\n', pos) + 1;
  csv.insert(pos, "#");
  write_file_atomic(dir / "metrics.csv", csv);
  auto t = Trainer::resume(RunDir::open(dir), quiet());
  EXPECT_EQ(t->counters().update, 4);
  EXPECT_EQ(metric_updates(dir / "metrics.csv"), (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_NE(
      read_text_file(dir / "train.log").find("metrics.csv holds only 4 intact rows (row 5 has '#"),
      std::string::npos)
      << read_text_file(dir / "train.log");
  t->run(2);
  t.reset();
  EXPECT_EQ(metric_updates(dir / "metrics.csv"),
            (std::vector<std::string>{"1", "2", "3", "4", "5", "6"}));
  fs::remove_all(dir);
}

TEST(Trainer, EditedConfigRefusesToResume) {
  const fs::path dir = fresh_dir("edited");
  Trainer::start(small_config(), dir, quiet())->run(1);
  std::ofstream(dir / "config.yaml", std::ios::app) << "# edited\n";
  {
    // Comments do not change the resolved config, so this still resumes.
    auto t = Trainer::resume(RunDir::open(dir), quiet());
  }
  std::string yaml = read_text_file(dir / "config.yaml");
  yaml.replace(yaml.find("seed: 7"), 7, "seed: 8");
  write_file_atomic(dir / "config.yaml", yaml);
  // Refused for the edit, not for another reason (a lock still held, a missing checkpoint).
  try {
    Trainer::resume(RunDir::open(dir), quiet());
    ADD_FAILURE() << "an edited config resumed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("was changed after the checkpoint"), std::string::npos)
        << e.what();
  }
  fs::remove_all(dir);
}

// A run directory written by an earlier trustrl, whose config lacks keys added since (here
// run.max_rollbacks), resumes: the configs are compared as resolved, not as text.
TEST(Trainer, RunsOfAnEarlierVersionWithoutNewKeysResume) {
  const fs::path dir = fresh_dir("older");
  Trainer::start(small_config(), dir, quiet())->run(1);
  auto drop_key = [](std::string yaml) {
    const auto key = yaml.find("max_rollbacks:");
    if (key == std::string::npos) return yaml;
    const auto line = yaml.rfind('\n', key) + 1;
    return yaml.erase(line, yaml.find('\n', key) + 1 - line);
  };
  const std::string yaml = read_text_file(dir / "config.yaml");
  ASSERT_NE(yaml.find("max_rollbacks:"), std::string::npos);
  write_file_atomic(dir / "config.yaml", drop_key(yaml));
  const fs::path ckpt = RunDir::open(dir).checkpoints().back();
  SectionFile file = SectionFile::read(ckpt, "checkpoint");
  file.add("config", drop_key(file.get_text("config")));
  file.write(ckpt);
  auto t = Trainer::resume(RunDir::open(dir), quiet());
  t->run(1);
  EXPECT_EQ(RunDir::open(dir).checkpoints().size(), 2u);
  t.reset();
  fs::remove_all(dir);
}

TEST(Trainer, BadEnvLeavesNoRunDirectory) {
  TrainConfig config = small_config();
  config.env.id = "CartPole-v9";
  const fs::path dir = fresh_dir("badenv");
  EXPECT_THROW(Trainer::start(config, dir, quiet()), Error);
  EXPECT_FALSE(fs::exists(dir));
}

// The in-process actor, with log-probs of -700 in the batches `poisoned` says (1, 2, ...): within
// what a policy can report, yet exp(new - old) overflows, so the update breaks the parameters.
class PoisoningChannel final : public RolloutChannel {
 public:
  PoisoningChannel(const ChannelSetup& setup, std::function<bool(int)> poisoned)
      : local_(make_actor(local_env_factory()(setup.config.env), setup.config.seed,
                          make_learner(setup.config, setup.env)->snapshot())),
        poisoned_(std::move(poisoned)) {}
  void publish(const PolicySnapshot& snapshot) override { local_.publish(snapshot); }
  bool next_batch(int num_envs, int num_steps, Batch& out) override {
    if (!local_.next_batch(num_envs, num_steps, out)) return false;
    if (poisoned_(++batches_))
      for (float& lp : out.rollout.log_probs) lp = -700.0F;
    return true;
  }
  std::int64_t cut_episodes() const override { return 0; }
  std::int64_t unstable_steps() const override { return 0; }
  bool can_snapshot() const override { return false; }
  void save(ByteWriter&) const override {}
  void load(ByteReader&) override {}
  void restart(std::uint64_t, std::int64_t) override {}

 private:
  LocalRolloutChannel local_;
  std::function<bool(int)> poisoned_;
  int batches_ = 0;
};

TrainerOptions poisoning(std::function<bool(int)> poisoned) {
  TrainerOptions o = quiet();
  o.make_channel = [poisoned](const ChannelSetup& setup) {
    return std::make_unique<PoisoningChannel>(setup, poisoned);
  };
  return o;
}

TEST(Trainer, AnUpdateThatBreaksTheParametersIsRolledBack) {
  const fs::path dir = fresh_dir("rollback");
  TrainConfig config = small_config();
  config.total_steps = 8 * config.batch_steps();
  auto t =
      Trainer::start(config, dir, poisoning([](int batch) { return batch == 3 || batch == 4; }));
  t->run();
  // The two poisoned batches were dropped and their updates undone; the run went on.
  EXPECT_TRUE(t->finished());
  EXPECT_EQ(t->counters().update, 8);
  EXPECT_EQ(non_finite_parameter(t->learner().snapshot()), std::nullopt);
  EXPECT_EQ(count_lines_with(dir / "train.log", "left a non-finite parameter"), 2);
  EXPECT_EQ(count_lines_with(dir / "train.log", "rolled back"), 2);
  t.reset();
  fs::remove_all(dir);
}

TEST(Trainer, RepeatedBrokenUpdatesStopTheRunWithAnError) {
  const fs::path dir = fresh_dir("rollback_stop");
  TrainConfig config = small_config();
  config.run.max_rollbacks = 2;
  config.run.checkpoint_every = 1;
  auto t = Trainer::start(config, dir, poisoning([](int batch) { return batch >= 3; }));
  try {
    t->run();
    ADD_FAILURE() << "the run went on with broken updates";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("run.max_rollbacks: 2"), std::string::npos) << e.what();
  }
  // The learner holds the last good parameters, and so does every checkpoint.
  EXPECT_EQ(t->counters().update, 2);
  EXPECT_EQ(non_finite_parameter(t->learner().snapshot()), std::nullopt);
  t.reset();
  auto resumed = Trainer::resume(RunDir::open(dir), quiet());
  EXPECT_EQ(resumed->counters().update, 2);
  EXPECT_EQ(non_finite_parameter(resumed->learner().snapshot()), std::nullopt);
  resumed.reset();
  fs::remove_all(dir);
}

// trust_region.mode natural_gradient: a poisoned batch makes the step's surrogate overflow; the
// update is undone and logged naming the update and the quantity, and the run goes on; in a row,
// it stops the run with that message.
TEST(Trainer, ANonFiniteNaturalGradientStepIsRolledBackNamingTheQuantity) {
  TrainConfig config = natural_gradient_config();
  config.total_steps = 8 * config.batch_steps();
  config.validate();
  {
    const fs::path dir = fresh_dir("ng_rollback");
    auto t =
        Trainer::start(config, dir, poisoning([](int batch) { return batch == 3 || batch == 4; }));
    t->run();
    EXPECT_TRUE(t->finished());
    EXPECT_EQ(t->counters().update, 8);
    EXPECT_EQ(count_lines_with(dir / "train.log", "update 3 met a non-finite quantity"), 2);
    EXPECT_EQ(count_lines_with(dir / "train.log", "surrogate"), 2);
    EXPECT_EQ(count_lines_with(dir / "train.log", "rolled back"), 2);
    t.reset();
    fs::remove_all(dir);
  }
  const fs::path dir = fresh_dir("ng_rollback_stop");
  config.run.max_rollbacks = 2;
  auto t = Trainer::start(config, dir, poisoning([](int batch) { return batch >= 3; }));
  try {
    t->run();
    ADD_FAILURE() << "the run went on with broken updates";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("update 3 met a non-finite quantity"), std::string::npos) << message;
    EXPECT_NE(message.find("surrogate"), std::string::npos) << message;
  }
  EXPECT_EQ(t->counters().update, 2);
  t.reset();
  fs::remove_all(dir);
}

// trust_region.kl_bound.anneal: update k (of N) is bounded by delta (1 - (k - 1) / N), logged as
// trust/kl_delta, and every natural-gradient step stays inside that update's bound.
TEST(Trainer, AnAnnealedKlBoundFallsLinearlyAndBindsEveryStep) {
  TrainConfig config = natural_gradient_config();
  config.trust_region.kl_bound.delta = 0.02;
  config.trust_region.kl_bound.anneal = true;
  const int updates = 8;
  config.total_steps = updates * config.batch_steps();
  config.validate();
  const fs::path dir = fresh_dir("kl_anneal");
  Trainer::start(config, dir, quiet())->run();
  const auto rows = testing::MetricsTable::read(dir / "metrics.csv").numeric_rows();
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(updates));
  int stepped = 0;
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const double bound = 0.02 * (1.0 - static_cast<double>(k) / updates);
    EXPECT_NEAR(rows[k].at("trust/kl_delta"), bound, 1e-12) << "update " << k + 1;
    EXPECT_LE(rows[k].at("trust/ng_kl"), bound) << "update " << k + 1;
    EXPECT_LE(rows[k].at("kl/analytic"), bound) << "update " << k + 1;
    stepped += rows[k].at("trust/ng_stepped") > 0;
  }
  EXPECT_GT(stepped, updates / 2) << "an annealed bound still lets most updates step";
  fs::remove_all(dir);
}

TEST(Trainer, ACheckpointWaitsOutAShortShortageOfDescriptors) {
  const fs::path dir = fresh_dir("emfile");
  auto t = Trainer::start(small_config(), dir, quiet());
  t->run(1);
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  int open_now = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) ++open_now;
  rlimit lowered = before;
  lowered.rlim_cur = static_cast<rlim_t>(open_now + 64);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  // Every descriptor left is taken (a flood of connections would), and given back 300 ms later.
  const auto hold = std::chrono::milliseconds(300);
  std::chrono::steady_clock::time_point released_at;
  std::chrono::steady_clock::time_point finished;
  {
    const testing::DescriptorShortage shortage(hold);
    ASSERT_GT(shortage.taken(), 0u);
    released_at = shortage.taken_at() + hold;
    EXPECT_NO_THROW(t->checkpoint());
    finished = std::chrono::steady_clock::now();
  }
  setrlimit(RLIMIT_NOFILE, &before);
  // No descriptor was free until released_at, so a checkpoint that succeeded met the shortage
  // and waited it out (a bound by construction, not a timing guess).
  EXPECT_TRUE(finished >= released_at)
      << "the checkpoint finished "
      << std::chrono::duration_cast<std::chrono::milliseconds>(released_at - finished).count()
      << " ms before any descriptor came free";
  ASSERT_FALSE(t->run_dir().checkpoints().empty());
  EXPECT_NO_THROW(SectionFile::read(t->run_dir().checkpoints().back(), "checkpoint"));
  EXPECT_NO_THROW(SavedPolicy::read(dir / "policy.trustrl"));
  t.reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace trustrl::agents
