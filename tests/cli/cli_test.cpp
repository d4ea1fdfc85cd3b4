// The trustrl binary as a user meets it: bad input gets one line naming the problem and a
// non-zero exit, and leaves no run directory that looks valid.

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <sys/wait.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/files.h"
#include "core/section_file.h"
#include "trustrl/version.h"

namespace {

namespace fs = std::filesystem;

struct Result {
  int exit_code = -1;
  std::string out, err;
};

const fs::path& scratch() {
  static const fs::path dir = [] {
    const fs::path p = fs::temp_directory_path() / ("trustrl_cli_" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
  }();
  return dir;
}

Result trustrl(const std::string& args) {
  const fs::path out = scratch() / "stdout.txt", err = scratch() / "stderr.txt";
  const std::string cmd = std::string(TRUSTRL_BINARY_DIR) + "/cli/trustrl " + args + " > " +
                          out.string() + " 2> " + err.string() + " < /dev/null";
  const int status = std::system(cmd.c_str());
  Result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = trustrl::read_text_file(out);
  r.err = trustrl::read_text_file(err);
  return r;
}

std::string write_config(const std::string& name, const std::string& yaml) {
  const fs::path p = scratch() / name;
  std::ofstream(p) << yaml;
  return p.string();
}

void expect_one_line_error(const Result& r, const std::string& needle) {
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line:\n" << r.err;
  EXPECT_EQ(r.err.find("frame #"), std::string::npos) << "stack dump:\n" << r.err;
}

const char* kTiny = "total_steps: 512\nenv: {id: CartPole-v1, num_envs: 2}\nppo: {num_steps: 64}\n";

TEST(Cli, MisspelledKey) {
  const std::string cfg =
      write_config("typo.yaml", std::string(kTiny) + "ppo2: {learnin_rate: 0.1}\n");
  const fs::path run = scratch() / "typo_run";
  const Result r = trustrl("train " + cfg + " --run-dir " + run.string());
  expect_one_line_error(r, "unknown config key 'ppo2'");
  EXPECT_FALSE(fs::exists(run));
  const std::string cfg2 = write_config("typo2.yaml", "ppo: {learnin_rate: 0.1}\n");
  expect_one_line_error(trustrl("train " + cfg2), "did you mean 'ppo.learning_rate'");
}

TEST(Cli, NegativeLearningRate) {
  const std::string cfg = write_config("neg.yaml", kTiny);
  const fs::path run = scratch() / "neg_run";
  const Result r =
      trustrl("train " + cfg + " --set ppo.learning_rate=-0.001 --run-dir " + run.string());
  expect_one_line_error(r, "ppo.learning_rate: must be > 0, got -0.001");
  EXPECT_FALSE(fs::exists(run));
}

TEST(Cli, UnknownEnvId) {
  const std::string cfg = write_config("env.yaml", kTiny);
  const fs::path run = scratch() / "env_run";
  const Result r = trustrl("train " + cfg + " --set env.id=CartPole-v0 --run-dir " + run.string());
  expect_one_line_error(r, "unknown env id 'CartPole-v0' (did you mean 'CartPole-v1'?)");
  EXPECT_FALSE(fs::exists(run));
}

TEST(Cli, MissingConfigFile) {
  expect_one_line_error(trustrl("train /nonexistent.yaml"), "/nonexistent.yaml");
}

TEST(Cli, EvalOnMissingOrNonRunDirectory) {
  expect_one_line_error(trustrl("eval /nonexistent/run"), "does not exist");
  fs::create_directories(scratch() / "not_a_run");
  expect_one_line_error(trustrl("eval " + (scratch() / "not_a_run").string()),
                        "not a trustrl run directory");
}

TEST(Cli, TrainEvalAndCorruptFiles) {
  const std::string cfg = write_config("ok.yaml", kTiny);
  const fs::path run = scratch() / "ok_run";
  const Result t = trustrl("train " + cfg + " --run-dir " + run.string() + " --quiet");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_TRUE(fs::exists(run / "config.yaml"));
  EXPECT_TRUE(fs::exists(run / "policy.trustrl"));
  EXPECT_TRUE(fs::exists(run / "metrics.csv"));
  const Result e = trustrl("eval " + run.string() + " --episodes 3 --deterministic");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.out.find("CartPole-v1: 3 episodes (deterministic), return "), std::string::npos)
      << e.out;

  // A second train into the same directory must not clobber it.
  expect_one_line_error(trustrl("train " + cfg + " --run-dir " + run.string()),
                        "already holds a run");

  // Truncated policy and checkpoint files.
  for (const fs::path& f : {run / "policy.trustrl", fs::path()}) {
    fs::path target = f;
    if (target.empty())
      for (const auto& entry : fs::directory_iterator(run / "checkpoints")) target = entry.path();
    auto bytes = trustrl::read_file(target);
    bytes.resize(bytes.size() - 10);
    trustrl::write_file_atomic(target, bytes);
    expect_one_line_error(trustrl("eval " + target.string()), "truncated or corrupt");
  }
  expect_one_line_error(trustrl("train --resume " + run.string()), "truncated or corrupt");
  expect_one_line_error(trustrl("eval " + cfg), "not a trustrl file");
}

TEST(Cli, EvalJsonReport) {
  const std::string cfg = write_config("json.yaml", kTiny);
  const fs::path run = scratch() / "json_run";
  ASSERT_EQ(trustrl("train " + cfg + " --run-dir " + run.string() + " --quiet").exit_code, 0);
  const fs::path report = scratch() / "report.json";
  const Result e =
      trustrl("eval " + run.string() + " --episodes 5 --deterministic --seed 7 --json --out " +
              report.string());
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const auto j = nlohmann::json::parse(e.out);  // stdout is the JSON alone
  EXPECT_EQ(trustrl::read_text_file(report), e.out);
  EXPECT_EQ(j["env_id"], "CartPole-v1");
  EXPECT_EQ(j["policy_file"].get<std::string>(), (run / "policy.trustrl").string());
  EXPECT_EQ(j["seed"], 7);
  EXPECT_EQ(j["deterministic"], true);
  EXPECT_EQ(j["multi_agent"], false);
  EXPECT_TRUE(j["env_server"].is_null());
  EXPECT_EQ(j["spec_hash"].get<std::string>().size(), 18u);
  EXPECT_EQ(j["spec_hash"].get<std::string>().substr(0, 2), "0x");
  EXPECT_EQ(j["episodes"], 5);
  const auto returns = j["returns"].get<std::vector<double>>();
  const auto lengths = j["lengths"].get<std::vector<int>>();
  ASSERT_EQ(returns.size(), 5u);
  ASSERT_EQ(lengths.size(), 5u);
  double mean = 0;
  for (std::size_t i = 0; i < returns.size(); ++i) {
    EXPECT_EQ(returns[i], lengths[i]);  // CartPole pays 1 a step
    mean += returns[i] / 5;
  }
  const auto& ret = j["return"];
  EXPECT_NEAR(ret["mean"].get<double>(), mean, 1e-9);
  EXPECT_EQ(ret["min"].get<double>(), *std::min_element(returns.begin(), returns.end()));
  EXPECT_EQ(ret["max"].get<double>(), *std::max_element(returns.begin(), returns.end()));
  EXPECT_EQ(ret["ci95"]["method"], "student-t");
  EXPECT_LE(ret["ci95"]["low"].get<double>(), mean);
  EXPECT_GE(ret["ci95"]["high"].get<double>(), mean);
  EXPECT_NEAR(j["length"]["mean"].get<double>(), mean, 1e-9);
  EXPECT_FALSE(j.contains("team_returns"));

  // --out alone keeps the summary line on stdout; one episode has no interval.
  const Result one = trustrl("eval " + run.string() + " --episodes 1 --out " + report.string());
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(one.out.find("CartPole-v1: 1 episodes"), std::string::npos) << one.out;
  const auto j1 = nlohmann::json::parse(trustrl::read_text_file(report));
  EXPECT_TRUE(j1["return"]["ci95"]["low"].is_null());
  EXPECT_EQ(j1["deterministic"], false);
}

TEST(Cli, EvalReportToAnUnwritablePath) {
  const std::string cfg = write_config("unwritable.yaml", kTiny);
  const fs::path run = scratch() / "unwritable_run";
  ASSERT_EQ(trustrl("train " + cfg + " --run-dir " + run.string() + " --quiet").exit_code, 0);
  const fs::path missing_dir = scratch() / "no_such_dir" / "report.json";
  expect_one_line_error(trustrl("eval " + run.string() + " --json --out " + missing_dir.string()),
                        "directory '" + missing_dir.parent_path().string() + "' does not exist");
  EXPECT_FALSE(fs::exists(missing_dir.parent_path()));
  expect_one_line_error(trustrl("eval " + run.string() + " --out " + scratch().string()),
                        "is a directory, not a file");
  // A directory nobody can create files in, root included: the write itself fails, after the
  // episodes, and leaves neither the report nor its temporary.
  const Result r = trustrl("eval " + run.string() + " --episodes 1 --json --out /proc/report.json");
  expect_one_line_error(r, "/proc/");
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_FALSE(fs::exists("/proc/report.json"));
}

TEST(Cli, EvalReadsAnOlderRunsPolicyPt) {
  // A run directory written before the rename holds policy.pt only.
  const fs::path legacy = fs::path(TRUSTRL_TEST_DATA_DIR) / "legacy_runs" / "ppo";
  ASSERT_TRUE(fs::exists(legacy / "policy.pt"));
  ASSERT_FALSE(fs::exists(legacy / "policy.trustrl"));
  const Result r = trustrl("eval " + legacy.string() + " --episodes 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["policy_file"].get<std::string>(),
            (legacy / "policy.pt").string());
  const Result file = trustrl("eval " + (legacy / "policy.pt").string() + " --episodes 2");
  ASSERT_EQ(file.exit_code, 0) << file.err;
  EXPECT_NE(file.out.find("CartPole-v1: 2 episodes"), std::string::npos) << file.out;
}

void edit_action_count(const fs::path& policy, std::int64_t n);

std::map<std::string, std::string> onnx_metadata(const fs::path& file) {
  onnx::ModelProto m;
  const std::string bytes = trustrl::read_text_file(file);
  EXPECT_TRUE(m.ParseFromString(bytes)) << file;
  std::map<std::string, std::string> out;
  for (const auto& e : m.metadata_props()) out[e.key()] = e.value();
  return out;
}

TEST(Cli, ExportWritesAnOnnxGraph) {
  const std::string cfg = write_config("export.yaml", kTiny);
  const fs::path run = scratch() / "export_run";
  ASSERT_EQ(trustrl("train " + cfg + " --run-dir " + run.string() + " --quiet").exit_code, 0);
  const fs::path onnx_file = scratch() / "cartpole.onnx";
  const Result r = trustrl("export " + run.string() + " --format onnx -o " + onnx_file.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote " + onnx_file.string()), std::string::npos) << r.out;
  const auto meta = onnx_metadata(onnx_file);
  EXPECT_EQ(meta.at("env_id"), "CartPole-v1");
  EXPECT_EQ(meta.at("trustrl_version"), trustrl::kVersion);
  // The spec hash is the one eval reports for the env it plays.
  const Result e = trustrl("eval " + run.string() + " --episodes 1 --json");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(meta.at("spec_hash"), nlohmann::json::parse(e.out)["spec_hash"].get<std::string>());

  // An older run's policy.pt exports too.
  const fs::path legacy = fs::path(TRUSTRL_TEST_DATA_DIR) / "legacy_runs" / "ppo";
  const fs::path legacy_onnx = scratch() / "legacy.onnx";
  ASSERT_EQ(trustrl("export " + legacy.string() + " -o " + legacy_onnx.string()).exit_code, 0);
  EXPECT_EQ(onnx_metadata(legacy_onnx).at("env_id"), "CartPole-v1");
}

TEST(Cli, ExportRefusesBadInputAndLeavesNoFile) {
  const std::string cfg = write_config("export_bad.yaml", kTiny);
  const fs::path run = scratch() / "export_bad_run";
  ASSERT_EQ(trustrl("train " + cfg + " --run-dir " + run.string() + " --quiet").exit_code, 0);
  const fs::path out = scratch() / "bad.onnx";
  // Not a trustrl file, a missing file, a truncated policy, an edited one.
  expect_one_line_error(trustrl("export " + cfg + " -o " + out.string()), "not a trustrl file");
  expect_one_line_error(
      trustrl("export " + (scratch() / "nothing").string() + " -o " + out.string()),
      "does not exist");
  const fs::path policy = run / "policy.trustrl", truncated = scratch() / "truncated.trustrl";
  auto bytes = trustrl::read_file(policy);
  bytes.resize(bytes.size() - 10);
  trustrl::write_file_atomic(truncated, bytes);
  expect_one_line_error(trustrl("export " + truncated.string() + " -o " + out.string()),
                        "truncated or corrupt");
  const fs::path edited = scratch() / "edited_for_export.trustrl";
  fs::copy_file(policy, edited);
  edit_action_count(edited, 3);
  expect_one_line_error(trustrl("export " + edited.string() + " -o " + out.string()),
                        "has an actor of 2 outputs for actions Discrete(3)");
  EXPECT_FALSE(fs::exists(out));
  // An output nobody can write, and flags that do not exist.
  expect_one_line_error(
      trustrl("export " + run.string() + " -o " + (scratch() / "no_dir" / "p.onnx").string()),
      "does not exist");
  expect_one_line_error(trustrl("export " + run.string() + " -o /proc/p.onnx"), "/proc/");
  EXPECT_NE(trustrl("export " + run.string() + " --format tflite -o " + out.string()).exit_code, 0);
  EXPECT_FALSE(fs::exists(out));
}

TEST(Cli, PlotDrawsRunsAndNamesBadInput) {
  const std::string cfg = write_config("plot.yaml", kTiny);
  const fs::path run = scratch() / "plot_run";
  ASSERT_EQ(trustrl("train " + cfg + " --run-dir " + run.string() + " --quiet").exit_code, 0);
  const fs::path png = scratch() / "curves.png";
  const Result r = trustrl("plot " + run.string() + " -o " + png.string() +
                           " --metric losses/approx_kl --target 0.01");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto bytes = trustrl::read_file(png);
  ASSERT_GT(bytes.size(), 1000u);
  EXPECT_EQ(std::string(bytes.begin() + 1, bytes.begin() + 4), "PNG");
  const fs::path svg = scratch() / "curves.svg";
  ASSERT_EQ(trustrl("plot " + run.string() + " --x time -o " + svg.string()).exit_code, 0);
  // A metric the run does not log lists those it does; a run without metrics says so.
  expect_one_line_error(trustrl("plot " + run.string() + " --metric kl/nope -o " + png.string()),
                        "has no metric 'kl/nope'; its metrics are: global_step, update,");
  fs::create_directories(scratch() / "no_metrics");
  const fs::path none = scratch() / "none.png";
  expect_one_line_error(
      trustrl("plot " + (scratch() / "no_metrics").string() + " -o " + none.string()),
      "has no metrics.csv");
  EXPECT_FALSE(fs::exists(none));
  // --panels with a per-env target (a negative one too: a value, not an option); a bad target.
  const fs::path panels = scratch() / "panels.png";
  const Result p = trustrl("plot --panels --target CartPole-v1=-100 --target 200 --smooth 5% " +
                           run.string() + " -o " + panels.string());
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_TRUE(fs::exists(panels));
  expect_one_line_error(
      trustrl("plot " + run.string() + " --target CartPole-v1=high -o " + none.string()),
      "--target takes a number or ENV=NUMBER");
  expect_one_line_error(trustrl("plot " + run.string() + " --smooth 5x -o " + none.string()),
                        "--smooth takes a window W or a share of each run P%");
  EXPECT_FALSE(fs::exists(none));
}

TEST(Cli, EvalRecordsAnAnimation) {
  const std::string cfg = write_config("rec.yaml", kTiny);
  const fs::path run = scratch() / "rec_run";
  ASSERT_EQ(trustrl("train " + cfg + " --run-dir " + run.string() + " --quiet").exit_code, 0);
  const fs::path gif = scratch() / "cartpole.gif";
  const Result r = trustrl("eval " + run.string() + " --episodes 2 --record " + gif.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto bytes = trustrl::read_file(gif);
  ASSERT_GT(bytes.size(), 1000u);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 6), "GIF89a");
  expect_one_line_error(
      trustrl("eval " + run.string() + " --episodes 1 --record " + (scratch() / "x.avi").string()),
      ".avi");
}

TEST(Cli, MultiAgentTrainEvalRecord) {
  const std::string cfg = write_config("ma.yaml",
                                       "algo: mappo\ntotal_steps: 800\nenv: {id: simple_spread_v3, "
                                       "num_envs: 4}\nppo: {num_steps: 25}\n");
  const fs::path run = scratch() / "ma_run";
  const Result t = trustrl("train " + cfg + " --run-dir " + run.string() + " --quiet");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const fs::path mp4 = scratch() / "spread.mp4";
  const Result e = trustrl("eval " + run.string() + " --episodes 2 --record " + mp4.string());
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.out.find("simple_spread_v3: 2 episodes"), std::string::npos) << e.out;
  const Result js = trustrl("eval " + run.string() + " --episodes 3 --json");
  ASSERT_EQ(js.exit_code, 0) << js.err;
  const auto j = nlohmann::json::parse(js.out);
  EXPECT_EQ(j["multi_agent"], true);
  ASSERT_EQ(j["team_returns"].size(), 3u);
  ASSERT_EQ(j["returns"].size(), 3u);
  // "returns" is the mean over the 3 agents of their returns, the team return their sum.
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_NEAR(j["team_returns"][i].get<double>(), 3 * j["returns"][i].get<double>(), 1e-6);
  EXPECT_NEAR(j["team_return"]["mean"].get<double>(), 3 * j["return"]["mean"].get<double>(), 1e-6);
  const auto bytes = trustrl::read_file(mp4);
  ASSERT_GT(bytes.size(), 1000u);
  EXPECT_EQ(std::string(bytes.begin() + 4, bytes.begin() + 8), "ftyp");
  // A single-agent algorithm on a multi-agent env is refused, naming the fix.
  expect_one_line_error(
      trustrl("train " + cfg + " --set algo=ppo --run-dir " + (scratch() / "bad_ma").string()),
      "train it with algo: mappo");
}

