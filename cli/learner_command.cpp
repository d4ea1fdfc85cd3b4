// `trustrl learner CONFIG --listen ADDR [--run-dir DIR] [--token T] [--tls-cert C --tls-key K]`,
// `trustrl learner --resume RUN_DIR --listen ADDR`, and data parallel:
// `... --world-size W --rank R --master-addr A --master-port P` (or torchrun's variables).
// Serves actor processes (`trustrl actor`) until the run is done.

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "agents/trainer.h"
#include "cli/command_list.h"
#include "cli/commands.h"
#include "cli/env_factory.h"
#include "cli/run_options.h"
#include "cli/signals.h"
#include "core/error.h"
#include "server/distributed/c10d_collective.h"
#include "server/distributed/learner_service.h"
#include "server/transport/transport.h"

namespace trustrl::cli {

namespace {

struct LearnerArgs {
  RunOptions run;
  std::string listen = "127.0.0.1:0";
  std::string token;
  std::string tls_cert;
  std::string tls_key;
  int max_actors = 256;
  int max_actors_per_peer = 0;
  std::int64_t max_connections_per_peer = 0;
  int min_actors = 1;
  server::DataParallelOptions parallel;
  CLI::Option* rank = nullptr;
  CLI::Option* world_size = nullptr;
  CLI::Option* master_addr = nullptr;
  CLI::Option* master_port = nullptr;
  bool quiet = false;
  bool log_batches = false;
};

// Serves the run until it is done or a signal stops it; returns that signal's number, or 0.
int serve_learner(LearnerArgs args) {
  StopSignals signals;  // before gRPC starts its threads, which inherit the blocked mask
  args.parallel.read_environment(args.rank->count() > 0, args.world_size->count() > 0,
                                 args.master_addr->count() > 0, args.master_port->count() > 0);
  const int world = args.parallel.world_size, rank = args.parallel.rank;
  if (rank >= world)
    throw Error("--rank " + std::to_string(rank) + " is outside --world-size " +
                std::to_string(world));

  agents::TrainerOptions options;
  options.make_env = env_factory();
  options.progress = !args.quiet && rank == 0;
  options.progress_is_terminal = ::isatty(STDERR_FILENO) != 0;
  options.verbose = !args.quiet;
  if (world > 1) {
    std::fprintf(stderr, "learner: rank %d of %d, meeting the others at %s:%d\n", rank, world,
                 args.parallel.master_addr.c_str(), args.parallel.master_port);
    options.collective = std::make_shared<server::C10dCollective>(args.parallel);
  }

  server::LearnerServiceOptions service;
  service.listen = args.listen;
  // Several learners on one host: rank r listens on the given port + r (port 0 stays "any").
  server::check_address(args.listen, "--listen");
  if (world > 1 && args.listen.rfind("unix", 0) != 0) {
    const auto colon = args.listen.rfind(':');
    if (colon != std::string::npos) {
      const int port = std::stoi(args.listen.substr(colon + 1));
      if (port != 0 && port + rank > 65535)
        throw Error("--listen port " + std::to_string(port) + " + rank " + std::to_string(rank) +
                    " is beyond 65535");
      if (port != 0) service.listen = server::with_port(args.listen, port + rank);
    }
  }
  service.token = args.token;
  service.tls_cert_file = args.tls_cert;
  service.tls_key_file = args.tls_key;
  service.max_actors = args.max_actors;
  service.max_actors_per_peer = args.max_actors_per_peer;
  service.max_connections_per_peer = args.max_connections_per_peer;
  service.min_actors = args.min_actors;
  service.log_batches = args.log_batches;
  const bool quiet = args.quiet;
  service.log = [quiet](const std::string& line) {
    if (!quiet) std::fprintf(stderr, "learner: %s\n", line.c_str());
  };
  server::LearnerService* live = nullptr;
  const std::string token = args.token, cert = args.tls_cert;
  options.make_channel = [&live, service, token, cert](const agents::ChannelSetup& setup) {
    auto channel = std::make_unique<server::LearnerService>(setup, service);
    live = channel.get();
    std::fprintf(
        stderr, "learner: serving %s (%s mode, %d env copies x %d steps per batch)%s%s\n",
        setup.env.id.c_str(),
        setup.config.distributed.mode == agents::GatherMode::kSync ? "synchronous" : "asynchronous",
        setup.batch_envs, static_cast<int>(setup.config.ppo.num_steps),
        token.empty() ? "" : ", token required", cert.empty() ? "" : ", TLS");
    // Scripts and tests wait for this line: keep its wording.
    std::printf("listening on %s\n", channel->address().c_str());
    std::fflush(stdout);
    return channel;
  };

  std::unique_ptr<agents::Trainer> trainer;
  if (rank > 0) {
    std::optional<agents::TrainConfig> own;
    if (!args.run.config.empty()) own = load_run_config(args.run);
    trainer = agents::Trainer::follow(own, options);
  } else {
    trainer = start_or_resume(args.run, "learner", options);
  }
  if (trainer->finished()) {
    trainer->channel().finish();
    if (rank == 0)
      std::cerr << "run " << trainer->run_dir().root().string() << " is already complete\n";
    return 0;
  }
  agents::Trainer* t = trainer.get();
  signals.start([t](const char* name) {
    std::fprintf(stderr, "learner: %s, stopping after this update (a second one kills)\n", name);
    t->request_stop();
  });
  trainer->run();
  if (rank == 0) std::cout << trainer->run_dir().root().string() << std::endl;
  return trainer->finished() ? 0 : signals.received();
}

void run_learner(LearnerArgs args) {
  const int stopped_by = serve_learner(std::move(args));
  // As `trustrl train` does: a run a signal stopped ends by that signal (shell status 130 / 143),
  // after the trainer's files are closed and its threads joined.
  if (stopped_by != 0) end_by_signal(stopped_by);
}

}  // namespace

void add_learner_command(CLI::App& app) {
  auto args = std::make_shared<LearnerArgs>();
  auto* cmd = app.add_subcommand("learner", summary_of("learner"));
  add_run_options(*cmd, args->run);
  cmd->add_option(
         "--listen", args->listen,
         "address for actors; port 0 picks a free one (printed). Other than loopback needs --token")
      ->capture_default_str();
  cmd->add_option("--token", args->token, "shared token every actor must send")
      ->envname("TRUSTRL_TOKEN");
  cmd->add_option("--tls-cert", args->tls_cert, "PEM certificate for TLS")
      ->check(CLI::ExistingFile);
  cmd->add_option("--tls-key", args->tls_key, "PEM private key for TLS")->check(CLI::ExistingFile);
  cmd->add_option("--max-actors", args->max_actors, "actors served at once")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-actors-per-peer", args->max_actors_per_peer,
                  "actors served at once from one client host (0: --max-actors)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-connections-per-peer", args->max_connections_per_peer,
                  "TCP connections one client host may hold at once; more are closed at once (0: "
                  "1024, or 4 x --max-actors if more)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--min-actors", args->min_actors,
                  "begin a batch only while at least this many actors are members (a begun batch "
                  "goes on with whoever is left)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  args->world_size = cmd->add_option("--world-size", args->parallel.world_size,
                                     "learners training data parallel (default: $WORLD_SIZE or 1)")
                         ->check(CLI::PositiveNumber);
  args->rank =
      cmd->add_option("--rank", args->parallel.rank, "this learner's rank (default: $RANK or 0)")
          ->check(CLI::NonNegativeNumber);
  args->master_addr =
      cmd->add_option("--master-addr", args->parallel.master_addr,
                      "rank 0's host for the rendezvous (default: $MASTER_ADDR or 127.0.0.1)");
  args->master_port = cmd->add_option("--master-port", args->parallel.master_port,
                                      "rank 0's rendezvous port (default: $MASTER_PORT or 29500)")
                          ->check(CLI::Range(1, 65535));
  cmd->add_option("--parallel-timeout", args->parallel.timeout_s,
                  "seconds a learner waits for the others before it fails")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--quiet", args->quiet, "no progress line or status messages");
  cmd->add_flag("--log-batches", args->log_batches,
                "print a line per batch naming the rollouts it took (actor and sequence number)");
  cmd->callback([args] { run_learner(*args); });
}

}  // namespace trustrl::cli
