// How far a trained MultiWalker team carries the package: runs a saved policy for N episodes on
// one env copy and prints the mean return and the package's mean forward displacement (metres,
// from its x at reset to its x on the episode's last step).
// Usage: multiwalker_package RUN_DIR|POLICY [--episodes N] [--deterministic] [--seed S]

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "agents/env_actor.h"
#include "agents/saved_policy.h"
#include "core/error.h"
#include "core/run_dir.h"
#include "envs/vector_env.h"

int main(int argc, char** argv) {
  using namespace trustrl;
  try {
    if (argc < 2)
      throw Error(
          "usage: multiwalker_package RUN_DIR|POLICY [--episodes N] [--deterministic] [--seed S]");
    std::filesystem::path path = argv[1];
    // A run directory: its policy.trustrl, or an older run's policy.pt.
    if (std::filesystem::is_directory(path))
      path = RunDir::open(path).saved_policy().value_or(path / "policy.trustrl");
    int episodes = 100;
    bool deterministic = false;
    std::uint64_t seed = 2024;
    for (int i = 2; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--episodes" && i + 1 < argc)
        episodes = std::stoi(argv[++i]);
      else if (a == "--deterministic")
        deterministic = true;
      else if (a == "--seed" && i + 1 < argc)
        seed = std::stoull(argv[++i]);
      else
        throw Error("unknown argument '" + a + "'");
    }
    const agents::SavedPolicy policy = agents::SavedPolicy::read(path);
    if (!policy.multi_agent || policy.env_id.rfind("multiwalker", 0) != 0)
      throw Error(path.string() + " is not a MultiWalker policy (it is for " + policy.env_id + ")");
    auto vec = envs::LocalVectorEnv::make(policy.env_id, policy.env_options, 1, 1);
    envs::LocalVectorEnv* env = vec.get();
    agents::EnvActor actor(std::move(vec), seed);
    actor.set_policy(policy.snapshot);
    auto package_x = [&] {
      return env->env(0).get_state()[static_cast<std::size_t>(7 * env->spec().num_agents())];
    };
    std::vector<double> displacement, returns;
    double start = package_x(), last = start;
    while (static_cast<int>(displacement.size()) < episodes) {
      actor.step(deterministic);
      const auto& b = env->buffers();
      if (b.done(0)) {
        displacement.push_back(last - start);
        double mean = 0;
        for (int a = 0; a < env->spec().num_agents(); ++a)
          mean += b.agent_episode_returns[static_cast<std::size_t>(a)];
        returns.push_back(mean / env->spec().num_agents());
        start = last = package_x();  // the next episode's start (already reset)
      } else {
        last = package_x();
      }
    }
    auto stats = [](const std::vector<double>& v) {
      double m = 0, s = 0;
      for (double x : v) m += x;
      m /= static_cast<double>(v.size());
      for (double x : v) s += (x - m) * (x - m);
      return std::make_pair(m, std::sqrt(s / static_cast<double>(v.size())));
    };
    const auto [rm, rs] = stats(returns);
    const auto [dm, ds] = stats(displacement);
    std::printf("%s: %d episodes (%s), return %.2f +- %.2f, package displacement %.2f +- %.2f m\n",
                policy.env_id.c_str(), episodes, deterministic ? "deterministic" : "stochastic", rm,
                rs, dm, ds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "multiwalker_package: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