TEST(Cli, BadFlags) {
  // CLI11 answers these itself: a line naming the problem, then one pointing at --help.
  for (const auto& [args, problem] :
       {std::pair{"train --bogus", "--bogus"}, std::pair{"eval", "target is required"},
        std::pair{"", "A subcommand is required"}}) {
    const Result r = trustrl(args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_NE(r.err.find(problem), std::string::npos) << args << ": " << r.err;
  }
  const std::string cfg = write_config("flags.yaml", kTiny);
  expect_one_line_error(trustrl("train " + cfg + " --set nonsense"), "--set expects key=value");
  expect_one_line_error(trustrl("train --resume /nonexistent/run"), "does not exist");
}

TEST(Cli, EnvsListsTheBuiltIns) {
  const Result r = trustrl("envs");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* id : {"CartPole-v1", "Pendulum-v1", "LunarLander-v3", "BipedalWalker-v3"})
    EXPECT_NE(r.out.find(id), std::string::npos) << id;
}

// `trustrl distill` writes a run that `trustrl eval` and `trustrl bench policy` read as any other;
// a bad temperature or teacher is one line before any directory is made.
TEST(Cli, DistillEvalAndBenchPolicy) {
  const std::string cfg = write_config("teacher.yaml", kTiny);
  const fs::path teacher = scratch() / "distill_teacher";
  ASSERT_EQ(trustrl("train " + cfg + " --run-dir " + teacher.string() + " --quiet").exit_code, 0);
  const std::string distill =
      write_config("distill.yaml", "distill:\n  teacher: " + teacher.string() +
                                       "\n  student: {actor_hidden: [8, 8], critic_hidden: [8]}\n"
                                       "  total_steps: 512\n  num_envs: 2\n  num_steps: 64\n"
                                       "  minibatch_size: 32\n  eval_episodes: 2\n"
                                       "run: {tensorboard: false}\n");
  const fs::path student = scratch() / "distill_student";
  const Result d = trustrl("distill " + distill + " --run-dir " + student.string() + " --quiet");
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.out.find(student.string()), std::string::npos) << d.out;
  const Result e = trustrl("eval " + student.string() + " --episodes 3 --deterministic");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.out.find("CartPole-v1: 3 episodes (deterministic), return "), std::string::npos)
      << e.out;
  const Result b = trustrl("bench policy " + teacher.string() + " " + student.string() +
                           " --rows 1 --seconds 0.05");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  // CartPole's actors: 4 -> 64 -> 64 -> 2 and 4 -> 8 -> 8 -> 2.
  EXPECT_NE(b.out.find(" | 4610 | "), std::string::npos) << b.out;
  EXPECT_NE(b.out.find(" | 130 | "), std::string::npos) << b.out;

  const fs::path refused = scratch() / "distill_refused";
  expect_one_line_error(trustrl("distill " + distill + " --run-dir " + refused.string() +
                                " --set distill.temperature=0"),
                        "distill.temperature");
  expect_one_line_error(trustrl("distill " + distill + " --run-dir " + refused.string() +
                                " --set distill.teacher=" + cfg),
                        "distill.teacher");
  EXPECT_FALSE(fs::exists(refused));
}

