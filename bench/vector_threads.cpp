// Where two env threads lose against two processes (docs/BENCHMARKS.md, "Vector env threads"):
// copies of one env stepped on random actions on one thread, and on two threads four ways.
//
//   vector_threads ENV_ID [COPIES [SECONDS]]
//
//   serial       one LocalVectorEnv of all copies on one thread
//   pool         one LocalVectorEnv of all copies on 2 threads (what training uses)
//   independent  2 threads, each its own LocalVectorEnv of half the copies, never waiting
//   spin         the same, meeting at a spinning barrier after every batch
//   sleep        the same, meeting at std::barrier (the first to arrive sleeps)
//
// Prints copy-steps per second of each and its ratio to serial. Run it on an idle machine: with
// the cores busy, the spinning barrier starves.
#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "envs/random_actions.h"
#include "envs/registry.h"
#include "envs/vector_env.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

using trustrl::envs::LocalVectorEnv;
using clock_type = std::chrono::steady_clock;

constexpr int kBatches = 256;  // pre-drawn action batches, cycled

// Steps `env` for `warmup` then `batches` batches, calling `between` after every batch; returns
// copy-steps per second of the timed batches. A fixed count keeps threads that meet at a barrier
// in step (a time limit could let one leave while the other waits).
template <class Between>
double run(LocalVectorEnv& env, long warmup, long batches, std::uint64_t seed, Between between) {
  const trustrl::envs::ActionPool actions(env.spec(), env.num_envs(), kBatches, seed);
  env.reset(seed);
  long batch = 0;
  for (; batch < warmup; ++batch) {
    env.step(actions.get(static_cast<std::size_t>(batch)));
    between();
  }
  const auto start = clock_type::now();
  for (long k = 0; k < batches; ++k, ++batch) {
    env.step(actions.get(static_cast<std::size_t>(batch)));
    between();
  }
  const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  return static_cast<double>(batches * env.num_envs()) / elapsed;
}

// Two threads, each its own vector env of `copies / 2`; `meet` is called after every batch by
// both (a barrier, or nothing).
template <class Meet>
double two_envs(const std::string& id, int copies, long warmup, long batches, Meet meet) {
  std::vector<double> rates(2);
  std::vector<std::thread> threads;
  std::exception_ptr error;
  std::atomic<bool> failed{false};
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      try {
        auto env = LocalVectorEnv::make(id, {}, copies / 2, 1);
        rates[static_cast<std::size_t>(t)] =
            run(*env, warmup, batches, 1000 + static_cast<std::uint64_t>(t), [&] { meet(); });
      } catch (...) {
        if (!failed.exchange(true)) error = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
  return rates[0] + rates[1];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: vector_threads ENV_ID [COPIES [SECONDS]]\n");
    return 2;
  }
  try {
    const std::string id = argv[1];
    const int copies = argc > 2 ? std::atoi(argv[2]) : 64;
    const double seconds = argc > 3 ? std::atof(argv[3]) : 3.0;
    if (copies < 2 || copies % 2 != 0 || seconds <= 0) {
      std::fprintf(stderr, "COPIES must be even and >= 2, SECONDS > 0\n");
      return 2;
    }
    // Batch counts from a short serial run: `seconds` of serial stepping, a fifth as warm-up.
    auto serial_env = LocalVectorEnv::make(id, {}, copies, 1);
    const double probe = run(*serial_env, 0, 64, 1, [] {});
    const long batches = std::max(16L, static_cast<long>(seconds * probe / copies));
    const long warmup = batches / 5;
    const double serial = run(*serial_env, warmup, batches, 1, [] {});
    auto pool_env = LocalVectorEnv::make(id, {}, copies, 2);
    const double pool = run(*pool_env, warmup, batches, 1, [] {});
    // Two halves of the copies: twice the batches each, for about as many copy-steps.
    const long half_batches = 2 * batches, half_warmup = 2 * warmup;
    const double independent = two_envs(id, copies, half_warmup, half_batches, [] {});
    // A spinning barrier: the last to arrive opens the next round.
    std::atomic<unsigned> arrived{0}, round{0};
    const double spin = two_envs(id, copies, half_warmup, half_batches, [&] {
      const unsigned r = round.load();
      if (arrived.fetch_add(1) + 1 == 2) {
        arrived.store(0);
        round.fetch_add(1);
      } else {
        while (round.load() == r) {
#if defined(__x86_64__)
          _mm_pause();
#endif
        }
      }
    });
    std::barrier<> meet(2);
    const double sleep =
        two_envs(id, copies, half_warmup, half_batches, [&] { meet.arrive_and_wait(); });
    std::printf("%s, %d copies, %ld batches (~%.1f s) each (copy-steps/s, x serial)\n", id.c_str(),
                copies, batches, seconds);
    const std::pair<const char*, double> rows[] = {{"serial", serial},
                                                   {"pool", pool},
                                                   {"independent", independent},
                                                   {"spin", spin},
                                                   {"sleep", sleep}};
    for (const auto& [name, rate] : rows)
      std::printf("  %-12s %10.1fk  %.2f\n", name, rate / 1e3, rate / serial);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vector_threads: %s\n", e.what());
    return 1;
  }
  return 0;
}
