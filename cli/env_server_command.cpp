// `trustrl env-server`: serve a registered env (single- or multi-agent) over gRPC until SIGINT or
// SIGTERM.

#include <pthread.h>
#include <signal.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/command_list.h"
#include "cli/commands.h"
#include "cli/signals.h"
#include "core/error.h"
#include "envs/registry.h"
#include "server/env_protocol/env_server.h"
#include "server/env_protocol/spec_hash.h"

namespace trustrl::cli {

namespace {

struct EnvServerArgs {
  std::string env;
  int num_envs = 1;
  std::string listen = "127.0.0.1:0";
  std::string token;
  std::string tls_cert;
  std::string tls_key;
  std::vector<std::string> options;
  int threads = 1;
  int max_sessions = 64;
  int max_sessions_per_peer = 0;
  std::int64_t max_connections_per_peer = 0;
  double idle_timeout_s = 600;
  std::int64_t max_open_files = 0;
};

OptionMap parse_options(const std::vector<std::string>& pairs) {
  OptionMap out;
  for (const auto& pair : pairs) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error("--option expects key=value, got '" + pair + "'");
    out[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return out;
}

void run(const EnvServerArgs& args) {
  StopSignals signals;  // before gRPC starts its threads, which inherit the blocked mask

  if (args.max_open_files > 0) server::limit_open_files(args.max_open_files);
  server::EnvServerOptions options;
  options.listen = args.listen;
  options.token = args.token;
  options.tls_cert_file = args.tls_cert;
  options.tls_key_file = args.tls_key;
  options.max_sessions = args.max_sessions;
  options.max_sessions_per_peer = args.max_sessions_per_peer;
  options.max_connections_per_peer = args.max_connections_per_peer;
  options.idle_timeout = std::chrono::milliseconds(std::llround(args.idle_timeout_s * 1000));
  options.log = [](const std::string& line) {
    std::fprintf(stderr, "env-server: %s\n", line.c_str());
  };
  // The same server serves both kinds.
  const OptionMap env_options = parse_options(args.options);
  server::EnvServer server(
      server::registered_env_maker(args.env, env_options, args.num_envs, args.threads), options);

  const auto& info = server.info();
  std::fprintf(stderr, "env-server: serving %s (%s), %d copies per session, spec hash %s%s%s\n",
               info.spec().id().c_str(), server::describe(info.spec()).c_str(), info.num_envs(),
               server::hash_text(info.spec_hash()).c_str(),
               args.token.empty() ? "" : ", token required", args.tls_cert.empty() ? "" : ", TLS");
  // Scripts and tests wait for this line: keep its wording.
  std::printf("listening on %s\n", server.address().c_str());
  std::fflush(stdout);

  const char* signal = signals.wait();
  std::fprintf(stderr,
               "env-server: %s, shutting down (open sessions get 2 s to finish; a second one "
               "kills)\n",
               signal);
  server.shutdown(std::chrono::seconds(2));
}

}  // namespace

void add_env_server_command(CLI::App& app) {
  auto args = std::make_shared<EnvServerArgs>();
  auto* cmd = app.add_subcommand("env-server", summary_of("env-server"));
  cmd->add_option("--env", args->env, "Env id, single- or multi-agent (`trustrl envs` lists them)")
      ->required();
  cmd->add_option("--num-envs", args->num_envs, "Copies of the env per session")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--listen", args->listen,
                  "Address to listen on; port 0 picks a free one (printed). Other than loopback "
                  "needs --token")
      ->capture_default_str();
  cmd->add_option("--token", args->token, "Shared token every client must send")
      ->envname("TRUSTRL_TOKEN");
  cmd->add_option("--tls-cert", args->tls_cert, "PEM certificate for TLS")
      ->check(CLI::ExistingFile);
  cmd->add_option("--tls-key", args->tls_key, "PEM private key for TLS")->check(CLI::ExistingFile);
  cmd->add_option("--option", args->options, "Env option key=value (repeatable)");
  cmd->add_option("--threads", args->threads, "Threads stepping one session's copies")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-sessions", args->max_sessions, "Sessions served at once")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-sessions-per-peer", args->max_sessions_per_peer,
                  "Sessions served at once to one client host (0: --max-sessions)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-connections-per-peer", args->max_connections_per_peer,
                  "TCP connections one client host may hold at once; more are closed at once (0: "
                  "1024, or 4 x --max-sessions if more)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--idle-timeout", args->idle_timeout_s,
                  "Close a session that sent no request for this many seconds (0: never)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e7));
  // Tests: a server short of descriptors without prlimit.
  cmd->add_option("--max-open-files", args->max_open_files, "Soft limit on open descriptors")
      ->check(CLI::Range(std::int64_t{16}, std::int64_t{1} << 30))
      ->group("");
  cmd->callback([args] { run(*args); });
}

}  // namespace trustrl::cli
