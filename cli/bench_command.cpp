// `trustrl bench envs`: env steps per second, single env and VectorEnv, as a Markdown table.

#include <chrono>
#include <cstdio>
#include <sstream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/text.h"
#include "envs/registry.h"
#include "envs/vector_env.h"

namespace trustrl::cli {

namespace {

using Clock = std::chrono::steady_clock;

// Pre-drawn random actions, so that drawing them is not timed.
struct ActionPool {
  ActionPool(const envs::Space& space, int copies, int batches, std::uint64_t seed)
      : dim(space.flat_dim()) {
    Rng rng(seed);
    const auto n = static_cast<std::size_t>(copies * batches * dim);
    if (space.is_discrete()) {
      discrete.resize(n);
      for (std::size_t i = 0; i < n; i += static_cast<std::size_t>(dim))
        space.sample(rng, std::span(discrete).subspan(i, static_cast<std::size_t>(dim)));
    } else {
      continuous.resize(n);
      for (std::size_t i = 0; i < n; i += static_cast<std::size_t>(dim))
        space.sample(rng, std::span(continuous).subspan(i, static_cast<std::size_t>(dim)));
    }
    batch = static_cast<std::size_t>(copies * dim);
    count = static_cast<std::size_t>(batches);
  }
  envs::ActionBatch get(std::size_t k) const {
    const std::size_t off = (k % count) * batch;
    envs::ActionBatch b;
    if (!discrete.empty()) b.discrete = std::span(discrete).subspan(off, batch);
    if (!continuous.empty()) b.continuous = std::span(continuous).subspan(off, batch);
    return b;
  }
  std::int64_t dim;
  std::size_t batch = 0, count = 0;
  std::vector<std::int64_t> discrete;
  std::vector<float> continuous;
};

double single_env_sps(const std::string& id, double seconds) {
  auto env = envs::make(id);
  std::vector<float> obs(static_cast<std::size_t>(env->obs_dim()));
  ActionPool pool(env->spec().action_space, 1, 4096, 1);
  env->reset(0, obs);
  std::int64_t steps = 0;
  const auto start = Clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (int k = 0; k < 256; ++k, ++steps) {
      const auto b = pool.get(static_cast<std::size_t>(steps));
      const auto r = env->step({b.discrete, b.continuous}, obs);
      if (r.terminated || r.truncated) env->reset(std::nullopt, obs);
    }
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  return static_cast<double>(steps) / elapsed;
}

double vector_env_sps(const std::string& id, int copies, int threads, double seconds) {
  auto env = envs::LocalVectorEnv::make(id, {}, copies, threads);
  ActionPool pool(env->single_agent_spec().action_space, copies, 512, 2);
  env->reset(0);
  std::int64_t batches = 0;
  const auto start = Clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (int k = 0; k < 16; ++k, ++batches) env->step(pool.get(static_cast<std::size_t>(batches)));
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  return static_cast<double>(batches * copies) / elapsed;
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Measure trustrl's speed");
  bench->require_subcommand(1);
  struct Args {
    std::vector<std::string> ids;
    std::vector<int> copies{1, 8, 64};
    std::vector<int> threads{1, 2};
    double seconds = 1.0;
  };
  auto args = std::make_shared<Args>();
  auto* envs_cmd = bench->add_subcommand(
      "envs", "Env steps per second: single env and VectorEnv copies (Markdown table)");
  envs_cmd->add_option("--ids", args->ids, "env ids (default: every registered env)");
  envs_cmd->add_option("--copies", args->copies, "VectorEnv sizes")->check(CLI::Range(1, 65536));
  envs_cmd->add_option("--threads", args->threads, "VectorEnv thread counts")
      ->check(CLI::Range(1, 256));
  envs_cmd->add_option("--seconds", args->seconds, "time per measurement")
      ->check(CLI::Range(0.05, 600.0));
  envs_cmd->callback([args] {
    std::vector<std::string> ids =
        args->ids.empty() ? envs::EnvRegistry::global().ids(/*multi_agent=*/false) : args->ids;
    std::printf("| env | single Env |");
    for (int t : args->threads)
      for (int c : args->copies) std::printf(" Vector %d x%d thr |", c, t);
    std::printf("\n| --- | ---: |");
    for (std::size_t i = 0; i < args->threads.size() * args->copies.size(); ++i)
      std::printf(" ---: |");
    std::printf("\n");
    for (const auto& id : ids) {
      std::printf("| %s | %s |", id.c_str(),
                  human_count(single_env_sps(id, args->seconds)).c_str());
      std::fflush(stdout);
      for (int t : args->threads)
        for (int c : args->copies) {
          if (t > c) {
            std::printf(" - |");
            continue;
          }
          std::printf(" %s |", human_count(vector_env_sps(id, c, t, args->seconds)).c_str());
          std::fflush(stdout);
        }
      std::printf("\n");
    }
  });
}

}  // namespace trustrl::cli
