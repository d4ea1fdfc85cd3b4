// `trustrl eval RUN_DIR|POLICY|CHECKPOINT [--episodes N] [--deterministic] [--seed N] [--record F]
// [--env-server ADDR [--allow-spec-mismatch]] [--json] [--out FILE]`

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>

#include "agents/evaluate.h"
#include "agents/saved_policy.h"
#include "cli/command_list.h"
#include "cli/commands.h"
#include "cli/env_factory.h"
#include "cli/eval_report.h"
#include "cli/option_checks.h"
#include "cli/policy_target.h"
#include "core/error.h"
#include "core/files.h"
#include "envs/registry.h"
#include "envs/render/animation.h"
#include "envs/vector_env.h"
#include "server/env_protocol/convert.h"
#include "server/env_protocol/spec_hash.h"

namespace trustrl::cli {

namespace {

struct EvalArgs {
  std::string target;
  int episodes = 10;
  bool deterministic = false;
  std::int64_t seed = 1000000;
  int num_envs = 0;
  std::string record;
  std::string remote;
  std::string token;
  bool allow_spec_mismatch = false;
  bool json = false;
  std::string out;
};

// Refuses an --out path that cannot be written before the episodes are played, not after.
void check_report_path(const std::string& out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path path(out);
  if (fs::is_directory(path, ec)) throw Error("--out '" + out + "' is a directory, not a file");
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec))
    throw Error("--out '" + out + "': directory '" + dir.string() + "' does not exist");
}

void run_eval(const EvalArgs& args) {
  if (!args.out.empty()) check_report_path(args.out);
  const std::filesystem::path policy_file = policy_file_of(args.target, "eval");
  const agents::SavedPolicy policy = agents::SavedPolicy::read(policy_file);
  const int copies =
      !args.record.empty() ? 1 : (args.num_envs > 0 ? args.num_envs : std::min(args.episodes, 16));

  std::unique_ptr<envs::AnimationWriter> writer;
  int fps = 30;
  std::function<void(const envs::Frame&)> on_frame;
  if (!args.record.empty()) {
    on_frame = [&](const envs::Frame& f) {
      if (!writer)
        writer = std::make_unique<envs::AnimationWriter>(args.record, f.width, f.height, fps);
      writer->add(f);
    };
  }
  const auto seed = static_cast<std::uint64_t>(args.seed);
  agents::EvalResult r;
  agents::EnvConfig remote;
  if (!args.remote.empty()) {
    if (!args.record.empty())
      throw Error("--record needs a local env; a remote simulator draws its own pictures");
    remote.id = policy.env_id;
    remote.options = policy.env_options;  // the env the policy was trained on, to compare specs
    remote.remote = args.remote;
    remote.token = args.token;
    remote.num_envs = 0;  // the server's copy count
  }
  // A server that serves another spec than the policy's env (another time limit, other bounds)
  // would be evaluated on without a word: refuse unless asked.
  const SpecMismatch on_mismatch =
      args.allow_spec_mismatch ? SpecMismatch::kWarn : SpecMismatch::kRefuse;
  std::unique_ptr<envs::VectorEnv> env;
  if (!args.remote.empty()) {
    env = env_factory(on_mismatch)(remote);
    if (policy.multi_agent)
      policy.check_fits(env->spec());
    else
      policy.check_fits(env->single_agent_spec());
  } else if (policy.multi_agent) {
    env = policy.make_multi_agent_env(copies);
  } else {
    env = policy.make_env(copies);
  }
  fps = env->spec().render_fps;
  EvalSetup setup;
  setup.env_id = policy.env_id;
  setup.spec_hash = server::hash_text(
      server::spec_hash(env->single_agent() ? server::to_wire(env->single_agent_spec())
                                            : server::to_wire(env->spec())));
  setup.policy_file = policy_file.string();
  setup.env_server = args.remote;
  setup.seed = seed;
  setup.deterministic = args.deterministic;
  setup.multi_agent = policy.multi_agent;
  r = agents::evaluate(std::move(env), policy.snapshot, args.episodes, args.deterministic, seed,
                       on_frame);
  if (writer) writer->close();
  if (args.json || !args.out.empty()) {
    const std::string report = eval_report_json(setup, r);
    if (!args.out.empty()) write_file_atomic(args.out, report);
    if (args.json) {
      std::fputs(report.c_str(), stdout);
      return;  // stdout is the JSON alone
    }
  }
  std::printf("%s: %d episodes (%s), return %.2f +- %.2f, length %.1f +- %.1f\n",
              policy.env_id.c_str(), args.episodes,
              args.deterministic ? "deterministic" : "stochastic", r.mean_return(), r.std_return(),
              r.mean_length(), r.std_length());
  if (writer) std::printf("recorded %s\n", args.record.c_str());
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", summary_of("eval"));
  cmd->add_option(
         "target", args->target,
         "a run directory, its policy.trustrl (or an older run's policy.pt), or a checkpoint file")
      ->required();
  cmd->add_option("--episodes", args->episodes, "episodes to play")->check(CLI::Range(1, 1000000));
  cmd->add_flag("--deterministic", args->deterministic,
                "take the most likely action instead of sampling");
  cmd->add_option("--seed", args->seed, "seed of the evaluation envs and sampling")
      ->check(
          whole_number_up_to(static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())));
  cmd->add_option("--num-envs", args->num_envs,
                  "env copies played at once (default min(episodes, 16))")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--record", args->record, "write the episodes as an animation (.gif or .mp4)");
  cmd->add_option("--env-server", args->remote,
                  "evaluate on a remote env server (host:port) instead of local copies");
  cmd->add_option("--token", args->token, "token for --env-server");
  cmd->add_flag("--allow-spec-mismatch", args->allow_spec_mismatch,
                "evaluate on an --env-server whose spec differs from the policy's env (warns "
                "instead of refusing)");
  cmd->add_flag("--json", args->json,
                "print the evaluation as JSON (statistics, a 95% confidence interval of the mean, "
                "every episode) instead of the summary line");
  cmd->add_option("--out", args->out, "also write the JSON report to this file (atomically)");
  cmd->callback([args] { run_eval(*args); });
}

}  // namespace trustrl::cli
