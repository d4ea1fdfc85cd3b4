// `trustrl bench policy TARGET...`: the actor's plain C++ inference path (agents/inference.h)
// per step of saved policies, as a Markdown table: what a smaller (distilled) policy buys.

#include <chrono>
#include <cstdio>
#include <memory>

#include "agents/inference.h"
#include "agents/policy_source.h"
#include "cli/commands.h"
#include "core/rng.h"

namespace trustrl::cli {

namespace {

using Clock = std::chrono::steady_clock;

// Microseconds per act() of `rows` rows (normalization included), deterministic, on standard
// normal observations drawn in advance.
double micros_per_act(const agents::GroupPolicy& group, int rows, double seconds) {
  agents::PolicyInference inference(group.weights);
  const auto width = static_cast<std::size_t>(group.actor_input_dim());
  constexpr int kBatches = 64;
  std::vector<float> raw(kBatches * static_cast<std::size_t>(rows) * width), obs(raw.size());
  Rng rng(1);
  for (float& x : raw) x = static_cast<float>(rng.normal());
  agents::ActResult out;
  std::int64_t acts = 0;
  const auto start = Clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (int k = 0; k < 256; ++k, ++acts) {
      const std::size_t off = static_cast<std::size_t>(acts % kBatches) * rows * width;
      group.obs_normalizer.normalize(raw.data() + off, rows, obs.data() + off);
      inference.act(obs.data() + off, rows, /*deterministic=*/true, rng, out);
    }
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  return 1e6 * elapsed / static_cast<double>(acts);
}

std::int64_t actor_parameters(const agents::PolicyWeights& w) {
  std::int64_t n = 0;
  for (const auto& l : w.actor) n += static_cast<std::int64_t>(l.w.size() + l.b.size());
  return n + static_cast<std::int64_t>(w.log_std.size());
}

}  // namespace

void add_bench_policy_command(CLI::App& bench) {
  struct Args {
    std::vector<std::string> targets;
    std::vector<int> rows{1, 16};
    double seconds = 1.0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = bench.add_subcommand(
      "policy", "Actor inference time per step of saved policies (Markdown table)");
  cmd->add_option("targets", args->targets, "policy files or run directories")->required();
  cmd->add_option("--rows", args->rows, "rows (env copies) per act")->check(CLI::Range(1, 4096));
  cmd->add_option("--seconds", args->seconds, "time per measurement")
      ->check(CLI::Range(0.05, 600.0));
  cmd->callback([args] {
    std::printf("| policy | actor parameters |");
    for (int r : args->rows) std::printf(" us per act (%d rows) |", r);
    std::printf("\n| --- | ---: |");
    for (std::size_t i = 0; i < args->rows.size(); ++i) std::printf(" ---: |");
    std::printf("\n");
    for (const auto& target : args->targets) {
      const agents::SavedPolicy p = agents::read_policy_source(target, "bench policy");
      const agents::GroupPolicy& g = p.snapshot.groups.front();
      std::printf("| %s | %lld |", target.c_str(),
                  static_cast<long long>(actor_parameters(g.weights)));
      for (int r : args->rows) std::printf(" %.2f |", micros_per_act(g, r, args->seconds));
      std::printf("\n");
      std::fflush(stdout);
    }
  });
}

}  // namespace trustrl::cli
