// Remote vs local env throughput and latency, for docs/BENCHMARKS.md ("Remote envs").
//
//   remote_env_bench [--env CartPole-v1] [--copies 1,8,64] [--seconds 2]
//                    [--listen 127.0.0.1:0 | unix:/tmp/trustrl.sock]
//                    [--server-cmd "build/cli/trustrl env-server --env CartPole-v1 --num-envs {n}"]
//                    [--inline-budget-us 200]   (0: every request of the in-process server on a
//                    worker)
//
// For each copy count: steps/second of a LocalVectorEnv and of a RemoteVectorEnv, one thread
// stepping each. The remote env talks to an EnvServer in this process over loopback, or, with
// --server-cmd, to a server started as a separate process for each copy count ({n} is replaced
// by the count; the command must print "listening on ADDRESS"). Then the round-trip latency of
// one step with one copy, and the cost of encoding and decoding one 64-copy step response.

#include <google/protobuf/wrappers.pb.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/text.h"
#include "envs/single_agent_adapter.h"
#include "envs/vector_env.h"
#include "server/env_protocol/convert.h"
#include "server/env_protocol/env_server.h"
#include "server/env_protocol/remote_vector_env.h"
#include "tests/support/child_process.h"

namespace {

using Clock = std::chrono::steady_clock;
using trustrl::envs::VectorEnv;

struct Args {
  std::string env = "CartPole-v1";
  std::vector<int> copies = {1, 8, 64};
  double seconds = 2.0;
  std::string listen = "127.0.0.1:0";
  std::string server_cmd;
  int inline_budget_us = -1;  // < 0: the server's default
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--env")
      a.env = value;
    else if (key == "--seconds")
      a.seconds = std::stod(value);
    else if (key == "--server-cmd")
      a.server_cmd = value;
    else if (key == "--inline-budget-us")
      a.inline_budget_us = std::stoi(value);
    else if (key == "--listen")
      a.listen = value;
    else if (key == "--copies") {
      a.copies.clear();
      for (const auto& c : trustrl::split(value, ',')) a.copies.push_back(std::stoi(c));
    } else {
      std::fprintf(stderr, "unknown flag %s\n", key.c_str());
      std::exit(2);
    }
  }
  return a;
}

// A fixed action pattern (no RNG in the timed loop), valid for any space.
struct Actions {
  explicit Actions(const VectorEnv& env) {
    const auto& space = env.single_agent_spec().action_space;
    const auto size = static_cast<std::size_t>(env.num_envs() * space.flat_dim());
    for (int k = 0; k < 16; ++k) {
      std::vector<std::int64_t> d(size);
      std::vector<float> c(size);
      for (std::size_t i = 0; i < size; ++i) {
        d[i] = space.kind == trustrl::envs::SpaceKind::kDiscrete
                   ? space.start + static_cast<std::int64_t>((i * 7 + k * 3) % space.n)
               : space.is_discrete()
                   ? static_cast<std::int64_t>((i + k) % space.nvec[i % space.nvec.size()])
                   : 0;
        c[i] = static_cast<float>((static_cast<int>(i + k) % 5) - 2) * 0.4f;
      }
      discrete.push_back(std::move(d));
      continuous.push_back(std::move(c));
    }
    is_discrete = space.is_discrete();
  }
  trustrl::envs::ActionBatch at(int t) const {
    const auto k = static_cast<std::size_t>(t % 16);
    if (is_discrete) return {discrete[k], {}};
    return {{}, continuous[k]};
  }
  std::vector<std::vector<std::int64_t>> discrete;
  std::vector<std::vector<float>> continuous;
  bool is_discrete = true;
};

