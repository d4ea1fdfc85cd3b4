// Learning tests: fixed seeds and step budgets, never wall-clock limits.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "agents/evaluate.h"
#include "agents/kernel_path.h"
#include "agents/saved_policy.h"
#include "agents/trainer.h"
#include "tests/support/metrics_table.h"

namespace trustrl::agents {
namespace {

namespace fs = std::filesystem;

// ctest runs this binary once per kernel path (TRUSTRL_ISA=baseline|avx2|avx512, see
// tests/agents/CMakeLists.txt), so every path's trajectories must reach the bars; a path the CPU
// lacks is skipped.
class KernelPathEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* isa = std::getenv("TRUSTRL_ISA");
    if (isa != nullptr && !cpu_has(parse_kernel_path(isa)))
      GTEST_SKIP() << "this CPU cannot run the " << isa << " kernel path";
  }
};
const auto* const kKernelPathEnvironment =
    ::testing::AddGlobalTestEnvironment(new KernelPathEnvironment);

struct Outcome {
  double eval_return = 0;
  double untrained_return = 0;
  std::vector<std::map<std::string, double>> rows;
  std::string train_log;
};

Outcome train(const std::string& config_file, const std::vector<std::string>& overrides,
              const std::string& name) {
  const TrainConfig config =
      load_train_config(std::string(TRUSTRL_SOURCE_DIR) + "/configs/" + config_file, overrides);
  const fs::path dir =
      fs::temp_directory_path() / ("trustrl_learn_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  TrainerOptions quiet;
  quiet.progress = false;
  quiet.verbose = false;
  Trainer::start(config, dir, quiet)->run();
  Outcome out;
  const SavedPolicy policy = SavedPolicy::read(dir / "policy.trustrl");
  // Deterministic evaluation of the trained and the untrained policy on the same episodes;
  // multi-agent envs get more copies and episodes (their returns vary more between episodes).
  const int copies = policy.multi_agent ? 16 : 10, episodes = policy.multi_agent ? 64 : 20;
  const auto evaluate_policy = [&](const PolicySnapshot& snapshot) {
    auto env = envs::LocalVectorEnv::make(policy.env_id, policy.env_options, copies, 1);
    return evaluate(std::move(env), snapshot, episodes, /*deterministic=*/true, 12345)
        .mean_return();
  };
  out.eval_return = evaluate_policy(policy.snapshot);
  out.untrained_return =
      evaluate_policy(make_roles(config, local_env_factory()).learner->snapshot());
  out.rows = testing::MetricsTable::read(dir / "metrics.csv").numeric_rows();
  // The actor's log-probs are the learner's, so the mean ratio over the first minibatch of every
  // update is 1: the actor (plain C++ dense layers) and the learner (BLAS products, or libtorch's
  // tanh on the autograd path) differ only by float rounding, so log-probs agree to ~1e-6 and the
  // mean ratio to well within 1e-5. A stale policy or a mismatched log-prob (wrong action, wrong
  // normalization) moves it by orders of magnitude more.
  EXPECT_FALSE(out.rows.empty());
  for (const auto& row : out.rows)
    EXPECT_NEAR(row.at("trust/first_ratio"), 1.0, 1e-5) << name << " update " << row.at("update");
  std::ifstream log(dir / "train.log");
  out.train_log.assign(std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>());
  fs::remove_all(dir);
  return out;
}

class CartPoleSeeds : public ::testing::TestWithParam<int> {};

// Issue: PPO reaches a mean return >= 475 on CartPole-v1 within 100k env steps for 3 of 3 seeds.
TEST_P(CartPoleSeeds, ReachesFourSeventyFiveWithin100kSteps) {
  const int seed = GetParam();
  const Outcome o =
      train("ppo_cartpole.yaml", {"seed=" + std::to_string(seed), "total_steps=100000"},
            "cartpole" + std::to_string(seed));
  EXPECT_GE(o.eval_return, 475.0) << "seed " << seed;
  EXPECT_LE(o.rows.back().at("global_step"), 100000);
  // train.log names the kernel path the run used.
  const char* isa = std::getenv("TRUSTRL_ISA");
  const std::string path(
      kernel_path_name(isa != nullptr ? parse_kernel_path(isa) : best_kernel_path()));
  EXPECT_NE(o.train_log.find("kernels: " + path), std::string::npos) << o.train_log;
}

INSTANTIATE_TEST_SUITE_P(Ppo, CartPoleSeeds, ::testing::Values(1, 2, 3),
                         [](const ::testing::TestParamInfo<int>& seed_info) {
                           return "seed" + std::to_string(seed_info.param);
                         });

// One small test per trust-region mode so that a regression in any of them fails the build. Each
// mode trains seeds 1-3: a seeded trajectory differs between kernel paths, so one seed can miss
// the bar on one path (measured: kl_bound seed 1 reaches 438 on avx2 and 500 on baseline and
// avx512; seeds 2-5 reach 500 on every path). The promise is that the mode learns CartPole, so
// at least 2 of 3 seeds reach 475; a mode that is broken misses on every seed.
std::vector<Outcome> train_seeds(const std::vector<std::string>& overrides,
                                 const std::string& name) {
  std::vector<Outcome> runs;
  for (int seed : {1, 2, 3}) {
    std::vector<std::string> o = overrides;
    o.push_back("seed=" + std::to_string(seed));
    runs.push_back(train("ppo_cartpole.yaml", o, name + std::to_string(seed)));
  }
  return runs;
}

void expect_most_seeds_solve(const std::vector<Outcome>& runs) {
  int solved = 0;
  std::string returns;
  for (const Outcome& o : runs) {
    solved += o.eval_return >= 475.0;
    returns += " " + std::to_string(o.eval_return);
  }
  EXPECT_GE(solved, 2) << "eval returns of seeds 1-3:" << returns;
}

TEST(TrustRegionLearning, KlPenaltyAlone) {
  const auto runs =
      train_seeds({"trust_region.clip=null", "trust_region.clip_anneal=false",
                   "trust_region.kl_penalty.enabled=true", "trust_region.kl_penalty.beta=1.0",
                   "trust_region.kl_penalty.target=0.01"},
                  "penalty");
  expect_most_seeds_solve(runs);
  for (const Outcome& o : runs) {
    double min_beta = 1e9, max_beta = 0;
    for (const auto& row : o.rows) {
      min_beta = std::min(min_beta, row.at("trust/beta"));
      max_beta = std::max(max_beta, row.at("trust/beta"));
    }
    EXPECT_LT(min_beta, max_beta) << "beta never adapted";
  }
}

TEST(TrustRegionLearning, TargetKlStopsEarly) {
  const auto runs = train_seeds({"trust_region.target_kl=0.01"}, "targetkl");
  expect_most_seeds_solve(runs);
  for (const Outcome& o : runs) {
    int stopped = 0;
    for (const auto& row : o.rows) stopped += row.at("trust/early_stopped") > 0;
    EXPECT_GT(stopped, 0) << "target_kl never stopped an update";
  }
}

// The hard bound: every update's measured KL(old || new) is <= delta, on every seed.
TEST(TrustRegionLearning, KlBoundHoldsOnEveryUpdate) {
  const double delta = 0.02;
  const auto runs = train_seeds({"trust_region.kl_bound.delta=0.02"}, "bound");
  expect_most_seeds_solve(runs);
  for (const Outcome& o : runs) {
    int backtracked = 0;
    for (const auto& row : o.rows) {
      EXPECT_LE(row.at("kl/analytic"), delta) << "update " << row.at("update");
      backtracked += row.at("trust/backtracks") > 0;
    }
    EXPECT_GT(backtracked, 0) << "the bound never had to act; the test would prove nothing";
  }
}

// TRPO (trust_region.mode natural_gradient, configs/trpo_cartpole.yaml, its bound annealed): the
// line search keeps every update's KL(old || new) within that update's bound, on every seed, and
// the policy learns.
TEST(TrustRegionLearning, NaturalGradientHoldsTheBoundOnEveryUpdate) {
  const double delta = 0.01;
  std::vector<Outcome> runs;
  for (int seed : {1, 2, 3})
    runs.push_back(train("trpo_cartpole.yaml", {"seed=" + std::to_string(seed)},
                         "trpo" + std::to_string(seed)));
  expect_most_seeds_solve(runs);
  for (const Outcome& o : runs) {
    int stepped = 0;
    for (const auto& row : o.rows) {
      // The config anneals the bound: each update's own bound, at most delta, holds.
      const double bound = row.at("trust/kl_delta");
      EXPECT_LE(bound, delta) << "update " << row.at("update");
      EXPECT_LE(row.at("kl/analytic"), bound) << "update " << row.at("update");
      EXPECT_LE(row.at("trust/ng_kl"), bound) << "update " << row.at("update");
      stepped += row.at("trust/ng_stepped") > 0;
    }
    // Most updates find a step; a mode that never moved the policy could not learn either.
    EXPECT_GT(stepped, static_cast<int>(o.rows.size()) / 2);
  }
}

TEST(TrustRegionLearning, ClipWithEpochCheck) {
  expect_most_seeds_solve(train_seeds(
      {"trust_region.target_kl=0.02", "trust_region.target_kl_check=epoch"}, "epochcheck"));
}

}  // namespace
}  // namespace trustrl::agents