TEST(Cli, BenchEnvsTakesPlainAndMultiAgentIds) {
  const Result r = trustrl(
      "bench envs --ids CartPole-v1 simple_spread_v3 --copies 2 --threads 1 --seconds 0.05");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| CartPole-v1 | "), std::string::npos) << r.out;
  // A multi-agent id has no single-Env figure, only the vector one.
  EXPECT_NE(r.out.find("| simple_spread_v3 | - | "), std::string::npos) << r.out;
}

TEST(Cli, VersionIsTheProjectVersion) {
  const Result r = trustrl("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "trustrl " + std::string(trustrl::kVersion) + "\n");
  EXPECT_FALSE(trustrl::kVersion.empty());
}

// --------------------------------------------------------------- hostile and careless input

const char* kTrustrl = TRUSTRL_BINARY_DIR "/cli/trustrl";

Result shell(const std::string& command) {
  const fs::path out = scratch() / "stdout.txt", err = scratch() / "stderr.txt";
  const std::string cmd =
      "(" + command + ") > " + out.string() + " 2> " + err.string() + " < /dev/null";
  const int status = std::system(cmd.c_str());
  Result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = trustrl::read_text_file(out);
  r.err = trustrl::read_text_file(err);
  return r;
}

// trustrl under a time limit: a command that should fail at once but does not would otherwise
// serve or train on.
Result bounded(const std::string& args, int seconds) {
  return shell("timeout " + std::to_string(seconds) + " " + kTrustrl + " " + args);
}

// Ctrl-C during `train` finishes the update, writes a checkpoint and ends the process by the same
// signal (that a second one kills is StopSignals' test: here it would race with the stop).
// Starts a training run and sends it `signal` (kill's name for it) once its third update is in
// metrics.csv; the shell's status is the training's.
std::string train_then_interrupt(const fs::path& dir, const std::string& config,
                                 const std::string& signal) {
  return std::string(kTrustrl) + " train " + config + " --quiet --run-dir " + dir.string() +
         " & pid=$!; for i in $(seq 600); do [ -f " + (dir / "metrics.csv").string() +
         " ] && [ $(wc -l < " + (dir / "metrics.csv").string() +
         ") -ge 3 ] && break; sleep 0.05; done; kill -" + signal + " $pid; wait $pid";
}

TEST(Cli, CtrlCStopsTrainingWithACheckpointAndTheSignalsStatus) {
  const std::string config =
      write_config("endless.yaml",
                   "total_steps: 100000000\nenv: {id: CartPole-v1, num_envs: 2}\n"
                   "ppo: {num_steps: 64}\nrun: {checkpoint_every: 1000000}\n");
  for (const auto& [signal, status] :
       std::vector<std::pair<std::string, int>>{{"INT", 130}, {"TERM", 143}}) {
    const fs::path run = scratch() / ("interrupted_" + signal);
    const Result stopped = shell(train_then_interrupt(run, config, signal) + " && echo went-on");
    // The shell's status for a child that a signal ended (128 + its number): the stop was clean,
    // but the run is not done, and `train && eval` must not go on.
    EXPECT_EQ(stopped.exit_code, status) << signal << ": " << stopped.err;
    EXPECT_EQ(stopped.out.find("went-on"), std::string::npos) << stopped.out;
    EXPECT_NE(stopped.out.find(run.string()), std::string::npos) << stopped.out;
    // checkpoint_every is far away: the only checkpoint is the one the stop wrote.
    ASSERT_TRUE(fs::exists(run / "checkpoints")) << stopped.err;
    EXPECT_FALSE(fs::is_empty(run / "checkpoints"));
    const std::string log = trustrl::read_text_file(run / "train.log");
    EXPECT_NE(log.find("stopped at update "), std::string::npos) << log;
  }
}

TEST(Cli, FullDiskStopsTheRunWithAnError) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full here";
  const std::string cfg = write_config("full.yaml", kTiny);
  // /dev/full fails every write with ENOSPC, as a full disk does.
  for (const char* file : {"metrics.csv", "train.log"}) {
    const fs::path run = scratch() / ("full_" + std::string(file));
    fs::create_directories(run);
    fs::create_symlink("/dev/full", run / file);
    const Result r = shell("timeout 60 " + std::string(kTrustrl) + " train " + cfg + " --run-dir " +
                           run.string() + " --quiet");
    expect_one_line_error(r,
                          "cannot write '" + (run / file).string() + "': No space left on device");
    EXPECT_EQ(r.out, "") << "a failed run printed its directory as if done";
  }
}

