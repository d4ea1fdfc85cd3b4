// `trustrl check-env`: run the protocol checks and the env conformance suite against a remote
// simulator and print a report its author can act on. Exits 1 if any check fails.

#include <cstdio>
#include <memory>
#include <string>

#include "cli/command_list.h"
#include "cli/commands.h"
#include "core/error.h"
#include "envs/conformance.h"
#include "server/env_protocol/protocol_checks.h"
#include "server/env_protocol/remote_vector_env.h"
#include "server/env_protocol/spec_hash.h"
#include "server/transport/transport.h"

namespace trustrl::cli {

namespace {

struct CheckEnvArgs {
  std::string address;
  std::string token;
  std::string tls_ca;
  int steps = 600;
  std::uint64_t seed = 12345;
  double timeout_s = 30.0;
};

int print_report(const std::string& title, const std::vector<envs::ConformanceCheck>& checks) {
  int failed = 0;
  std::printf("\n%s\n", title.c_str());
  for (const auto& c : checks) {
    std::printf("  %s  %s\n        %s\n", c.passed ? "PASS" : "FAIL", c.name.c_str(),
                c.detail.c_str());
    failed += c.passed ? 0 : 1;
  }
  return failed;
}

void run(const CheckEnvArgs& args) {
  const server::Endpoint endpoint{args.address, args.token, args.tls_ca,
                                  server::kDefaultMaxMessageBytes};
  std::printf("check-env: simulator at %s\n", args.address.c_str());
  server::wire::ServerInfo info;
  const grpc::Status status =
      server::get_server_info(server::make_channel(endpoint), args.token, args.timeout_s, &info);
  if (!status.ok()) {
    std::printf("  FAIL  GetSpec\n        %s\n", server::describe(status).c_str());
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE)
      std::printf("        is the simulator running and listening on %s?\n", args.address.c_str());
    throw CLI::RuntimeError(1);
  }
  std::printf("  %s serves %s: %s, %d copies per session, spec hash %s\n",
              info.server_name().c_str(), info.spec().id().c_str(),
              server::describe(info.spec()).c_str(), info.num_envs(),
              server::hash_text(info.spec_hash()).c_str());

  const auto protocol = server::run_protocol_checks(endpoint, args.timeout_s);
  int failed = print_report("Protocol (requests, order, refusals):", protocol);
  std::size_t total = protocol.size();

  server::RemoteEnvOptions remote;
  remote.address = args.address;
  remote.token = args.token;
  remote.tls_ca_file = args.tls_ca;
  remote.connect_timeout_s = args.timeout_s;
  remote.request_timeout_s = args.timeout_s;
  remote.max_reconnects = 0;
  remote.client_name = "trustrl check-env";
  envs::ConformanceOptions suite;
  suite.num_envs = info.num_envs();
  suite.steps = args.steps;
  suite.seed = args.seed;
  const auto behaviour = envs::run_conformance(server::remote_env_maker(remote), suite);
  failed += print_report(
      info.spec().num_agents() > 0
          ? "Multi-agent env behaviour (spaces, padding, active masks, reset/step contract, "
            "seeding, truncation, joint-action refusals):"
          : "Env behaviour (spaces, reset/step contract, seeding, truncation):",
      behaviour);
  total += behaviour.size();

  std::printf("\n%zu checks: %zu passed, %d failed\n", total,
              total - static_cast<std::size_t>(failed), failed);
  if (failed > 0) throw CLI::RuntimeError(1);
}

}  // namespace

void add_check_env_command(CLI::App& app) {
  auto args = std::make_shared<CheckEnvArgs>();
  auto* cmd = app.add_subcommand("check-env", summary_of("check-env"));
  cmd->add_option("address", args->address, "host:port of the simulator")->required();
  cmd->add_option("--token", args->token, "Shared token the simulator wants")
      ->envname("TRUSTRL_TOKEN");
  cmd->add_option("--tls-ca", args->tls_ca, "PEM file of the CA to trust (TLS)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--steps", args->steps, "Steps per behaviour check")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", args->seed, "Seed of the behaviour checks")->capture_default_str();
  cmd->add_option("--timeout", args->timeout_s, "Seconds to wait for any one answer")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->callback([args] { run(*args); });
}

}  // namespace trustrl::cli
