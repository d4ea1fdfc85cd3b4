// A saved BipedalWalker-v3 policy under variations of trustrl's Box2D physics, for the transfer
// study of docs/BOX2D.md ("Transfer to Gymnasium (BipedalWalker-v3)").
//
//   walker_gait RUN_DIR|POLICY [PHYSICS] eval  [--episodes N] [--seed S] [--deterministic]
//   walker_gait RUN_DIR|POLICY [PHYSICS] trace --world K OUT.csv
//   walker_gait RUN_DIR|POLICY [PHYSICS] replay --world K ACTIONS.csv OUT.csv
//   PHYSICS: [--joint-limits box2d_2.4|box2d_2.3] [--iterations VELOCITY,POSITION] [--hardcore]
//
// eval plays N episodes on 16 copies exactly as `trustrl eval` does (copy i reset with seed + i,
// the same sampling stream), so with the default physics it prints trustrl eval's numbers.
// trace plays one deterministic episode in world K (the world reset(K) builds; Gymnasium builds
// the same one with trustrl's draws, see gymnasium_walker.py) and writes one CSV row per step:
// step, the four actions, reward, hull x and y, the 24 observation values. replay feeds the
// actions of such a CSV (from either side) instead of the policy's and writes the same rows.
// --hardcore plays the policy on the hardcore terrain (stumps, pits, stairs): BipedalWalker-v3 with
// `hardcore: true`, Gymnasium's make("BipedalWalker-v3", hardcore=True) (1600 steps).

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "agents/evaluate.h"
#include "agents/inference.h"
#include "agents/saved_policy.h"
#include "core/error.h"
#include "core/run_dir.h"
#include "envs/box2d/bipedal_walker.h"
#include "envs/vector_env.h"

namespace {

using namespace trustrl;

struct Args {
  std::filesystem::path policy;
  envs::WalkerPhysics physics;
  std::string joint_limits = "box2d_2.4";
  bool hardcore = false;
  std::string mode;
  int episodes = 100;
  std::uint64_t seed = 2024;
  bool deterministic = false;
  std::uint64_t world = 0;
  std::string actions_in, trace_out;
};

std::unique_ptr<envs::BipedalWalker> make_walker(const agents::SavedPolicy& policy,
                                                 const Args& args) {
  if (policy.env_id != "BipedalWalker-v3")
    throw Error(args.policy.string() + " is a policy for " + policy.env_id +
                ", not BipedalWalker-v3");
  OptionMap options = policy.env_options;
  options["joint_limits"] = args.joint_limits;
  if (args.hardcore) options["hardcore"] = "true";
  envs::EnvOptions reader(policy.env_id, options);
  auto env = std::make_unique<envs::BipedalWalker>(reader, false, args.physics);
  reader.finish();
  return env;
}

std::vector<std::vector<float>> read_actions(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read actions from '" + path + "'");
  std::vector<std::vector<float>> actions;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::stringstream row(line);
    std::string cell;
    std::getline(row, cell, ',');  // step
    std::vector<float> a(4);
    for (float& v : a) {
      if (!std::getline(row, cell, ',')) throw Error("short row in '" + path + "': " + line);
      v = std::stof(cell);
    }
    actions.push_back(a);
  }
  return actions;
}

// One episode in world K, with the policy's deterministic actions or the given ones.
void trace(const agents::SavedPolicy& policy, const Args& args,
           const std::vector<std::vector<float>>* given) {
  auto env = make_walker(policy, args);
  const agents::GroupPolicy& group = policy.snapshot.groups.front();
  agents::PolicyInference inference(group.weights);
  Rng rng(0);
  agents::ActResult act;
  std::vector<float> obs(envs::BipedalWalker::kObsDim), normalized(obs.size());
  env->reset(args.world, obs);
  std::FILE* out = std::fopen(args.trace_out.c_str(), "w");
  if (out == nullptr) throw Error("cannot write '" + args.trace_out + "'");
  std::fprintf(out, "step,a0,a1,a2,a3,reward,x,y");
  for (int i = 0; i < envs::BipedalWalker::kObsDim; ++i) std::fprintf(out, ",o%d", i);
  std::fprintf(out, "\n");
  double total = 0;
  int steps = 0;
  for (int t = 0;; ++t) {
    std::vector<float> a(4);
    if (given != nullptr) {
      if (t >= static_cast<int>(given->size())) break;
      a = (*given)[static_cast<std::size_t>(t)];
    } else {
      group.obs_normalizer.normalize(obs.data(), 1, normalized.data());
      inference.act(normalized.data(), 1, true, rng, act);
      for (int j = 0; j < 4; ++j)
        a[static_cast<std::size_t>(j)] =
            std::clamp(act.continuous_actions[static_cast<std::size_t>(j)], -1.0f, 1.0f);
    }
    const envs::StepResult r = env->step({{}, a}, obs);
    const std::vector<double> hull = env->get_state();
    std::fprintf(out, "%d,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g", t, a[0], a[1], a[2], a[3], r.reward,
                 hull[0], hull[1]);
    for (float v : obs) std::fprintf(out, ",%.9g", v);
    std::fprintf(out, "\n");
    total += r.reward;
    ++steps;
    if (r.terminated || r.truncated) break;
  }
  std::fclose(out);
  std::printf("world %llu: return %.2f, %d steps -> %s\n",
              static_cast<unsigned long long>(args.world), total, steps, args.trace_out.c_str());
}

