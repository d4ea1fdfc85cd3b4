// Policy files that pass their checksum but lie: edited action spaces, relabelled envs, and a
// seeded fuzz over every byte of the policy and spec sections, checksums recomputed. Each file is
// refused with one line naming the file and the problem, or (where the edit is harmless, e.g. a
// weight value) acts; nothing crashes.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>

#include "agents/env_actor.h"
#include "agents/rollout.h"
#include "agents/saved_policy.h"
#include "agents/trainer.h"
#include "core/bytes.h"
#include "core/error.h"
#include "core/files.h"
#include "core/section_file.h"

namespace trustrl::agents {
namespace {

namespace fs = std::filesystem;

const fs::path& scratch() {
  static const fs::path dir = [] {
    const fs::path p =
        fs::temp_directory_path() / ("trustrl_policy_files_" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
  }();
  return dir;
}

// policy.trustrl of a one-update run on `env` (Discrete, Box and multi-agent policies).
fs::path trained_policy(const std::string& env, const std::string& extra = "",
                        const std::string& name = "") {
  const fs::path run = scratch() / ("run_" + env + name);
  if (!fs::exists(run / "policy.trustrl")) {
    TrainerOptions quiet;
    quiet.progress = false;
    quiet.verbose = false;
    const TrainConfig config =
        parse_train_config("seed: 3\ntotal_steps: 64\nenv: {id: " + env +
                           ", num_envs: 2}\nppo: {num_steps: 32, num_minibatches: 1, "
                           "update_epochs: 1}\nrun: {tensorboard: false}\n" +
                           extra);
    Trainer::start(config, run, quiet)->run();
  }
  return run / "policy.trustrl";
}

// What `trustrl eval` does with a file, with a bounded number of steps: "" if it acted, else
// the error. Anything but trustrl::Error (a crash aside) fails the test.
std::string try_policy(const fs::path& file) {
  try {
    const SavedPolicy policy = SavedPolicy::read(file);
    if (policy.multi_agent) {
      EnvActor actor(policy.make_multi_agent_env(2), 1);
      actor.set_policy(policy.snapshot);
      for (int t = 0; t < 8; ++t) actor.step(t % 2 == 0);
    } else {
      EnvActor actor(policy.make_env(2), 1);
      actor.set_policy(policy.snapshot);
      Rollout rollout;
      actor.collect(8, rollout);
    }
    return "";
  } catch (const Error& e) {
    const std::string message = e.what();
    return message.empty() ? "(empty message)" : message;
  }
}

void expect_refused(const fs::path& file, const std::string& problem) {
  const std::string message = try_policy(file);
  ASSERT_FALSE(message.empty()) << file << " was accepted";
  EXPECT_NE(message.find(file.string()), std::string::npos) << message;
  EXPECT_NE(message.find(problem), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

SavedPolicy edited(const fs::path& base, const std::function<void(SavedPolicy&)>& edit,
                   const fs::path& out) {
  SavedPolicy p = SavedPolicy::read(base);
  edit(p);
  p.write(out);  // checksums recomputed
  return p;
}

TEST(PolicyFile, EditedActionSpacesAreRefused) {
  const fs::path cartpole = trained_policy("CartPole-v1");
  const fs::path out = scratch() / "edited.trustrl";
  for (const std::int64_t n : {1, 3, 64, 1000000}) {
    edited(
        cartpole,
        [&](SavedPolicy& p) {
          p.snapshot.groups[0].weights.action_space = envs::Space::discrete(n);
        },
        out);
    expect_refused(out,
                   "has an actor of 2 outputs for actions Discrete(" + std::to_string(n) + ")");
  }
  // A MountainCar-v0 policy relabelled as MountainCarContinuous: the observations fit, the
  // actions do not.
  const fs::path mountain_car = trained_policy("MountainCar-v0");
  edited(
      mountain_car, [](SavedPolicy& p) { p.env_id = "MountainCarContinuous-v0"; }, out);
  expect_refused(
      out, "does not fit MountainCarContinuous-v0: it acts in Discrete(3), the env takes Box(");
  edited(
      cartpole, [](SavedPolicy& p) { p.env_id = "Acrobot-v1"; }, out);
  expect_refused(
      out, "does not fit Acrobot-v1: its networks take 4 observation values, the env gives 6");
  // log std of the wrong size, broken layer chains, a critic of two outputs.
  const fs::path pendulum = trained_policy("Pendulum-v1");
  edited(
      pendulum, [](SavedPolicy& p) { p.snapshot.groups[0].weights.log_std.push_back(0.0f); }, out);
  expect_refused(out, "has 2 log std values for actions Box(");
  edited(
      cartpole,
      [](SavedPolicy& p) {
        DenseLayer& layer = p.snapshot.groups[0].weights.actor[1];
        layer.in = 63;
        layer.w.resize(static_cast<std::size_t>(63 * layer.out));
      },
      out);
  expect_refused(out, "layer 1 takes 63 inputs, layer 0 gives 64");
  edited(
      cartpole, [](SavedPolicy& p) { p.snapshot.groups[0].weights.critic.back().out = 2; }, out);
  expect_refused(out, "policy weights are corrupt");
  edited(
      cartpole, [](SavedPolicy& p) { p.env_id = "NoSuchEnv-v0"; }, out);
  expect_refused(out, "names env 'NoSuchEnv-v0'");
  // Unedited files act.
  EXPECT_EQ(try_policy(cartpole), "");
  EXPECT_EQ(try_policy(pendulum), "");
}

// One seeded mutation of a policy file's sections.
std::vector<std::uint8_t> mutate(std::vector<std::uint8_t> bytes, std::mt19937_64& rng) {
  auto pick = [&](std::size_t n) {
    return static_cast<std::size_t>(rng() % std::max<std::size_t>(n, 1));
  };
  const std::int64_t interesting[] = {0,
                                      1,
                                      -1,
                                      2,
                                      3,
                                      63,
                                      64,
                                      65,
                                      1000000,
                                      0x7fffffff,
                                      -0x80000000LL,
                                      0x100000000LL,
                                      0x7fffffffffffffffLL};
  switch (rng() % 5) {
    case 0:  // a few random bytes
      for (std::size_t k = 0, n = 1 + pick(4); k < n && !bytes.empty(); ++k)
        bytes[pick(bytes.size())] ^= static_cast<std::uint8_t>(1 + pick(255));
      break;
    case 1: {  // an int32 or int64 field set to an edge value
      const std::int64_t v = interesting[pick(std::size(interesting))];
      const std::size_t width = rng() % 2 ? 4 : 8;
      if (bytes.size() >= width)
        std::memcpy(bytes.data() + pick(bytes.size() - width + 1), &v, width);
      break;
    }
    case 2: {  // a float set to NaN, inf or a huge value
      const float values[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f};
      const float v = values[pick(std::size(values))];
      if (bytes.size() >= 4) std::memcpy(bytes.data() + pick(bytes.size() - 3), &v, 4);
      break;
    }
    case 3:  // cut short
      bytes.resize(pick(bytes.size()));
      break;
    default:  // extra bytes
      for (std::size_t k = 0, n = 1 + pick(16); k < n; ++k)
        bytes.push_back(static_cast<std::uint8_t>(rng()));
      break;
  }
  return bytes;
}

std::vector<std::uint8_t> spec_section(const std::string& env_id, const OptionMap& options,
                                       bool multi_agent) {
  ByteWriter w;
  w.put_string(env_id);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(options.size()));
  for (const auto& [k, v] : options) {
    w.put_string(k);
    w.put_string(v);
  }
  w.put<std::uint8_t>(multi_agent);
  return w.take();
}

TEST(PolicyFile, FuzzedFilesAreRefusedInOneLineOrAct) {
  const std::vector<fs::path> bases = {
      trained_policy("CartPole-v1"), trained_policy("MountainCar-v0"),
      trained_policy("Pendulum-v1"),
      trained_policy("Pendulum-v1", "network: {gsde: true}\n", "_gsde"),
      trained_policy("simple_spread_v3", "algo: mappo\n")};
  const std::vector<std::string> env_ids = {
      "CartPole-v1",      "Acrobot-v1", "MountainCar-v0", "Pendulum-v1", "MountainCarContinuous-v0",
      "simple_spread_v3", "",           "NoSuchEnv-v0"};
  const std::vector<std::string> step_limits = {
      "1", "0", "-5", "2147483648", "99999999999999999999", "abc", "1e3"};
  std::mt19937_64 rng(19);
  constexpr int kCases = 2000;
  int refused = 0, acted = 0;
  const fs::path file = scratch() / "fuzzed.trustrl";
  for (int i = 0; i < kCases; ++i) {
    const SectionFile base = SectionFile::read(bases[rng() % bases.size()], "policy");
    SectionFile out("policy");
    std::vector<std::uint8_t> spec = base.get("spec"), policy = base.get("policy");
    if (rng() % 4 == 0) {  // a relabelled env, an odd step limit or a flipped multi-agent flag
      OptionMap options;
      if (rng() % 2) options["max_episode_steps"] = step_limits[rng() % step_limits.size()];
      spec = spec_section(env_ids[rng() % env_ids.size()], options, rng() % 2);
    } else if (rng() % 3 == 0) {
      spec = mutate(spec, rng);
    } else {
      policy = mutate(policy, rng);
    }
    out.add("spec", spec);
    out.add("policy", policy);
    out.write(file);
    const std::string message = try_policy(file);
    if (message.empty()) {
      ++acted;
      continue;
    }
    ++refused;
    EXPECT_NE(message.find(file.string()), std::string::npos) << "case " << i << ": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "case " << i << ": " << message;
  }
  std::printf("policy file fuzz: %d cases, %d refused in one line, %d acted, 0 crashes\n", kCases,
              refused, acted);
  EXPECT_EQ(refused + acted, kCases);
  EXPECT_GT(refused, kCases / 2);  // most mutations break a size, a count or a name
}

}  // namespace
}  // namespace trustrl::agents