// The action space of a CartPole policy file edited to Discrete(n), checksums recomputed.
void edit_action_count(const fs::path& policy, std::int64_t n) {
  trustrl::SectionFile file = trustrl::SectionFile::read(policy, "policy");
  std::vector<std::uint8_t> bytes = file.get("policy");
  // version (8), groups (4), agents (8 + 4), space kind (4), shape/low/high counts (3 x 8), n.
  constexpr std::size_t kN = 52;
  std::int64_t old = 0;
  std::memcpy(&old, bytes.data() + kN, 8);
  ASSERT_EQ(old, 2) << "the policy layout changed; update the offset";
  std::memcpy(bytes.data() + kN, &n, 8);
  file.add("policy", bytes);
  file.write(policy);
}

TEST(Cli, EditedPolicyFilesAreRefusedNamingTheFile) {
  const std::string cfg = write_config("edited.yaml", kTiny);
  const fs::path run = scratch() / "edited_run";
  ASSERT_EQ(trustrl("train " + cfg + " --run-dir " + run.string() + " --quiet").exit_code, 0);
  const fs::path policy = run / "policy.trustrl", saved = scratch() / "edited_policy.trustrl";
  fs::copy_file(policy, saved);
  for (const std::int64_t n : {1000000, 64, 3, 1}) {
    fs::copy_file(saved, policy, fs::copy_options::overwrite_existing);
    edit_action_count(policy, n);
    expect_one_line_error(trustrl("eval " + run.string() + " --episodes 1"),
                          "policy file '" + policy.string() +
                              "': saved policy group 0 has an actor of 2 outputs "
                              "for actions Discrete(" +
                              std::to_string(n) + ")");
  }
}

