// `trustrl distill` end to end: a teacher trained here, students distilled from it.

#include "agents/distiller.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "agents/env_actor.h"
#include "agents/evaluate.h"
#include "agents/frozen_policy.h"
#include "agents/kl.h"
#include "agents/trainer.h"
#include "core/error.h"
#include "core/files.h"
#include "tests/support/metrics_table.h"

namespace trustrl::agents {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path p =
      fs::temp_directory_path() / ("trustrl_distill_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

TrainerOptions quiet() {
  TrainerOptions o;
  o.progress = false;
  o.verbose = false;
  return o;
}

DistillOptions silent() {
  DistillOptions o;
  o.verbose = false;
  return o;
}

// A CartPole teacher from a short PPO run, shared by the tests of this file.
class Distill : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    teacher_ = new fs::path(fresh_dir("teacher"));
    Trainer::start(parse_train_config(R"(
seed: 3
total_steps: 24576
env: {id: CartPole-v1, num_envs: 8}
ppo: {num_steps: 128, num_minibatches: 4, update_epochs: 4, learning_rate: 0.0025}
normalize: {observations: true}
run: {tensorboard: false}
)"),
                   *teacher_, quiet())
        ->run();
  }
  static void TearDownTestSuite() {
    fs::remove_all(*teacher_);
    delete teacher_;
  }
  static const fs::path& teacher() { return *teacher_; }

  // A distill config for the teacher; `extra` are overrides.
  static DistillConfig config(std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), "distill.teacher=" + teacher().string());
    return parse_distill_config(R"(
seed: 5
distill:
  total_steps: 30720
  num_envs: 8
  num_steps: 128
  minibatch_size: 128
  epochs: 4
  learning_rate: 0.003
  eval_episodes: 8
  eval_every: 5
run: {tensorboard: false, checkpoint_every: 10}
)",
                                extra);
  }

  static double deterministic_return(const PolicySnapshot& policy) {
    return evaluate(envs::LocalVectorEnv::make("CartPole-v1", {}, 8, 1), policy, 16, true, 77)
        .mean_return();
  }

 private:
  static fs::path* teacher_;
};
fs::path* Distill::teacher_ = nullptr;

TEST_F(Distill, ASameArchitectureStudentMatchesTheTeacher) {
  const SavedPolicy t = SavedPolicy::read(teacher() / "policy.trustrl");
  const double teacher_return = deterministic_return(t.snapshot);
  // A teacher much better than chance (~20), so that matching it means something.
  ASSERT_GT(teacher_return, 100.0);
  const fs::path dir = fresh_dir("same");
  auto d = Distiller::start(config(), dir, silent());
  d->run();
  EXPECT_LT(d->last_stats().kl, 1e-3);
  // `trustrl eval` reads the student as it reads any policy file.
  const SavedPolicy student = SavedPolicy::read(dir / "policy.trustrl");
  EXPECT_EQ(student.env_id, "CartPole-v1");
  const double student_return = deterministic_return(student.snapshot);
  EXPECT_GE(student_return, 0.95 * teacher_return)
      << "student " << student_return << ", teacher " << teacher_return;
  const auto table = testing::MetricsTable::read(dir / "metrics.csv");
  ASSERT_EQ(table.rows.size(), static_cast<std::size_t>(d->config().num_updates()));
  EXPECT_LT(table.at(table.rows.size() - 1, "distill/kl"), table.at(0, "distill/kl"));
  EXPECT_FALSE(std::isnan(table.at(table.rows.size() - 1, "distill/return")));
  fs::remove_all(dir);
}

TEST_F(Distill, ResumeContinuesExactly) {
  const DistillConfig c = config({"distill.total_steps=10240", "run.checkpoint_every=3",
                                  "distill.collect=mixed", "distill.temperature=2"});
  const fs::path straight = fresh_dir("straight"), split = fresh_dir("split");
  Distiller::start(c, straight, silent())->run();
  Distiller::start(c, split, silent())->run(4);
  auto resumed = Distiller::resume(RunDir::open(split), silent());
  EXPECT_EQ(resumed->update(), 4);
  resumed->run();
  const auto a = testing::MetricsTable::read(straight / "metrics.csv").without_clock();
  const auto b = testing::MetricsTable::read(split / "metrics.csv").without_clock();
  ASSERT_EQ(a.size(), 10u);
  EXPECT_EQ(a, b);
  EXPECT_EQ(read_file(straight / "policy.trustrl").size(),
            read_file(split / "policy.trustrl").size());
  EXPECT_EQ(SavedPolicy::read(straight / "policy.trustrl").snapshot.groups[0].weights.actor[0].w,
            SavedPolicy::read(split / "policy.trustrl").snapshot.groups[0].weights.actor[0].w);
  fs::remove_all(straight);
  fs::remove_all(split);
}

