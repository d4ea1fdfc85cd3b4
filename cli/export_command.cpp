// `trustrl export RUN_DIR|POLICY|CHECKPOINT --format onnx -o FILE`: the policy as ONNX graphs
// (deploy/onnx_export.h; docs/DEPLOY.md).

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "agents/saved_policy.h"
#include "cli/command_list.h"
#include "cli/commands.h"
#include "cli/policy_target.h"
#include "core/error.h"
#include "deploy/onnx_export.h"
#include "envs/registry.h"
#include "server/env_protocol/convert.h"
#include "server/env_protocol/spec_hash.h"
#include "trustrl/version.h"

namespace trustrl::cli {

namespace {

struct ExportArgs {
  std::string target;
  std::string format = "onnx";
  std::string out;
};

// The spec hash of the built-in env the policy names (one copy, checked against the policy); none
// for an env trustrl cannot build here (a remote simulator's id).
std::optional<std::string> spec_hash_of(const agents::SavedPolicy& policy) {
  if (!envs::EnvRegistry::global().contains(policy.env_id)) {
    std::fprintf(stderr,
                 "note: '%s' is not a built-in env, so the ONNX metadata carries no spec_hash\n",
                 policy.env_id.c_str());
    return std::nullopt;
  }
  if (policy.multi_agent)
    return server::hash_text(
        server::spec_hash(server::to_wire(policy.make_multi_agent_env(1)->spec())));
  return server::hash_text(
      server::spec_hash(server::to_wire(policy.make_env(1)->single_agent_spec())));
}

void run_export(const ExportArgs& args) {
  namespace fs = std::filesystem;
  const fs::path out(args.out);
  std::error_code ec;
  if (fs::is_directory(out, ec)) throw Error("-o '" + args.out + "' is a directory, not a file");
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec))
    throw Error("-o '" + args.out + "': directory '" + dir.string() + "' does not exist");
  const agents::SavedPolicy policy =
      agents::SavedPolicy::read(policy_file_of(args.target, "export"));
  deploy::OnnxMetadata meta;
  meta.env_id = policy.env_id;
  meta.spec_hash = spec_hash_of(policy);
  meta.trustrl_version = kVersion;
  const auto paths = deploy::export_onnx(policy, meta, out);
  for (std::size_t g = 0; g < paths.size(); ++g) {
    std::string agents;
    for (const int a : policy.snapshot.groups[g].agents)
      agents += (agents.empty() ? "" : ",") + std::to_string(a);
    std::printf("wrote %s (agents %s)\n", paths[g].string().c_str(), agents.c_str());
  }
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand("export", summary_of("export"));
  cmd->add_option("target", args->target,
                  "a run directory, its policy.trustrl (or an older run's policy.pt), or a "
                  "checkpoint file")
      ->required();
  cmd->add_option("--format", args->format, "output format; onnx is the one there is")
      ->check(CLI::IsMember({"onnx"}));
  cmd->add_option("-o,--out", args->out,
                  "the .onnx file to write; a multi-agent policy writes one per agent group "
                  "(NAME.group0.onnx, ...)")
      ->required();
  cmd->callback([args] { run_export(*args); });
}

}  // namespace trustrl::cli
