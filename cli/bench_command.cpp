// `trustrl bench envs`: env steps per second, single env and VectorEnv (plain and multi-agent
// ids; a multi-agent step counts once per copy), as a Markdown table.

#include <chrono>
#include <cstdio>
#include <sstream>

#include "cli/command_list.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/text.h"
#include "envs/random_actions.h"
#include "envs/registry.h"
#include "envs/single_agent_adapter.h"
#include "envs/vector_env.h"

namespace trustrl::cli {

namespace {

using Clock = std::chrono::steady_clock;

double single_env_sps(const std::string& id, double seconds) {
  auto env = envs::make(id);
  std::vector<float> obs(static_cast<std::size_t>(env->obs_dim()));
  envs::ActionPool pool(envs::one_agent_spec(env->spec()), 1, 4096, 1);
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

struct VectorSpeed {
  double steps_per_second = 0.0;
  int threads = 1;  // what kAutoThreads chose, or the count asked for
};

VectorSpeed vector_env_sps(const std::string& id, int copies, int threads, double seconds) {
  auto env = envs::LocalVectorEnv::make(id, {}, copies, threads);
  envs::ActionPool pool(env->spec(), copies, 512, 2);
  env->reset(0);
  // Agents that went inactive take the no-action sentinel; a plain env's one agent never does,
  // so its batches go in untouched.
  const bool masked = !env->single_agent();
  std::vector<std::int64_t> discrete;
  std::vector<float> continuous;
  auto next = [&](std::size_t k) {
    envs::ActionBatch b = pool.get(k);
    if (!masked) return b;
    discrete.assign(b.discrete.begin(), b.discrete.end());
    continuous.assign(b.continuous.begin(), b.continuous.end());
    const auto& active = env->buffers().active;
    for (std::size_t slot = 0; slot < active.size(); ++slot) {
      if (active[slot]) continue;
      const auto row = static_cast<std::ptrdiff_t>(slot * pool.row_width());
      const auto width = static_cast<std::ptrdiff_t>(pool.row_width());
      if (!discrete.empty()) std::fill_n(discrete.begin() + row, width, envs::kNoDiscreteAction);
      if (!continuous.empty())
        std::fill_n(continuous.begin() + row, width, envs::kNoContinuousAction);
    }
    return envs::ActionBatch{discrete, continuous};
  };
  std::int64_t batches = 0;
  const auto start = Clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (int k = 0; k < 16; ++k, ++batches) env->step(next(static_cast<std::size_t>(batches)));
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  return {static_cast<double>(batches * copies) / elapsed, env->num_threads()};
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", summary_of("bench"));
  bench->require_subcommand(1);
  add_bench_policy_command(*bench);
  struct Args {
    std::vector<std::string> ids;
    std::vector<int> copies{1, 8, 64};
    std::vector<int> threads{1, 2};
    double seconds = 1.0;
  };
  auto args = std::make_shared<Args>();
  auto* envs_cmd = bench->add_subcommand(
      "envs", "Env steps per second: single env and VectorEnv copies (Markdown table)");
  envs_cmd->add_option("--ids", args->ids,
                       "env ids, multi-agent ones included (default: every registered plain env)");
  envs_cmd->add_option("--copies", args->copies, "VectorEnv sizes")->check(CLI::Range(1, 65536));
  envs_cmd->add_option("--threads", args->threads, "VectorEnv thread counts (0: auto)")
      ->check(CLI::Range(0, 256));
  envs_cmd->add_option("--seconds", args->seconds, "time per measurement")
      ->check(CLI::Range(0.05, 600.0));
  envs_cmd->callback([args] {
    std::vector<std::string> ids =
        args->ids.empty() ? envs::EnvRegistry::global().ids(/*multi_agent=*/false) : args->ids;
    std::printf("| env | single Env |");
    for (int t : args->threads)
      for (int c : args->copies)
        if (t == envs::LocalVectorEnv::kAutoThreads)
          std::printf(" Vector %d auto thr |", c);
        else
          std::printf(" Vector %d x%d thr |", c, t);
    std::printf("\n| --- | ---: |");
    for (std::size_t i = 0; i < args->threads.size() * args->copies.size(); ++i)
      std::printf(" ---: |");
    std::printf("\n");
    for (const auto& id : ids) {
      // A multi-agent id has no plain Env to step alone.
      const bool plain = !envs::EnvRegistry::global().is_multi_agent(id);
      std::printf("| %s | %s |", id.c_str(),
                  plain ? human_count(single_env_sps(id, args->seconds)).c_str() : "-");
      std::fflush(stdout);
      for (int t : args->threads)
        for (int c : args->copies) {
          if (t > c) {
            std::printf(" - |");
            continue;
          }
          const VectorSpeed v = vector_env_sps(id, c, t, args->seconds);
          if (t == envs::LocalVectorEnv::kAutoThreads)
            std::printf(" %s (%d thr) |", human_count(v.steps_per_second).c_str(), v.threads);
          else
            std::printf(" %s |", human_count(v.steps_per_second).c_str());
          std::fflush(stdout);
        }
      std::printf("\n");
    }
  });
}

}  // namespace trustrl::cli