void eval(const agents::SavedPolicy& policy, const Args& args) {
  const int copies = std::min(args.episodes, 16);
  std::vector<std::unique_ptr<envs::Env>> walkers;
  for (int i = 0; i < copies; ++i) walkers.push_back(make_walker(policy, args));
  auto env = std::make_unique<envs::LocalVectorEnv>(std::move(walkers), 1);
  const agents::EvalResult r = agents::evaluate(std::move(env), policy.snapshot, args.episodes,
                                                args.deterministic, args.seed, nullptr);
  int finished = 0;
  for (double g : r.returns) finished += g > 200 ? 1 : 0;
  std::printf(
      "%sjoint_limits %s, iterations %d,%d, %s, %d episodes: return %.1f +- %.1f, length %.0f, "
      "%d above 200\n",
      args.hardcore ? "hardcore, " : "", args.joint_limits.c_str(),
      args.physics.velocity_iterations, args.physics.position_iterations,
      args.deterministic ? "deterministic" : "sampled", args.episodes, r.mean_return(),
      r.std_return(), r.mean_length(), finished);
}

Args parse(int argc, char** argv) {
  if (argc < 3)
    throw Error(
        "usage: walker_gait RUN_DIR|POLICY [--joint-limits R] [--iterations V,P] [--hardcore] "
        "eval|trace|replay ...");
  Args args;
  args.policy = argv[1];
  // A run directory: its policy.trustrl, or an older run's policy.pt.
  if (std::filesystem::is_directory(args.policy))
    args.policy = RunDir::open(args.policy).saved_policy().value_or(args.policy / "policy.trustrl");
  std::vector<std::string> positional;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--joint-limits") {
      args.joint_limits = value();
    } else if (a == "--iterations") {
      const std::string v = value();
      if (std::sscanf(v.c_str(), "%d,%d", &args.physics.velocity_iterations,
                      &args.physics.position_iterations) != 2)
        throw Error("--iterations expects VELOCITY,POSITION, got '" + v + "'");
    } else if (a == "--episodes") {
      args.episodes = std::stoi(value());
    } else if (a == "--seed") {
      args.seed = std::stoull(value());
    } else if (a == "--world") {
      args.world = std::stoull(value());
    } else if (a == "--hardcore") {
      args.hardcore = true;
    } else if (a == "--deterministic") {
      args.deterministic = true;
    } else if (a.rfind("--", 0) == 0) {
      throw Error("unknown option '" + a + "'");
    } else {
      positional.push_back(a);
    }
  }
  if (positional.empty()) throw Error("give a mode: eval, trace or replay");
  args.mode = positional[0];
  if (args.mode == "trace" && positional.size() == 2) {
    args.trace_out = positional[1];
  } else if (args.mode == "replay" && positional.size() == 3) {
    args.actions_in = positional[1];
    args.trace_out = positional[2];
  } else if (args.mode != "eval" || positional.size() != 1) {
    throw Error("expected 'eval', 'trace OUT.csv' or 'replay ACTIONS.csv OUT.csv'");
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args = parse(argc, argv);
    const agents::SavedPolicy policy = agents::SavedPolicy::read(args.policy);
    if (args.mode == "eval") {
      eval(policy, args);
    } else if (args.mode == "trace") {
      trace(policy, args, nullptr);
    } else {
      const auto actions = read_actions(args.actions_in);
      trace(policy, args, &actions);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "walker_gait: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