// Env steps per second over about `seconds`.
double steps_per_second(VectorEnv& env, double seconds) {
  const Actions actions(env);
  env.reset(1);
  for (int t = 0; t < 200; ++t) env.step(actions.at(t));  // warm up
  const auto start = Clock::now();
  const auto budget = std::chrono::duration<double>(seconds);
  std::int64_t steps = 0;
  int t = 0;
  while (Clock::now() - start < budget) {
    for (int k = 0; k < 64; ++k) env.step(actions.at(t++));
    steps += 64;
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(steps * env.num_envs()) / elapsed;
}

// A server for `copies` copies: in this process, or a child process from --server-cmd.
struct Server {
  std::unique_ptr<trustrl::server::EnvServer> in_process;
  std::unique_ptr<trustrl::testing::ChildProcess> child;
  std::string address;
};

Server serve(const Args& args, int copies) {
  Server s;
  if (args.server_cmd.empty()) {
    trustrl::server::EnvServerOptions options;
    options.listen = args.listen;
    if (args.inline_budget_us >= 0)
      options.inline_budget = std::chrono::microseconds(args.inline_budget_us);
    s.in_process = std::make_unique<trustrl::server::EnvServer>(
        trustrl::server::registered_env_maker(args.env, {}, copies), options);
    s.address = s.in_process->address();
    return s;
  }
  std::string cmd = args.server_cmd;
  const auto at = cmd.find("{n}");
  if (at != std::string::npos) cmd.replace(at, 3, std::to_string(copies));
  std::vector<std::string> argv;
  for (const auto& word : trustrl::split(cmd, ' '))
    if (!word.empty()) argv.push_back(word);
  s.child = std::make_unique<trustrl::testing::ChildProcess>(argv);
  s.address = s.child->wait_for_line("listening on ", 60);
  return s;
}

std::unique_ptr<VectorEnv> remote(const std::string& address, int copies) {
  trustrl::server::RemoteEnvOptions options;
  options.address = address;
  options.num_envs = copies;
  options.max_reconnects = 0;
  return std::make_unique<trustrl::server::RemoteVectorEnv>(options);
}

void latency(const std::string& address, int steps) {
  auto env = remote(address, 1);
  const Actions actions(*env);
  env->reset(1);
  std::vector<double> us;
  for (int t = 0; t < steps; ++t) {
    const auto start = Clock::now();
    env->step(actions.at(t));
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  std::sort(us.begin(), us.end());
  auto pct = [&](double p) {
    return us[static_cast<std::size_t>(p * static_cast<double>(us.size() - 1))];
  };
  std::printf(
      "\nround trip of one step, 1 copy (%d steps): median %.1f us, p90 %.1f us, p99 %.1f us\n",
      steps, pct(0.5), pct(0.9), pct(0.99));
}

// Encoding cost of one step response, packed repeated fields vs. the same floats as raw bytes.
void encoding(int copies, int obs_dim) {
  namespace wire = trustrl::env::v1;
  trustrl::envs::StepBuffers b;
  b.resize(copies, 1, obs_dim, 0);
  for (std::size_t i = 0; i < b.observations.size(); ++i)
    b.observations[i] = 0.001f * static_cast<float>(i);
  b.terminated[3] = 1;
  const int reps = 200000;
  std::string bytes;
  auto time_it = [&](auto&& body) {
    const auto start = Clock::now();
    for (int r = 0; r < reps; ++r) body();
    return std::chrono::duration<double, std::nano>(Clock::now() - start).count() / reps;
  };
  trustrl::envs::EnvSpec spec;
  spec.observation_space = trustrl::envs::Space::box(-1.0f, 1.0f, {obs_dim});
  spec.action_space = trustrl::envs::Space::discrete(2);
  const trustrl::server::AgentLayout layout(trustrl::envs::one_agent_spec(spec));
  wire::StepResponse msg, parsed;
  const double packed = time_it([&] {
    msg.Clear();
    trustrl::server::write_step(layout, b, &msg);
    msg.SerializeToString(&bytes);
    parsed.ParseFromString(bytes);
  });
  const std::size_t packed_size = bytes.size();
  // The same observations three ways: as the packed field alone, and as one bytes field.
  wire::StepResponse obs_only, obs_parsed;
  const double packed_obs = time_it([&] {
    obs_only.Clear();
    obs_only.mutable_observations()->Add(b.observations.begin(), b.observations.end());
    obs_only.SerializeToString(&bytes);
    obs_parsed.ParseFromString(bytes);
  });
  google::protobuf::BytesValue raw, raw_parsed;
  const double as_bytes = time_it([&] {
    raw.mutable_value()->assign(reinterpret_cast<const char*>(b.observations.data()),
                                b.observations.size() * sizeof(float));
    raw.SerializeToString(&bytes);
    raw_parsed.ParseFromString(bytes);
  });
  std::printf(
      "\nencode + decode, %d copies, obs width %d: whole step response %.0f ns (%zu bytes); "
      "observations alone as a packed field %.0f ns, as a bytes field %.0f ns\n",
      copies, obs_dim, packed, packed_size, packed_obs, as_bytes);
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  std::printf("| env | copies per message | local SPS | remote SPS | remote / local |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: |\n");
  for (const int copies : args.copies) {
    auto local = trustrl::envs::LocalVectorEnv::make(args.env, {}, copies, 1);
    const double local_sps = steps_per_second(*local, args.seconds);
    const Server server = serve(args, copies);
    auto env = remote(server.address, copies);
    const double remote_sps = steps_per_second(*env, args.seconds);
    std::printf("| %s | %d | %s | %s | %.1f%% |\n", args.env.c_str(), copies,
                trustrl::human_count(local_sps).c_str(), trustrl::human_count(remote_sps).c_str(),
                100.0 * remote_sps / local_sps);
    std::fflush(stdout);
  }
  latency(serve(args, 1).address, 20000);
  auto probe = trustrl::envs::LocalVectorEnv::make(args.env, {}, 1, 1);
  encoding(64, static_cast<int>(probe->single_agent_spec().observation_space.flat_dim()));
  return 0;
}
