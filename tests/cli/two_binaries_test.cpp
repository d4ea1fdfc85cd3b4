// trustrl and trustrl-train (cli/hand_over.h): trustrl loads no libtorch, hands the training
// commands to trustrl-train unchanged, and runs the rest on a host that has only itself.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "core/files.h"
#include "tests/support/child_process.h"
#include "tests/support/scratch_dir.h"

namespace {

namespace fs = std::filesystem;

const std::string kLite = std::string(TRUSTRL_BINARY_DIR) + "/cli/trustrl";
const std::string kTrain = std::string(TRUSTRL_BINARY_DIR) + "/cli/trustrl-train";

struct Result {
  int exit_code = -1;
  std::string out, err;
};

Result run(const std::string& command) {
  static const fs::path dir = trustrl::testing::scratch_dir("two_binaries");
  const fs::path out = dir / "stdout.txt", err = dir / "stderr.txt";
  const std::string cmd =
      "(" + command + ") > " + out.string() + " 2> " + err.string() + " < /dev/null";
  const int status = std::system(cmd.c_str());
  Result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = trustrl::read_text_file(out);
  r.err = trustrl::read_text_file(err);
  return r;
}

// The file names of libtorch's and c10's libraries among `text`'s words (ldd output, a maps file).
std::vector<std::string> torch_libraries(const std::string& text) {
  static const std::regex library(R"(\b(lib(torch|c10)[A-Za-z0-9_]*\.so[0-9.]*))");
  std::vector<std::string> found;
  for (std::sregex_iterator it(text.begin(), text.end(), library), end; it != end; ++it)
    found.push_back((*it)[1]);
  return found;
}

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += n + " ";
  return s;
}

// The usage line names the binary as it was called; the rest of the help must not differ.
std::string without_binary_path(std::string help) {
  return std::regex_replace(help, std::regex("Usage: [^ ]+"), "Usage: BINARY");
}

TEST(TwoBinaries, TrustrlLinksNoLibtorch) {
  const Result lite = run("ldd " + kLite);
  ASSERT_EQ(lite.exit_code, 0) << lite.err;
  ASSERT_NE(lite.out.find("libgrpc"), std::string::npos) << lite.out;  // ldd listed something
  EXPECT_TRUE(torch_libraries(lite.out).empty())
      << kLite << " links " << joined(torch_libraries(lite.out))
      << "(a library it links pulls in libtorch; keep torch users in trustrl-train)";
  // The same check sees libtorch where it is.
  const Result train = run("ldd " + kTrain);
  ASSERT_EQ(train.exit_code, 0) << train.err;
  EXPECT_FALSE(torch_libraries(train.out).empty()) << train.out;
}

// What the process maps while it serves, so a dlopen() of libtorch at run time is caught too.
std::string maps_while_serving(const std::string& binary) {
  trustrl::testing::ChildProcess server({binary, "env-server", "--env", "CartPole-v1"});
  server.wait_for_line("listening on ", 60);
  const std::string maps =
      trustrl::read_text_file("/proc/" + std::to_string(server.pid()) + "/maps");
  server.signal(SIGINT);
  EXPECT_EQ(server.wait(30), 0) << server.output();
  return maps;
}

TEST(TwoBinaries, AServingTrustrlMapsNoLibtorch) {
  const std::string lite = maps_while_serving(kLite);
  ASSERT_NE(lite.find("libgrpc"), std::string::npos) << lite;
  EXPECT_TRUE(torch_libraries(lite).empty()) << "mapped: " << joined(torch_libraries(lite));
  EXPECT_FALSE(torch_libraries(maps_while_serving(kTrain)).empty());
}

TEST(TwoBinaries, BothListEveryCommandAlike) {
  const Result lite = run(kLite + " --help"), train = run(kTrain + " --help");
  ASSERT_EQ(lite.exit_code, 0) << lite.err;
  ASSERT_EQ(train.exit_code, 0) << train.err;
  EXPECT_EQ(without_binary_path(lite.out), without_binary_path(train.out));
  for (const char* command : {"train", "distill", "eval", "export", "plot", "envs", "config",
                              "bench", "env-server", "check-env", "learner", "actor"})
    EXPECT_NE(lite.out.find(std::string("\n  ") + command + " "), std::string::npos)
        << command << " missing from\n"
        << lite.out;
}

