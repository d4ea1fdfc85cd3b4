#include "envs/vector_env.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <thread>

#include "core/error.h"
#include "envs/registry.h"
#include "envs/single_agent_adapter.h"
#include "tests/envs/toy_team_env.h"

namespace trustrl::envs {
namespace {

using testing_env::Buffers;
using testing_env::Flaw;
using testing_env::ToyTeamEnv;

void expect_error(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing \"" << fragment << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

// --- plain envs, one agent each ---------------------------------------------------------

// Steps with a fixed action pattern and records every buffer.
std::vector<float> run(const std::string& id, int num_envs, int threads, int steps) {
  auto env = LocalVectorEnv::make(id, {}, num_envs, threads);
  env->reset(99);
  std::vector<float> trace = env->buffers().observations;
  const auto& space = env->single_agent_spec().action_space;
  std::vector<std::int64_t> discrete;
  std::vector<float> continuous;
  for (int t = 0; t < steps; ++t) {
    discrete.assign(static_cast<std::size_t>(num_envs), 0);
    continuous.assign(static_cast<std::size_t>(num_envs * space.flat_dim()), 0.0f);
    for (int i = 0; i < num_envs; ++i) {
      if (space.is_discrete())
        discrete[static_cast<std::size_t>(i)] = (t * 7 + i * 3) % space.n;
      else
        continuous[static_cast<std::size_t>(i)] =
            static_cast<float>(((t * 7 + i * 3) % 5) - 2) * 0.4f;
    }
    env->step(
        {space.is_discrete() ? std::span<const std::int64_t>(discrete)
                             : std::span<const std::int64_t>(),
         space.is_discrete() ? std::span<const float>() : std::span<const float>(continuous)});
    const auto& b = env->buffers();
    trace.insert(trace.end(), b.observations.begin(), b.observations.end());
    for (int i = 0; i < num_envs; ++i) {
      trace.push_back(static_cast<float>(b.rewards[static_cast<std::size_t>(i)]));
      trace.push_back(b.terminated[static_cast<std::size_t>(i)]);
      trace.push_back(b.truncated[static_cast<std::size_t>(i)]);
    }
  }
  return trace;
}

TEST(VectorEnv, SameSeedSameBatchesWhateverTheThreadCount) {
  for (const char* id : {"CartPole-v1", "Pendulum-v1"}) {
    const auto serial = run(id, 8, 1, 300);
    EXPECT_EQ(serial, run(id, 8, 2, 300)) << id;
    EXPECT_EQ(serial, run(id, 8, 4, 300)) << id;
    EXPECT_EQ(serial, run(id, 8, 8, 300)) << id;
  }
  // 33 copies: home ranges that do not divide the copies evenly.
  const auto serial = run("CartPole-v1", 33, 1, 300);
  EXPECT_EQ(serial, run("CartPole-v1", 33, 2, 300));
  EXPECT_EQ(serial, run("CartPole-v1", 33, 3, 300));
}

TEST(VectorEnv, CopyISeededWithSeedPlusI) {
  auto vec = LocalVectorEnv::make("CartPole-v1", {}, 3, 1);
  vec->reset(10);
  for (int i = 0; i < 3; ++i) {
    auto env = make("CartPole-v1");
    std::vector<float> obs(4);
    env->reset(10 + i, obs);
    for (int k = 0; k < 4; ++k)
      EXPECT_EQ(vec->buffers().observations[static_cast<std::size_t>(i * 4 + k)],
                obs[static_cast<std::size_t>(k)]);
  }
}

TEST(VectorEnv, AutoResetKeepsFinalObservationApart) {
  auto vec = LocalVectorEnv::make("CartPole-v1", {}, 1, 1);
  auto ref = make("CartPole-v1");
  std::vector<float> ref_obs(4);
  vec->reset(5);
  ref->reset(5, ref_obs);
  std::vector<std::int64_t> push_right{1};
  for (int t = 0; t < 100; ++t) {
    vec->step({push_right, {}});
    const StepResult r = ref->step({push_right, {}}, ref_obs);
    const auto& b = vec->buffers();
    if (r.terminated) {
      EXPECT_TRUE(b.terminated[0]);
      EXPECT_EQ(std::vector<float>(b.final_observations.begin(), b.final_observations.end()),
                ref_obs);
      EXPECT_NE(std::vector<float>(b.observations.begin(), b.observations.end()), ref_obs);
      EXPECT_EQ(b.episode_lengths[0], t + 1);
      EXPECT_DOUBLE_EQ(b.episode_returns[0], t + 1.0);
      // The new episode's first observation lies in the reset range.
      for (float x : b.observations) EXPECT_LE(std::fabs(x), 0.05f);
      return;
    }
    EXPECT_EQ(std::vector<float>(b.observations.begin(), b.observations.end()), ref_obs);
  }
  FAIL() << "pushing right never ended the episode";
}

TEST(VectorEnv, WrongActionCountIsAnError) {
  auto vec = LocalVectorEnv::make("CartPole-v1", {}, 4, 1);
  vec->reset(0);
  std::vector<std::int64_t> three{0, 1, 0};
  expect_error(
      [&] {
        vec->step({three, {}});
      },
      "expected 4 discrete action values ([4 copies, 1 agents, 1 per agent]), got 3");
}

TEST(VectorEnv, APlainEnvIsOneAgentWithItsOwnSpec) {
  auto vec = LocalVectorEnv::make("Pendulum-v1", {{"max_episode_steps", "9"}}, 2, 1);
  ASSERT_TRUE(vec->single_agent());
  const EnvSpec& plain = vec->single_agent_spec();
  EXPECT_EQ(plain.canonical(),
            make("Pendulum-v1", {{"max_episode_steps", "9"}})->spec().canonical());
  EXPECT_EQ(vec->spec().num_agents(), 1);
  EXPECT_EQ(vec->spec().state_dim(), 0);
  vec->reset(3);
  const StepBuffers& b = vec->buffers();
  EXPECT_EQ(b.observations.size(), 2u * 3u);  // [N, obs_dim]: the agent axis adds nothing
  EXPECT_EQ(b.active, (std::vector<std::uint8_t>{1, 1}));
  const std::vector<float> torque{0.5f, -0.5f};
  for (int t = 0; t < 9; ++t) vec->step({{}, torque});
  ASSERT_TRUE(b.truncated[0] && b.truncated[1]);
  // One agent's return is the team's, and it was active at the end.
  EXPECT_EQ(b.agent_episode_returns, b.episode_returns);
  EXPECT_EQ(b.final_active, (std::vector<std::uint8_t>{1, 1}));
}

TEST(VectorEnv, TheSingleAgentSpecOfATeamIsRefusedNamingTheEnv) {
  auto vec = LocalVectorEnv::make("simple_spread_v3", {}, 1, 1);
  EXPECT_FALSE(vec->single_agent());
  expect_error([&] { vec->single_agent_spec(); },
               "simple_spread_v3 is a multi-agent env (3 agents); this needs a single-agent env");
}

TEST(VectorEnv, APlainEnvsSnapshotKeepsThePlainFormat) {
  // A single-agent checkpoint holds: the copy count, each plain env's own Env::save bytes, the
  // running returns and the running lengths. Resuming an older checkpoint depends on it.
  auto vec = LocalVectorEnv::make("CartPole-v1", {}, 2, 1);
  std::vector<std::unique_ptr<Env>> plain;
  std::vector<std::vector<float>> obs(2, std::vector<float>(4));
  vec->reset(8);
  for (int i = 0; i < 2; ++i) {
    plain.push_back(make("CartPole-v1"));
    plain.back()->reset(8 + static_cast<std::uint64_t>(i), obs[static_cast<std::size_t>(i)]);
  }
  const std::vector<std::int64_t> act{1, 0};
  std::vector<double> returns(2, 0.0);
  std::vector<std::int32_t> lengths(2, 0);
  for (int t = 0; t < 5; ++t) {
    vec->step({act, {}});
    for (std::size_t i = 0; i < 2; ++i) {
      returns[i] += plain[i]->step({std::span(act).subspan(i, 1), {}}, obs[i]).reward;
      lengths[i] += 1;
    }
  }
  ByteWriter want;
  want.put<std::uint64_t>(2);
  for (const auto& e : plain) e->save(want);
  want.put_vector(returns);
  want.put_vector(lengths);
  ByteWriter got;
  vec->save(got);
  EXPECT_EQ(std::vector<std::uint8_t>(got.bytes().begin(), got.bytes().end()),
            std::vector<std::uint8_t>(want.bytes().begin(), want.bytes().end()));
}

TEST(VectorEnv, SnapshotContinuesExactly) {
  auto a = LocalVectorEnv::make("Acrobot-v1", {}, 3, 1);
  a->reset(1);
  std::vector<std::int64_t> act{0, 1, 2};
  for (int t = 0; t < 37; ++t) a->step({act, {}});
  ByteWriter w;
  a->save(w);
  auto b = LocalVectorEnv::make("Acrobot-v1", {}, 3, 1);
  ByteReader r(w.bytes(), "snapshot");
  b->load(r);
  EXPECT_EQ(a->buffers().observations, b->buffers().observations);
  for (int t = 0; t < 600; ++t) {
    a->step({act, {}});
    b->step({act, {}});
    ASSERT_EQ(a->buffers().observations, b->buffers().observations) << t;
    ASSERT_EQ(a->buffers().rewards, b->buffers().rewards) << t;
    ASSERT_EQ(a->buffers().episode_returns, b->buffers().episode_returns) << t;
  }
}

// The one-agent fast path against the adapter it replaces: copies wrapped by as_multi_agent()
// take the general path, and every buffer must agree, auto-resets and time limits included.
std::unique_ptr<LocalVectorEnv> adapted(const std::string& id, const OptionMap& options, int n) {
  std::vector<std::unique_ptr<MultiAgentEnv>> envs;
  for (int i = 0; i < n; ++i) envs.push_back(as_multi_agent(make(id, options)));
  return std::make_unique<LocalVectorEnv>(std::move(envs), 1);
}

void expect_same_buffers(const StepBuffers& a, const StepBuffers& b, int t) {
  ASSERT_EQ(a.observations, b.observations) << t;
  ASSERT_EQ(a.rewards, b.rewards) << t;
  ASSERT_EQ(a.active, b.active) << t;
  ASSERT_EQ(a.terminated, b.terminated) << t;
  ASSERT_EQ(a.truncated, b.truncated) << t;
  ASSERT_EQ(a.final_observations, b.final_observations) << t;
  ASSERT_EQ(a.final_active, b.final_active) << t;
  ASSERT_EQ(a.episode_returns, b.episode_returns) << t;
  ASSERT_EQ(a.agent_episode_returns, b.agent_episode_returns) << t;
  ASSERT_EQ(a.episode_lengths, b.episode_lengths) << t;
}

TEST(VectorEnv, PlainCopiesStepAsTheOneAgentAdapterDoes) {
  for (const char* id : {"CartPole-v1", "Pendulum-v1"}) {
    const OptionMap options{{"max_episode_steps", "40"}};
    auto fast = LocalVectorEnv::make(id, options, 5, 1);
    auto slow = adapted(id, options, 5);
    ASSERT_TRUE(fast->single_agent());
    EXPECT_EQ(fast->spec().canonical(), slow->spec().canonical());
    fast->reset(3);
    slow->reset(3);
    expect_same_buffers(fast->buffers(), slow->buffers(), -1);
    const bool discrete = fast->single_agent_spec().action_space.is_discrete();
    std::vector<std::int64_t> d(5);
    std::vector<float> c(5);
    int ended = 0;
    for (int t = 0; t < 200; ++t) {
      for (std::size_t i = 0; i < 5; ++i) {
        d[i] = (t + static_cast<int>(i)) % 2;
        c[i] = static_cast<float>((t * 3 + static_cast<int>(i)) % 5 - 2);
      }
      const ActionBatch batch{
          discrete ? std::span<const std::int64_t>(d) : std::span<const std::int64_t>(),
          discrete ? std::span<const float>() : std::span<const float>(c)};
      fast->step(batch);
      slow->step(batch);
      expect_same_buffers(fast->buffers(), slow->buffers(), t);
      for (int i = 0; i < 5; ++i) ended += fast->buffers().done(i);
    }
    EXPECT_GT(ended, 10) << id << ": the trace should cross many auto-resets";
    // And the snapshots are the same bytes, so either path resumes the other's checkpoint.
    ByteWriter a, b;
    fast->save(a);
    slow->save(b);
    EXPECT_EQ(std::vector<std::uint8_t>(a.bytes().begin(), a.bytes().end()),
              std::vector<std::uint8_t>(b.bytes().begin(), b.bytes().end()))
        << id;
  }
}

TEST(VectorEnv, RefusedPlainBatchLeavesEveryCopyUntouched) {
  auto vec = LocalVectorEnv::make("CartPole-v1", {}, 4, 2);
  std::vector<std::int64_t> act{0, 1, 1, 0};
  expect_error(
      [&] {
        vec->step({act, {}});
      },
      "copy 0: CartPole-v1: step() called without a running episode");
  vec->reset(1);
  const auto before = vec->buffers().observations;
  act[2] = 7;
  expect_error(
      [&] {
        vec->step({act, {}});
      },
      "copy 2: CartPole-v1: action 7 is outside Discrete(2)");
  EXPECT_EQ(vec->buffers().observations, before);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(vec->plain_env(i).elapsed_steps(), 0);
  expect_error([&] { vec->env(0); }, "CartPole-v1 is a plain env; its copies are plain_env(i)");

  auto pendulum = LocalVectorEnv::make("Pendulum-v1", {}, 3, 1);
  pendulum->reset(1);
  std::vector<float> torque{0.0f, 0.0f, std::nanf("")};
  expect_error(
      [&] {
        pendulum->step({{}, torque});
      },
      "copy 2: Pendulum-v1: action component 0 is ");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(pendulum->plain_env(i).elapsed_steps(), 0);
}

// --- choosing the thread count ---------------------------------------------------------------

// A plain env whose step costs `rounds` rounds of dependent arithmetic: a known amount of work,
// not a sleep, so its cost scales with the machine as a simulator's does.
class BusyEnv final : public Env {
 public:
  explicit BusyEnv(int rounds)
      : Env({"Busy-v0", Space::box(-10.0f, 10.0f, {1}), Space::discrete(2), 50, std::nullopt, 30}),
        rounds_(rounds) {}
  std::vector<double> get_state() const override { return {x_}; }
  void set_state(std::span<const double> state, std::span<float> obs) override {
    x_ = state[0];
    obs[0] = static_cast<float>(x_);
  }

 protected:
  void reset_impl(std::span<float> obs) override {
    x_ = rng().uniform(0.0, 1.0);
    obs[0] = static_cast<float>(x_);
  }
  StepResult step_impl(Action action, std::span<float> obs) override {
    double x = x_;
    const double push = 1e-7 * static_cast<double>(action.discrete[0]);
    for (int i = 0; i < rounds_; ++i) x = x * 0.9999999 + push;  // each round waits for the last
    x_ = x;
    obs[0] = static_cast<float>(x_);
    return {x_, false, false};
  }

 private:
  int rounds_;
  double x_ = 0.0;
};

std::unique_ptr<LocalVectorEnv> busy_vector(int rounds, int threads) {
  std::vector<std::unique_ptr<Env>> envs;
  for (int i = 0; i < 8; ++i) envs.push_back(std::make_unique<BusyEnv>(rounds));
  return std::make_unique<LocalVectorEnv>(std::move(envs), threads);
}

// Steps through auto's probe (asserting it stays on one thread while it times) and returns the
// thread count it chose, with the observations of every step.
int auto_choice(LocalVectorEnv& vec, std::vector<float>* trace = nullptr, bool probing = true) {
  vec.reset(4);
  const std::vector<std::int64_t> act{0, 1, 1, 0, 1, 0, 0, 1};
  for (int t = 0; t < LocalVectorEnv::kProbeSteps + 4; ++t) {
    if (probing && t < LocalVectorEnv::kProbeSteps) {
      EXPECT_FALSE(vec.threads_chosen()) << t;
      EXPECT_EQ(vec.num_threads(), 1) << t;
    }
    vec.step({act, {}});
    if (trace)
      trace->insert(trace->end(), vec.buffers().observations.begin(),
                    vec.buffers().observations.end());
  }
  EXPECT_TRUE(vec.threads_chosen());
  return vec.num_threads();
}

TEST(VectorEnv, AutoThreadsKeepACheapEnvOnOneThread) {
  // ~10 ns a step: 8 copies are far below one thread's share (kMinThreadShare).
  EXPECT_EQ(auto_choice(*busy_vector(0, LocalVectorEnv::kAutoThreads)), 1);
  auto cartpole = LocalVectorEnv::make("CartPole-v1", {}, 8, LocalVectorEnv::kAutoThreads);
  EXPECT_EQ(auto_choice(*cartpole), 1);
}

TEST(VectorEnv, ThreadsReportSaysWhoChoseAndWhat) {
  auto fixed = LocalVectorEnv::make("CartPole-v1", {}, 4, 2);
  EXPECT_EQ(fixed->threads_report(), "env threads: 2 for 4 copies (set in the config)");
  auto chosen = busy_vector(0, LocalVectorEnv::kAutoThreads);
  chosen->reset(1);
  EXPECT_EQ(chosen->threads_report(), "") << "nothing to say while auto is timing";
  auto_choice(*chosen);
  const std::string report = chosen->threads_report();
  EXPECT_EQ(report.rfind("env threads: 1 for 8 copies (auto: a batch took ", 0), 0u) << report;
  EXPECT_NE(report.find(" us on one thread, 8 us per thread at least, "), std::string::npos)
      << report;
}

TEST(VectorEnv, AutoThreadsSplitAnExpensiveEnvOverTheCores) {
  // 400k dependent rounds: ~0.2-1 ms a step on any x86-64 core, 8 copies a batch, so every
  // thread's share is far above kMinThreadShare and only the cores (and copies) bound the count.
  const int cores = std::max(1, std::min(8, static_cast<int>(std::thread::hardware_concurrency())));
  std::vector<float> chosen_trace, serial_trace;
  auto chosen = busy_vector(400000, LocalVectorEnv::kAutoThreads);
  EXPECT_EQ(auto_choice(*chosen, &chosen_trace), cores);
  // And the choice changes nothing but the speed.
  auto serial = busy_vector(400000, 1);
  EXPECT_EQ(auto_choice(*serial, &serial_trace, /*probing=*/false), 1);
  EXPECT_EQ(chosen_trace, serial_trace);
}

TEST(VectorEnv, NegativeThreadCountIsAnError) {
  expect_error([] { LocalVectorEnv::make("CartPole-v1", {}, 2, -1); },
               "CartPole-v1: a vector env needs at least 1 thread (or kAutoThreads), got -1");
}

// --- a team of agents --------------------------------------------------------------------------

std::unique_ptr<LocalVectorEnv> toy_vector(int n, int threads, Flaw flaw = Flaw::kNone) {
  std::vector<std::unique_ptr<MultiAgentEnv>> envs;
  for (int i = 0; i < n; ++i) envs.push_back(std::make_unique<ToyTeamEnv>(flaw));
  return std::make_unique<LocalVectorEnv>(std::move(envs), threads);
}

// Valid actions from a fixed pattern, with sentinels for inactive agents.
void fill_actions(const StepBuffers& b, int t, std::vector<std::int64_t>& d,
                  std::vector<float>& c) {
  const int n = b.num_envs;
  d.assign(static_cast<std::size_t>(n * 3 * 2), kNoDiscreteAction);
  c.assign(static_cast<std::size_t>(n * 3 * 2), kNoContinuousAction);
  for (int i = 0; i < n; ++i)
    for (int a = 0; a < 3; ++a) {
      const auto k = static_cast<std::size_t>(i * 3 + a);
      if (!b.active[k]) continue;
      if (a < 2)
        d[k * 2] = (t + i + a) % 3;
      else {
        c[k * 2] = static_cast<float>((t * 7 + i) % 5 - 2) * 0.4f;
        c[k * 2 + 1] = 0.0f;
      }
    }
}

std::vector<double> toy_trace(int n, int threads, int steps) {
  auto env = toy_vector(n, threads);
  env->reset(42);
  std::vector<double> trace;
  std::vector<std::int64_t> d;
  std::vector<float> c;
  for (int t = 0; t < steps; ++t) {
    fill_actions(env->buffers(), t, d, c);
    env->step({d, c});
    const auto& b = env->buffers();
    trace.insert(trace.end(), b.observations.begin(), b.observations.end());
    trace.insert(trace.end(), b.states.begin(), b.states.end());
    trace.insert(trace.end(), b.rewards.begin(), b.rewards.end());
    trace.insert(trace.end(), b.active.begin(), b.active.end());
    trace.insert(trace.end(), b.terminated.begin(), b.terminated.end());
    trace.insert(trace.end(), b.truncated.begin(), b.truncated.end());
  }
  return trace;
}

TEST(VectorEnv, SameSeedSameTeamBatchesWhateverTheThreadCount) {
  const auto serial = toy_trace(7, 1, 120);
  EXPECT_EQ(serial, toy_trace(7, 2, 120));
  EXPECT_EQ(serial, toy_trace(7, 4, 120));
}

TEST(VectorEnv, TeamCopyISeededWithSeedPlusI) {
  auto vec = toy_vector(3, 1);
  vec->reset(10);
  for (int i = 0; i < 3; ++i) {
    ToyTeamEnv env;
    Buffers b(env.spec());
    env.reset(10 + i, b.view());
    const auto& v = vec->buffers().observations;
    EXPECT_EQ(std::vector<float>(v.begin() + i * 12, v.begin() + (i + 1) * 12), b.obs) << i;
  }
}

TEST(VectorEnv, AutoResetKeepsTheFinalViewAndReturnsApart) {
  auto vec = toy_vector(1, 1);
  vec->reset(0);
  ToyTeamEnv ref;
  Buffers rb(ref.spec());
  ref.reset(0, rb.view());
  std::vector<std::int64_t> d;
  std::vector<float> c;
  std::vector<double> returns(3, 0.0);
  for (int t = 0; t < 10; ++t) {
    fill_actions(vec->buffers(), t, d, c);
    const auto r = ref.step({d, c}, rb.view(), rb.rewards);
    vec->step({d, c});
    const auto& b = vec->buffers();
    EXPECT_EQ(b.rewards, rb.rewards);
    for (int a = 0; a < 3; ++a)
      returns[static_cast<std::size_t>(a)] += rb.rewards[static_cast<std::size_t>(a)];
    if (!(r.terminated || r.truncated)) {
      EXPECT_EQ(b.observations, rb.obs);
      EXPECT_EQ(b.active, rb.active);
      continue;
    }
    EXPECT_EQ(b.terminated[0], r.terminated);
    EXPECT_EQ(b.truncated[0], r.truncated);
    EXPECT_EQ(b.final_observations, rb.obs);
    EXPECT_EQ(b.final_states, rb.state);
    EXPECT_EQ(b.final_active, rb.active);
    EXPECT_EQ(b.episode_lengths[0], t + 1);
    EXPECT_EQ(b.agent_episode_returns, returns);
    EXPECT_DOUBLE_EQ(b.episode_returns[0], returns[0] + returns[1] + returns[2]);
    // The live rows already hold the next episode: everyone active again, t = 0.
    EXPECT_EQ(b.active, (std::vector<std::uint8_t>{1, 1, 1}));
    EXPECT_EQ(b.states[2], 0.0f);
    return;
  }
  FAIL() << "ToyTeam never ended within its time limit";
}

TEST(VectorEnv, RefusedBatchLeavesEveryCopyUntouched) {
  auto vec = toy_vector(4, 2);
  vec->reset(1);
  const auto before = vec->buffers().observations;
  std::vector<std::int64_t> d;
  std::vector<float> c;
  fill_actions(vec->buffers(), 0, d, c);
  d[3 * 3 * 2] = 7;  // copy 3, agent 0
  expect_error([&] { vec->step({d, c}); }, "copy 3: ToyTeam-v0: action 7 of agent 0 (scout_0)");
  EXPECT_EQ(vec->buffers().observations, before);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(vec->env(i).elapsed_steps(), 0);
  d.pop_back();
  expect_error(
      [&] {
        vec->step({d, c});
      },
      "expected 24 discrete action values ([4 copies, 3 agents, 2 per agent]), got 23");
}

TEST(VectorEnv, TeamSnapshotContinuesExactly) {
  auto a = toy_vector(3, 1);
  a->reset(5);
  std::vector<std::int64_t> d;
  std::vector<float> c;
  for (int t = 0; t < 13; ++t) {
    fill_actions(a->buffers(), t, d, c);
    a->step({d, c});
  }
  ASSERT_TRUE(a->can_snapshot());
  ByteWriter w;
  a->save(w);
  auto b = toy_vector(3, 1);
  ByteReader r(w.bytes(), "snapshot");
  b->load(r);
  EXPECT_EQ(a->buffers().observations, b->buffers().observations);
  EXPECT_EQ(a->buffers().active, b->buffers().active);
  for (int t = 13; t < 80; ++t) {
    fill_actions(a->buffers(), t, d, c);
    a->step({d, c});
    b->step({d, c});
    ASSERT_EQ(a->buffers().observations, b->buffers().observations) << t;
    ASSERT_EQ(a->buffers().rewards, b->buffers().rewards) << t;
    ASSERT_EQ(a->buffers().terminated, b->buffers().terminated) << t;
    ASSERT_EQ(a->buffers().truncated, b->buffers().truncated) << t;
    // Episode statistics are valid only where an episode ended (other rows are stale).
    for (int i = 0; i < 3; ++i) {
      if (!a->buffers().done(i)) continue;
      const auto k = static_cast<std::size_t>(i);
      ASSERT_EQ(a->buffers().episode_lengths[k], b->buffers().episode_lengths[k]) << t;
      ASSERT_EQ(a->buffers().episode_returns[k], b->buffers().episode_returns[k]) << t;
      for (std::size_t j = 3 * k; j < 3 * k + 3; ++j)
        ASSERT_EQ(a->buffers().agent_episode_returns[j], b->buffers().agent_episode_returns[j])
            << t;
    }
  }
}

}  // namespace
}  // namespace trustrl::envs
