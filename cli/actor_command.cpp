// `trustrl actor --learner ADDR [--env-server ADDR] [--num-envs N] [--token T]`: acts for a
// learner (trustrl learner) until it says the run is over.

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <thread>

#include "cli/command_list.h"
#include "cli/commands.h"
#include "cli/signals.h"
#include "core/error.h"
#include "server/distributed/actor_loop.h"
#include "server/gatherer/learner_protocol.h"

namespace trustrl::cli {

namespace {

void run_actor(server::ActorLoopOptions options, std::int64_t crash_after) {
  StopSignals signals;  // before gRPC starts its threads, which inherit the blocked mask
  options.log = [](const std::string& line) { std::fprintf(stderr, "actor: %s\n", line.c_str()); };
  if (crash_after > 0)
    options.before_collect = [crash_after](std::int64_t pushed) {
      if (pushed < crash_after) return;
      std::fprintf(stderr, "actor: asked for rollout %lld: crashing (SIGKILL), as asked\n",
                   static_cast<long long>(pushed + 1));
      std::fflush(stderr);
      ::raise(SIGKILL);
    };
  server::ActorLoop loop(options);
  signals.start([&loop](const char* name) {
    std::fprintf(stderr, "actor: %s, leaving the learner (a second one kills)\n", name);
    loop.stop();
  });
  loop.run();
  std::fprintf(stderr, "actor: done: %lld rollouts pushed, %lld taken\n",
               static_cast<long long>(loop.rollouts_pushed()),
               static_cast<long long>(loop.rollouts_accepted()));
}

// Digits only, 1 to 2^62: "-1" would otherwise be read as 2^64 - 1.
CLI::Validator incarnation_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const bool digits = !text.empty() && text.size() <= 19 &&
                            text.find_first_not_of("0123456789") == std::string::npos;
        const unsigned long long value = digits ? std::stoull(text) : 0;
        if (!digits || value < 1 || value > server::kMaxIncarnation)
          return "must be a whole number from 1 to " + std::to_string(server::kMaxIncarnation) +
                 " (2^62), got '" + text + "'";
        return "";
      },
      "1..2^62");
}

}  // namespace

void add_actor_command(CLI::App& app) {
  auto options = std::make_shared<server::ActorLoopOptions>();
  auto* cmd = app.add_subcommand("actor", summary_of("actor"));
  cmd->add_option("--learner", options->learner, "the learner's host:port")->required();
  cmd->add_option("--env-server", options->env_server,
                  "step the env copies of this env server instead of local copies");
  cmd->add_option("--num-envs", options->num_envs, "env copies (default: the learner's choice)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--token", options->token, "the learner's token")->envname("TRUSTRL_TOKEN");
  cmd->add_option("--tls-ca", options->tls_ca_file,
                  "PEM file of the CA to trust for TLS to the learner")
      ->check(CLI::ExistingFile);
  cmd->add_option("--env-token", options->env_token, "the env server's token")
      ->envname("TRUSTRL_ENV_TOKEN");
  cmd->add_option("--env-tls-ca", options->env_tls_ca_file,
                  "PEM file of the CA to trust for TLS to the env server")
      ->check(CLI::ExistingFile);
  cmd->add_option("--id", options->actor_id, "this actor's stable name (default: host/pid)");
  cmd->add_option(
         "--incarnation", options->incarnation,
         "larger for every restart of this actor, 1 to 2^62 (default: the start time in ns)")
      ->check(incarnation_validator());
  cmd->add_option("--learner-timeout", options->learner_timeout_s,
                  "give up when the learner stays unreachable this many seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--log-rollouts", options->log_rollouts, "print a line per pushed rollout");
  auto crash_after = std::make_shared<std::int64_t>(0);
  // For fault tests, so not in --help: a crash at a point that does not depend on timing.
  cmd->add_option("--crash-after-rollouts", *crash_after,
                  "after pushing N rollouts, kill this process (SIGKILL) when asked for the next")
      ->check(CLI::PositiveNumber)
      ->group("");
  cmd->callback([options, crash_after] { run_actor(*options, *crash_after); });
}

}  // namespace trustrl::cli