// One line naming the key, the file and what is wrong; no run directory left behind. Returns the
// message for further checks.
std::string expect_refused(const DistillConfig& c, const std::vector<std::string>& parts) {
  const fs::path dir = fresh_dir("refused");
  std::string m;
  try {
    Distiller::start(c, dir, silent());
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    for (const std::string& p : parts) EXPECT_NE(m.find(p), std::string::npos) << p << ": " << m;
  }
  EXPECT_FALSE(fs::exists(dir));
  return m;
}

TEST_F(Distill, ATeacherForAnotherEnvIsRefusedNamingBothHashes) {
  const fs::path acrobot = fresh_dir("acrobot");
  Trainer::start(parse_train_config("total_steps: 512\nenv: {id: Acrobot-v1}\n"
                                    "ppo: {num_steps: 128}\nrun: {tensorboard: false}\n"),
                 acrobot, quiet())
      ->run();
  const DistillConfig c = config(
      {"distill.teacher=" + teacher().string() + ", " + (acrobot / "policy.trustrl").string()});
  const std::string m =
      expect_refused(c, {"distill.teacher", "Acrobot-v1", "CartPole-v1", "policy.trustrl"});
  const auto first = m.find("spec hash 0x");
  EXPECT_NE(first, std::string::npos) << m;
  if (first != std::string::npos) {
    EXPECT_NE(m.find("spec hash 0x", first + 1), std::string::npos) << m;
  }
  fs::remove_all(acrobot);
}

TEST_F(Distill, ACorruptTeacherIsRefusedNamingTheFile) {
  const fs::path copy = fresh_dir("corrupt.pt");
  auto bytes = read_file(teacher() / "policy.trustrl");
  bytes[bytes.size() / 2] ^= 0x40;
  write_file_atomic(copy, bytes);
  expect_refused(config({"distill.teacher=" + copy.string()}),
                 {"distill.teacher", copy.string(), "corrupt"});
  expect_refused(config({"distill.teacher=" + (teacher() / "missing.pt").string()}),
                 {"distill.teacher", "missing.pt"});
  fs::remove_all(copy);
}

// A short MAPPO run on speaker_listener: two agents with different spaces, so two agent groups.
fs::path train_speaker_listener(const std::string& name, const std::string& extra = "") {
  const fs::path dir = fresh_dir(name);
  Trainer::start(parse_train_config("algo: mappo\nseed: 2\ntotal_steps: 12800\n"
                                    "env: {id: simple_speaker_listener_v4, num_envs: 4}\n"
                                    "ppo: {num_steps: 100, num_minibatches: 2}\n"
                                    "run: {tensorboard: false}\n" +
                                    extra),
                 dir, quiet())
      ->run();
  return dir;
}