TEST(Cli, InputsAreRefusedRatherThanChanged) {
  const std::string cfg = write_config("dup.yaml", std::string(kTiny) + "total_steps: 1024\n");
  expect_one_line_error(trustrl("train " + cfg),
                        "key 'total_steps' appears twice, at lines 1 and 4");
  const std::string ok = write_config("inputs.yaml", kTiny);
  expect_one_line_error(trustrl("train " + ok + " --run-dir ''"), "--run-dir");
  Result r = trustrl("train " + ok + " --seed 99999999999999999999 --run-dir " +
                     (scratch() / "seed").string());
  expect_one_line_error(r, "99999999999999999999");
  EXPECT_EQ(r.err.find("9223372036854775807"), std::string::npos) << r.err;
  expect_one_line_error(
      trustrl("train " + ok + " --set env.options.max_episode_steps=4294967296 --run-dir " +
              (scratch() / "steps").string()),
      "option 'max_episode_steps' must be in [1, 2147483647], got 4294967296");
  expect_one_line_error(
      bounded("env-server --env CartPole-v1 --option max_episode_steps=4294967296", 20),
      "option 'max_episode_steps' must be in [1, 2147483647]");
  for (const std::string listen :
       {"127.0.0.1:99999", "127.0.0.1:65536", "127.0.0.1:", ":50051", "127.0.0.1"})
    expect_one_line_error(bounded("env-server --env CartPole-v1 --listen " + listen, 20),
                          "--listen '" + listen + "'");
}