TEST(TwoBinaries, TrainingCommandsReachTrustrlTrainUnchanged) {
  // The sub-command's own help, its options included: trustrl-train parsed the command line.
  const Result lite_help = run(kLite + " train --help");
  const Result train_help = run(kTrain + " train --help");
  EXPECT_EQ(lite_help.exit_code, 0) << lite_help.err;
  EXPECT_NE(lite_help.out.find("--run-dir"), std::string::npos) << lite_help.out;
  EXPECT_EQ(without_binary_path(lite_help.out), without_binary_path(train_help.out));
  // Exit code and stderr come through as trustrl-train gives them.
  const Result lite = run(kLite + " learner /no/such/config.yaml");
  const Result train = run(kTrain + " learner /no/such/config.yaml");
  EXPECT_NE(lite.exit_code, 0);
  EXPECT_EQ(lite.exit_code, train.exit_code);
  EXPECT_EQ(lite.err, train.err);
  EXPECT_NE(lite.err.find("/no/such/config.yaml"), std::string::npos) << lite.err;
  // argv[0] is passed through: the usage line names what the user typed.
  EXPECT_NE(lite_help.out.find("Usage: " + kLite + " train"), std::string::npos) << lite_help.out;
  // The process stays the same (execv): the pid trustrl started with runs trustrl-train, so
  // signals sent to it reach the training (Cli.CtrlCStopsTrainingWithACheckpoint sends one).
  const fs::path dir = trustrl::testing::scratch_dir("hand_over_pid");
  trustrl::testing::ChildProcess learner(
      {kLite, "learner", std::string(TRUSTRL_SOURCE_DIR) + "/configs/ppo_cartpole.yaml",
       "--run-dir", (dir / "run").string(), "--listen", "127.0.0.1:0"});
  learner.wait_for_line("listening on ", 60);
  EXPECT_EQ(fs::read_symlink("/proc/" + std::to_string(learner.pid()) + "/exe"),
            fs::canonical(kTrain));
}

TEST(TwoBinaries, WithoutTrustrlTrainTheOtherCommandsRun) {
  // An actor host: trustrl installed alone.
  const fs::path dir = trustrl::testing::scratch_dir("actor_host");
  const fs::path lone = dir / "trustrl";
  fs::copy_file(kLite, lone);
  const Result envs = run(lone.string() + " envs");
  EXPECT_EQ(envs.exit_code, 0) << envs.err;
  EXPECT_NE(envs.out.find("CartPole-v1"), std::string::npos) << envs.out;
  const Result help = run(lone.string() + " --help");
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_NE(help.out.find("\n  train "), std::string::npos) << help.out;
  const Result help_all = run(lone.string() + " --help-all");
  EXPECT_EQ(help_all.exit_code, 0) << help_all.err;
  EXPECT_NE(help_all.out.find("--learner"), std::string::npos) << help_all.out;  // actor's

  const Result train = run(lone.string() + " train config.yaml");
  EXPECT_EQ(train.exit_code, 1);
  EXPECT_EQ(std::count(train.err.begin(), train.err.end(), '\n'), 1) << train.err;
  EXPECT_NE(train.err.find((dir / "trustrl-train").string()), std::string::npos) << train.err;
  EXPECT_NE(train.err.find("'train'"), std::string::npos) << train.err;
  EXPECT_TRUE(train.out.empty()) << train.out;
}

// The words of scripts/setup.sh's actor_host_packages=( ... ), comments left out.
std::vector<std::string> actor_host_packages() {
  const std::string script =
      trustrl::read_text_file(std::string(TRUSTRL_SOURCE_DIR) + "/scripts/setup.sh");
  const std::string start = "actor_host_packages=(";
  const auto begin = script.find(start);
  if (begin == std::string::npos) return {};
  const auto end = script.find(')', begin);
  std::istringstream block(script.substr(begin + start.size(), end - begin - start.size()));
  std::vector<std::string> packages;
  for (std::string line; std::getline(block, line);) {
    std::istringstream words(line.substr(0, line.find('#')));
    for (std::string w; words >> w;) packages.push_back(w);
  }
  return packages;
}

TEST(TwoBinaries, ActorHostPackagesCoverWhatTrustrlLinks) {
  const std::vector<std::string> listed = actor_host_packages();
  ASSERT_FALSE(listed.empty()) << "no actor_host_packages=( ... ) in scripts/setup.sh";
  // The Debian package of each library trustrl names (not their dependencies: apt brings those).
  const Result owners =
      run("for l in $(readelf -d " + kLite +
          " | sed -n 's/.*(NEEDED).*\\[\\(.*\\)\\]/\\1/p'); do "
          "f=$(readlink -f \"$(ldd " +
          kLite +
          " | awk -v l=$l '$1 == l {print $3}')\"); "
          "dpkg -S \"$f\" 2>/dev/null || dpkg -S \"${f#/usr}\" || echo \"?: $l\"; "
          "done | cut -d: -f1 | sort -u");
  ASSERT_EQ(owners.exit_code, 0) << owners.err;
  std::istringstream lines(owners.out);
  int checked = 0;
  for (std::string package; std::getline(lines, package);) {
    // In every Debian system (libc6 is essential, apt itself needs the C++ runtime).
    if (package == "libc6" || package == "libstdc++6" || package == "libgcc-s1") continue;
    EXPECT_NE(package, "?") << owners.out;
    EXPECT_NE(std::find(listed.begin(), listed.end(), package), listed.end())
        << kLite << " links a library of " << package
        << ", which scripts/setup.sh --actor-host does not install";
    ++checked;
  }
  EXPECT_GT(checked, 3) << owners.out;
}

}  // namespace