// Per agent group: the student has the teacher's groups, each network trained on its group's
// rows, and the KL to the teacher falls in every group alike.
TEST_F(Distill, AMultiAgentTeacherIsDistilledPerAgentGroup) {
  const fs::path teacher_dir = train_speaker_listener("speaker");
  const SavedPolicy teacher = SavedPolicy::read(teacher_dir / "policy.trustrl");
  ASSERT_TRUE(teacher.multi_agent);
  ASSERT_EQ(teacher.snapshot.groups.size(), 2u);
  const fs::path dir = fresh_dir("ma_student");
  const DistillConfig c = parse_distill_config(
      "seed: 4\ndistill:\n  teacher: " + teacher_dir.string() +
      "\n  student: {actor_hidden: [32, 32]}\n  total_steps: 25600\n  num_envs: 8\n"
      "  num_steps: 100\n  minibatch_size: 200\n  epochs: 4\n  eval_episodes: 4\n"
      "  eval_every: 8\nrun: {tensorboard: false, checkpoint_every: 10}\n");
  auto d = Distiller::start(c, dir, silent());
  d->run();
  const auto table = testing::MetricsTable::read(dir / "metrics.csv");
  ASSERT_EQ(table.rows.size(), 32u);
  const double first = table.at(0, "distill/kl"), last = table.at(31, "distill/kl");
  EXPECT_LT(last, 0.1 * first) << "first " << first << ", last " << last;
  EXPECT_LT(last, 0.01);
  const SavedPolicy student = SavedPolicy::read(dir / "policy.trustrl");
  EXPECT_TRUE(student.multi_agent);
  EXPECT_EQ(student.env_id, "simple_speaker_listener_v4");
  ASSERT_EQ(student.snapshot.groups.size(), 2u);
  for (std::size_t g = 0; g < 2; ++g) {
    const GroupPolicy& s = student.snapshot.groups[g];
    const GroupPolicy& t = teacher.snapshot.groups[g];
    EXPECT_EQ(s.agents, t.agents);
    EXPECT_EQ(s.actor_input_dim(), t.actor_input_dim());
    EXPECT_EQ(s.weights.actor.front().out, 32);  // the student's own hidden width
  }
  // Every group's student is near its teacher on fresh states, not only on average.
  EnvActor actor(teacher.make_multi_agent_env(4), 99);
  actor.set_policy(teacher.snapshot);
  Rollout r;
  actor.collect(50, r);
  for (std::size_t g = 0; g < 2; ++g) {
    const GroupPolicy& tg = teacher.snapshot.groups[g];
    std::vector<float> raw;
    for (std::int64_t i = 0; i < r.env_steps(); ++i)
      for (const int agent : tg.agents) {
        raw.resize(raw.size() + static_cast<std::size_t>(tg.actor_input_dim()));
        write_actor_input(
            tg, &r.observations[static_cast<std::size_t>((i * r.num_agents + agent) * r.obs_dim)],
            agent, raw.data() + raw.size() - tg.actor_input_dim());
      }
    const std::int64_t rows = static_cast<std::int64_t>(raw.size()) / tg.actor_input_dim();
    FrozenPolicy t(tg, "teacher"), s(student.snapshot.groups[g], "student");
    const double kl =
        kl_divergence(t.distribution(raw.data(), rows), s.distribution(raw.data(), rows))
            .mean()
            .item<double>();
    EXPECT_LT(kl, 0.02) << "group " << g;
  }
  fs::remove_all(dir);
  fs::remove_all(teacher_dir);
}

TEST_F(Distill, TeachersOfOneStudentMustShareEnvAndGrouping) {
  const fs::path grouped = train_speaker_listener("grouped");
  // A single-agent teacher beside a multi-agent one: refused before any env is built.
  expect_refused(config({"distill.teacher=" + teacher().string() + ", " + grouped.string()}),
                 {"distill.teacher", "multi-agent", "single-agent", "simple_speaker_listener_v4"});
  // The same env with the agents grouped otherwise (an agent id appended to the actor input).
  const fs::path other = train_speaker_listener("other", "mappo: {agent_id: true}\n");
  DistillConfig c = config({"distill.teacher=" + grouped.string() + ", " + other.string()});
  expect_refused(c, {"distill.teacher", "groups its agents differently"});
  fs::remove_all(grouped);
  fs::remove_all(other);
}

TEST(DistillConfig, BadValuesAreRefusedNamingTheKey) {
  for (const char* bad : {"distill.temperature=0", "distill.temperature=-1"}) {
    try {
      parse_distill_config("distill: {teacher: t.pt}\n", {bad});
      ADD_FAILURE() << bad << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("distill.temperature"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(parse_distill_config("distill: {teacher: ''}\n"), ConfigError);
  EXPECT_THROW(parse_distill_config("distill: {teacher: 'a.pt,'}\n"), ConfigError);
  const DistillConfig two = parse_distill_config("distill: {teacher: 'a.pt, runs/b'}\n");
  EXPECT_EQ(two.distill.teachers(), (std::vector<std::string>{"a.pt", "runs/b"}));
}

}  // namespace
}  // namespace trustrl::agents