TEST(Cli, ResourceBoundsGiveOneLine) {
  // /dev/zero never ends: read with a bound, under a memory limit in case it is not.
  if (fs::exists("/dev/zero")) {
    const Result r =
        shell("ulimit -v 8000000; timeout 60 " + std::string(kTrustrl) + " config /dev/zero");
    expect_one_line_error(r, "config file '/dev/zero' is larger than 1 MiB");
  }
  const std::string cfg = write_config("huge_net.yaml", kTiny);
  expect_one_line_error(trustrl("train " + cfg + " --set network.actor_hidden=[100000,100000]"),
                        "network.actor_hidden[0]: must be in [1, 65536], got 100000");
  expect_one_line_error(trustrl("config " + cfg + " --set network.actor_hidden=[60000,60000]"),
                        "make 3600244354 parameters; at most 100000000 are allowed");
}

TEST(Cli, MessagesNameTheRealProblem) {
  expect_one_line_error(trustrl("train " + scratch().string()),
                        "config file '" + scratch().string() + "' is a directory");
  const std::string cfg = write_config("messages.yaml", kTiny);
  const fs::path run = scratch() / "messages_run";
  ASSERT_EQ(trustrl("train " + cfg + " --run-dir " + run.string() + " --quiet").exit_code, 0);
  // policy.trustrl gone, checkpoints kept: say so, and which checkpoint to evaluate instead.
  fs::rename(run / "policy.trustrl", scratch() / "messages_policy.trustrl");
  expect_one_line_error(trustrl("eval " + run.string()), "its policy.trustrl is missing");
  // A directory where the policy file should be.
  fs::create_directories(run / "policy.trustrl");
  expect_one_line_error(
      trustrl("eval " + run.string()),
      "cannot read '" + (run / "policy.trustrl").string() + "': it is a directory, not a file");
}

TEST(Cli, MismatchedTlsFilesAreNamed) {
  const fs::path dir = scratch() / "tls";
  fs::create_directories(dir);
  for (const char* name : {"a", "b"}) {
    const std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "
        "/CN=localhost "
        "-keyout " +
        (dir / (std::string(name) + "_key.pem")).string() + " -out " +
        (dir / (std::string(name) + "_cert.pem")).string() + " 2>/dev/null";
    if (std::system(command.c_str()) != 0) GTEST_SKIP() << "the openssl tool is missing";
  }
  const Result r =
      bounded("env-server --env CartPole-v1 --tls-cert " + (dir / "a_cert.pem").string() +
                  " --tls-key " + (dir / "b_key.pem").string(),
              20);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("the key is not the certificate's"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("is the port taken"), std::string::npos) << r.err;
}

}  // namespace
