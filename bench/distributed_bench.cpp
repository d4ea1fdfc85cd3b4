// The parts of a learner + actors run that the scaling model (docs/SCALING.md) is built from:
// what a rollout and a policy cost on the wire (encode + decode, bytes), what joining rollouts
// costs the learner, and the Gloo all-reduce of a flat gradient between two learners.
//
//   ./build/bench/distributed_bench --benchmark_counters_tabular=true

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <thread>

#include "agents/env_actor.h"
#include "agents/rollout_columns.h"
#include "agents/trainer.h"
#include "server/distributed/c10d_collective.h"
#include "server/distributed/learner_convert.h"
#include "tests/support/child_process.h"

namespace {

using namespace trustrl;

struct Setup {
  agents::TrainConfig config;
  agents::RunEnv env;
  std::unique_ptr<agents::Learner> learner;
  agents::Rollout rollout;
};

// A rollout of `copies` x `steps` of `config_file`'s env, acted by an untrained policy.
Setup make_setup(const std::string& config_file, int copies, int steps) {
  Setup s;
  s.config = agents::load_train_config(std::string(TRUSTRL_SOURCE_DIR) + "/configs/" + config_file);
  s.env = agents::probe_env(s.config, agents::local_env_factory());
  s.learner = agents::make_learner(s.config, s.env);
  agents::EnvActor actor(envs::LocalVectorEnv::make(s.env.id, s.config.env.options, copies, 1), 1);
  actor.set_policy(s.learner->snapshot());
  actor.collect(steps, s.rollout);
  return s;
}

void rollout_round_trip(benchmark::State& state, const std::string& config, int copies, int steps) {
  const Setup s = make_setup(config, copies, steps);
  const server::RolloutShape shape = server::rollout_shape(s.env.spec, steps);
  std::size_t bytes = 0;
  for (auto _ : state) {
    server::learner_wire::Rollout message;
    server::to_wire(s.rollout, &message);
    const std::string wire = message.SerializeAsString();
    server::learner_wire::Rollout parsed;
    parsed.ParseFromString(wire);
    benchmark::DoNotOptimize(server::from_wire(parsed, shape, copies));
    bytes = wire.size();
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["env_steps"] = static_cast<double>(s.rollout.env_steps());
  state.counters["ns_per_env_step"] = benchmark::Counter(
      static_cast<double>(s.rollout.env_steps()),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void policy_round_trip(benchmark::State& state, const std::string& config) {
  const Setup s = make_setup(config, 1, 1);
  std::size_t bytes = 0;
  for (auto _ : state) {
    ByteWriter w;
    s.learner->snapshot().save(w);
    ByteReader r(w.bytes(), "policy");
    benchmark::DoNotOptimize(agents::PolicySnapshot::load(r));
    bytes = w.bytes().size();
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

void join_halves(benchmark::State& state, const std::string& config, int copies, int steps) {
  const Setup s = make_setup(config, copies, steps);
  const agents::Rollout a = agents::slice_columns(s.rollout, 0, copies / 2),
                        b = agents::slice_columns(s.rollout, copies / 2, copies - copies / 2);
  for (auto _ : state) benchmark::DoNotOptimize(agents::merge_columns({&a, &b}));
}

// Two learners (threads here, each with its own process group over loopback TCP) summing a flat
// gradient of `floats` values, as every minibatch step of data-parallel learners does. The first
// value doubles as the stop signal for the peer.
void gradient_all_reduce(benchmark::State& state) {
  const auto floats = state.range(0);
  const int port = testing::free_port();
  std::thread peer([&] {
    server::DataParallelOptions o;
    o.rank = 1;
    o.world_size = 2;
    o.master_port = port;
    server::C10dCollective c(o);
    torch::Tensor g = torch::zeros({floats});
    for (;;) {
      g[0] = 0;
      c.all_reduce_sum(g);
      if (g[0].item<float>() > 0) return;
    }
  });
  server::DataParallelOptions o;
  o.rank = 0;
  o.world_size = 2;
  o.master_port = port;
  server::C10dCollective c(o);
  torch::Tensor g = torch::zeros({floats});
  for (auto _ : state) {
    g[0] = 0;
    c.all_reduce_sum(g);
  }
  g[0] = 1;
  c.all_reduce_sum(g);
  peer.join();
  state.counters["bytes"] = static_cast<double>(floats * 4);
}

}  // namespace

BENCHMARK_CAPTURE(rollout_round_trip, cartpole_8x32, std::string("ppo_cartpole.yaml"), 8, 32)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(rollout_round_trip, cartpole_4x32, std::string("ppo_cartpole.yaml"), 4, 32)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(rollout_round_trip, lunarlander_8x1024, std::string("ppo_lunarlander.yaml"), 8,
                  1024)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(policy_round_trip, cartpole, std::string("ppo_cartpole.yaml"))
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(policy_round_trip, lunarlander, std::string("ppo_lunarlander.yaml"))
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(join_halves, cartpole_8x32, std::string("ppo_cartpole.yaml"), 8, 32)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(join_halves, lunarlander_16x1024, std::string("ppo_lunarlander.yaml"), 16, 1024)
    ->Unit(benchmark::kMicrosecond);
// Flat gradients of the CartPole and LunarLander actor-critics (64x64 tanh MLPs): ~9k and ~10k
// floats; and a 1M-float network for comparison.
BENCHMARK(gradient_all_reduce)
    ->Arg(9000)
    ->Arg(1 << 20)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

BENCHMARK_MAIN();