namespace trustrl::agents {
namespace {

// Small fixed-seed MAPPO runs on simple_spread (MAPPO-reference rewards): the team learns to
// cover the landmarks better than its untrained policy. Seeds 1-3, at least 2 of 3, for the same
// reason as the trust-region tests: a seeded trajectory differs between kernel paths.
TEST(MappoLearning, SimpleSpreadImproves) {
  int improved = 0;
  std::string returns;
  for (int seed : {1, 2, 3}) {
    const Outcome o = train("mappo_simple_spread.yaml",
                            {"total_steps=200000", "env.num_envs=32", "ppo.update_epochs=5",
                             "seed=" + std::to_string(seed)},
                            "mappo" + std::to_string(seed));
    improved += o.eval_return > -190.0 && o.eval_return > o.untrained_return + 15.0;
    returns += " " + std::to_string(o.eval_return) + " (untrained " +
               std::to_string(o.untrained_return) + ")";
  }
  EXPECT_GE(improved, 2) << "eval returns of seeds 1-3:" << returns;
}

// The mean training return of the last `n` updates.
double last_updates_return(const Outcome& o, std::size_t n) {
  double sum = 0;
  for (std::size_t i = o.rows.size() - n; i < o.rows.size(); ++i)
    sum += o.rows[i].at("charts/episodic_return");
  return sum / static_cast<double>(n);
}

// MuJoCo locomotion, the CI smoke test of its env family: PPO with CleanRL's settings
// (configs/ppo_hopper.yaml) on Hopper-v4 for 32k steps (16 updates of 2048). The first update's
// episodes are the untrained, sampling policy's: it falls within about 20 steps; by the last
// updates it hops forward for about 100. Measured, seed 1, avx512: training return 12.9 in the
// first update, 213.5-216.1 in the last three; deterministic evaluation about 217 on every kernel
// path against 112 untrained. One seed: the margin is wide and a MuJoCo run costs more than a
// CartPole one.
TEST(MujocoLearning, HopperLearnsToStayUp) {
  const Outcome o = train("ppo_hopper.yaml", {"total_steps=32768", "seed=1"}, "hopper");
  ASSERT_EQ(o.rows.size(), 16u);
  const double first = o.rows.front().at("charts/episodic_return");
  const double last = last_updates_return(o, 3);
  EXPECT_LT(first, 40.0) << "the untrained hopper should fall at once";
  EXPECT_GT(last, 120.0);
  EXPECT_GT(last, 5 * first);
  EXPECT_GT(o.eval_return, o.untrained_return + 40.0)
      << "deterministic evaluation: trained " << o.eval_return << ", untrained "
      << o.untrained_return;
}

// Multi-Agent MuJoCo, the CI smoke test of its env family: MAPPO with HARL's Walker2d 2x3 settings
// (configs/mappo_walker2d_2x3.yaml: two agents, one leg each, one shared policy with an agent id)
// for 48k steps (12 updates of 20 x 200). The untrained walker falls within a few steps; after 12
// updates it takes some tens of steps forward. Measured, seed 1, avx512: training return 6.0 in
// the first update, 66.9-75.2 in the last three; deterministic evaluation 247.7 over 10 episodes.
TEST(MujocoLearning, MultiAgentWalker2dLearnsToStayUp) {
  const Outcome o = train("mappo_walker2d_2x3.yaml",
                          {"total_steps=48000", "seed=1", "env.threads=1"}, "mamujoco_walker");
  ASSERT_EQ(o.rows.size(), 12u);
  const double first = o.rows.front().at("charts/episodic_return");
  const double last = last_updates_return(o, 3);
  EXPECT_LT(first, 30.0) << "the untrained walker should fall at once";
  EXPECT_GT(last, 30.0);
  EXPECT_GT(last, 3 * first);
  EXPECT_GT(o.eval_return, o.untrained_return + 50.0)
      << "deterministic evaluation: trained " << o.eval_return << ", untrained "
      << o.untrained_return;
}

// HAPPO and HATRPO (mappo.update: sequential) on speaker_listener, whose two agents differ (a
// speaker that sees the goal and cannot move, a listener that moves and cannot see it), at a
// short budget (100k steps) of HARL's settings (configs/happo_ and hatrpo_speaker_listener.yaml).
// The bar is shaped as MappoLearning's: the team ends clearly better than its untrained policy
// (by 30 in team return per episode) and above an absolute -30. Measured on avx512, seeds 1-3:
// -15.2 to -15.8 for both, against an untrained policy near -80; a sequential update that weighted
// or ordered the agents wrongly, or an agent that never moved, stays far from both. At least 2 of
// 3 seeds, since a seeded trajectory differs between kernel paths. HATRPO's per-agent KL bound is
// checked on every update of every seed.
void expect_sequential_learns(const std::string& config, const std::string& name) {
  int improved = 0;
  std::string returns;
  for (int seed : {1, 2, 3}) {
    const Outcome o = train(config, {"total_steps=100000", "seed=" + std::to_string(seed)},
                            name + std::to_string(seed));
    improved += o.eval_return > -30.0 && o.eval_return > o.untrained_return + 30.0;
    returns += " " + std::to_string(o.eval_return) + " (untrained " +
               std::to_string(o.untrained_return) + ")";
    for (const auto& row : o.rows) {
      EXPECT_TRUE(row.count("seq/order_1")) << "not a sequential update";
      if (row.count("trust/ng_kl")) {
        EXPECT_LE(row.at("kl/group_0"), 0.005) << name << seed << " update " << row.at("update");
        EXPECT_LE(row.at("kl/group_1"), 0.005) << name << seed << " update " << row.at("update");
      }
    }
  }
  EXPECT_GE(improved, 2) << "eval returns of seeds 1-3:" << returns;
}

TEST(MultiAgentTrustRegionLearning, HappoSpeakerListenerImproves) {
  expect_sequential_learns("happo_speaker_listener.yaml", "happo");
}

TEST(MultiAgentTrustRegionLearning, HatrpoSpeakerListenerImprovesWithinTheBound) {
  expect_sequential_learns("hatrpo_speaker_listener.yaml", "hatrpo");
}

}  // namespace
}  // namespace trustrl::agents
