#include "agents/minibatch_step.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <cctype>
#include <functional>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "agents/fused_update.h"
#include "agents/mappo.h"
#include "agents/policy_update.h"
#include "agents/ppo.h"
#include "agents/trainer.h"
#include "core/config.h"
#include "core/error.h"
#include "core/rng.h"

namespace trustrl::agents {
namespace {

// The keys the guard walks: every PPO and trust-region key, as the config visitor lists them.
struct UpdateConfig {
  PpoConfig ppo;
  TrustRegionConfig trust_region;
  void visit(ConfigVisitor& v) {
    v.section("ppo", ppo, "the update's PPO settings");
    v.section("trust_region", trust_region, "the update's trust region");
  }
};

// key -> its default's line in the reference ("ppo.ent_coef = 0.01  (...)  doc").
std::map<std::string, std::string> reference_lines(UpdateConfig config) {
  std::map<std::string, std::string> lines;
  std::istringstream in(describe_config(config));
  std::string line;
  while (std::getline(in, line)) lines[line.substr(0, line.find(" = "))] = line;
  return lines;
}

enum class Route {
  // run_policy_update takes the fused step and lands where autograd does (to float rounding).
  kFusedMatchesAutograd,
  // Not eligible for the fused step: run_policy_update takes autograd even with fused_update on.
  kNotEligible,
  // trust_region.mode natural_gradient: the policy takes a whole-batch step and the epochs the
  // value step, whatever fused_update says (fused_update_eligible refuses it).
  kNaturalGradient,
};

struct KeyCase {
  std::string key;
  std::string value;  // YAML, not the default
  Route route;
  // Other settings the value needs to matter (or to be a valid config).
  std::vector<std::string> context = {};
};

void PrintTo(const KeyCase& c, std::ostream* os) {
  *os << c.key << "=" << c.value;
  for (const std::string& s : c.context) *os << " with " << s;
}

// Every key needs at least one case here; a key the visitor lists and this table does not fails
// EveryPpoAndTrustRegionKeyIsClassified, so a new option cannot slip past the fused step.
const std::vector<KeyCase>& key_cases() {
  static const std::vector<KeyCase> cases = {
      // Read before the update (rollout length, GAE, value targets): no step sees them.
      {"ppo.num_steps", "64", Route::kFusedMatchesAutograd},
      {"ppo.gamma", "0.9", Route::kFusedMatchesAutograd},
      {"ppo.gae_lambda", "0.8", Route::kFusedMatchesAutograd},
      {"ppo.value_norm", "true", Route::kFusedMatchesAutograd},
      // The epoch loop and the optimizer, shared by every step.
      {"ppo.learning_rate", "0.001", Route::kFusedMatchesAutograd},
      {"ppo.anneal_lr", "false", Route::kFusedMatchesAutograd},
      {"ppo.num_minibatches", "2", Route::kFusedMatchesAutograd},
      {"ppo.minibatch_size", "48", Route::kFusedMatchesAutograd},
      {"ppo.update_epochs", "2", Route::kFusedMatchesAutograd},
      {"ppo.max_grad_norm", "0.05", Route::kFusedMatchesAutograd},
      {"ppo.adam_eps", "0.001", Route::kFusedMatchesAutograd},
      // The loss, which the fused step writes out by hand.
      {"ppo.norm_adv", "false", Route::kFusedMatchesAutograd},
      {"ppo.ent_coef", "0.05", Route::kFusedMatchesAutograd},
      {"ppo.vf_coef", "0.8", Route::kFusedMatchesAutograd},
      {"ppo.value_clip", "0.05", Route::kFusedMatchesAutograd},
      {"ppo.value_clip", "null", Route::kFusedMatchesAutograd},
      {"ppo.value_huber_delta", "0.5", Route::kFusedMatchesAutograd},
      {"ppo.fused_update", "false", Route::kNotEligible},
      {"trust_region.clip", "0.1", Route::kFusedMatchesAutograd},
      {"trust_region.clip", "null", Route::kNotEligible, {"trust_region.kl_bound.delta=0.01"}},
      {"trust_region.clip_anneal", "true", Route::kFusedMatchesAutograd},
      // A KL term in the loss or a KL read before each step needs the old distribution per row.
      {"trust_region.kl_penalty.enabled", "true", Route::kNotEligible},
      {"trust_region.kl_penalty.beta",
       "3",
       Route::kNotEligible,
       {"trust_region.kl_penalty.enabled=true"}},
      {"trust_region.kl_penalty.adaptive",
       "false",
       Route::kNotEligible,
       {"trust_region.kl_penalty.enabled=true"}},
      {"trust_region.kl_penalty.target",
       "0.001",
       Route::kNotEligible,
       {"trust_region.kl_penalty.enabled=true"}},
      {"trust_region.target_kl", "0.001", Route::kNotEligible},
      {"trust_region.target_kl_check",
       "epoch",
       Route::kNotEligible,
       {"trust_region.target_kl=0.001"}},
      // The bound acts after the steps, on the whole batch: the fused steps serve it.
      // The problem's update moves the analytic KL to ~1e-4: 2e-5 binds.
      {"trust_region.kl_bound.delta", "0.00002", Route::kFusedMatchesAutograd},
      {"trust_region.kl_bound.backtrack_coef",
       "0.3",
       Route::kFusedMatchesAutograd,
       {"trust_region.kl_bound.delta=0.00002"}},
      {"trust_region.kl_bound.anneal",
       "true",
       Route::kFusedMatchesAutograd,
       {"trust_region.kl_bound.delta=0.00002"}},
      {"trust_region.kl_bound.max_backtracks",
       "1",
       Route::kFusedMatchesAutograd,
       {"trust_region.kl_bound.delta=0.000001"}},
      {"trust_region.kl_measure",
       "k1",
       Route::kFusedMatchesAutograd,
       {"trust_region.kl_bound.delta=0.00002"}},
      // The natural-gradient mode: no minibatch step of the policy at all.
      {"trust_region.mode",
       "natural_gradient",
       Route::kNaturalGradient,
       {"trust_region.clip=null", "trust_region.kl_bound.delta=0.01"}},
      {"trust_region.natural_gradient.cg_iters",
       "3",
       Route::kNaturalGradient,
       {"trust_region.mode=natural_gradient", "trust_region.clip=null",
        "trust_region.kl_bound.delta=0.01"}},
      {"trust_region.natural_gradient.cg_damping",
       "0.5",
       Route::kNaturalGradient,
       {"trust_region.mode=natural_gradient", "trust_region.clip=null",
        "trust_region.kl_bound.delta=0.01"}},
      {"trust_region.natural_gradient.accept_ratio",
       "0.5",
       Route::kNaturalGradient,
       {"trust_region.mode=natural_gradient", "trust_region.clip=null",
        "trust_region.kl_bound.delta=0.01"}},
      // A reference term is a KL per row in the loss, which the fused step does not have.
      {"trust_region.reference.policy", "ref.pt", Route::kNotEligible},
      {"trust_region.reference.beta",
       "5.0",
       Route::kNotEligible,
       {"trust_region.reference.policy=ref.pt"}},
      {"trust_region.reference.schedule",
       "linear",
       Route::kNotEligible,
       {"trust_region.reference.policy=ref.pt", "trust_region.reference.decay_steps=100"}},
      {"trust_region.reference.decay_steps",
       "100",
       Route::kNotEligible,
       {"trust_region.reference.policy=ref.pt", "trust_region.reference.schedule=linear"}},
      {"trust_region.reference.target",
       "0.5",
       Route::kNotEligible,
       {"trust_region.reference.policy=ref.pt", "trust_region.reference.schedule=adaptive"}},
      {"trust_region.reference.direction",
       "forward",
       Route::kNotEligible,
       {"trust_region.reference.policy=ref.pt"}},
  };
  return cases;
}

TEST(MinibatchStepGuard, EveryPpoAndTrustRegionKeyIsClassified) {
  const std::map<std::string, std::string> keys = reference_lines(UpdateConfig{});
  ASSERT_GT(keys.size(), 20u);
  std::set<std::string> classified;
  for (const KeyCase& c : key_cases()) classified.insert(c.key);
  for (const auto& [key, line] : keys)
    EXPECT_TRUE(classified.count(key))
        << key << " is a new update option: add it to key_cases() as kFusedMatchesAutograd (and "
        << "make the fused step honour it) or kNotEligible (and make fused_update_eligible "
        << "refuse it)";
  for (const std::string& key : classified)
    EXPECT_TRUE(keys.count(key)) << key << " is in key_cases() but not a config key";
}

// The mappo keys act before run_policy_update: they shape the groups (share_parameters), what the
// critic reads (critic_input, agent_id) and, with update: sequential, the advantages every group's
// UpdateBatch carries (multiplied by M, normalized already, ppo.norm_adv off for the step). So
// they reach the fused step only through its inputs; each case checks on a real MAPPO update that
// the fused step is still taken and lands where autograd does.
struct MappoKeyCase {
  std::string key;
  std::string value;  // YAML, not the default
  std::vector<std::string> context = {};
};

void PrintTo(const MappoKeyCase& c, std::ostream* os) { *os << c.key << "=" << c.value; }

const std::vector<MappoKeyCase>& mappo_key_cases() {
  static const std::vector<MappoKeyCase> cases = {
      {"mappo.critic_input", "observation"},
      {"mappo.agent_id", "true"},
      {"mappo.share_parameters", "false"},
      {"mappo.update", "sequential", {"mappo.share_parameters=false"}},
  };
  return cases;
}

struct MappoOnly {
  MappoConfig mappo;
  void visit(ConfigVisitor& v) { v.section("mappo", mappo, "MAPPO's settings"); }
};

TEST(MinibatchStepGuard, EveryMappoKeyIsClassified) {
  MappoOnly defaults;
  std::map<std::string, std::string> keys;
  std::istringstream in(describe_config(defaults));
  std::string text;
  while (std::getline(in, text)) keys[text.substr(0, text.find(" = "))] = text;
  ASSERT_GE(keys.size(), 4u);
  std::set<std::string> classified;
  for (const MappoKeyCase& c : mappo_key_cases()) classified.insert(c.key);
  for (const auto& [key, line] : keys)
    EXPECT_TRUE(classified.count(key))
        << key << " is a new mappo option: add it to mappo_key_cases() (and make sure the fused "
        << "step still gives autograd's result with it)";
  for (const std::string& key : classified)
    EXPECT_TRUE(keys.count(key)) << key << " is in mappo_key_cases() but not a config key";
}

class MappoStepGuard : public ::testing::TestWithParam<MappoKeyCase> {};

TEST_P(MappoStepGuard, FusedGivesAutogradsResult) {
  const MappoKeyCase& c = GetParam();
  std::vector<std::string> overrides = c.context;
  overrides.push_back(c.key + "=" + c.value);
  const std::string yaml =
      "algo: mappo\nseed: 4\ntotal_steps: 1000\n"
      "env: {id: simple_spread_v3, num_envs: 4, options: {reward: mappo}}\n"
      "ppo: {num_steps: 16, num_minibatches: 2, update_epochs: 2, learning_rate: 0.001}\n";
  auto run = [&](bool fused) {
    std::vector<std::string> o = overrides;
    o.push_back(std::string("ppo.fused_update=") + (fused ? "true" : "false"));
    Roles roles = make_roles(parse_train_config(yaml, o), local_env_factory());
    Rollout r;
    roles.actor->collect(16, r);
    auto& learner = dynamic_cast<PpoLearner&>(*roles.learner);
    std::vector<torch::Tensor> before, after;
    for (const auto& g : learner.groups()) {
      before.push_back(g->optimizer->parameters().clone());
      EXPECT_EQ(choose_minibatch_step({*g->net, *g->optimizer, g->trust_region,
                                       parse_train_config(yaml, o).ppo, nullptr},
                                      32),
                fused ? MinibatchStepKind::kFused : MinibatchStepKind::kAutograd);
    }
    const UpdateStats stats = learner.update(r, 1.0);
    for (const auto& g : learner.groups()) after.push_back(g->optimizer->parameters().clone());
    return std::make_tuple(before, after, stats);
  };
  const auto [before_a, after_a, stats_a] = run(true);
  const auto [before_b, after_b, stats_b] = run(false);
  ASSERT_EQ(after_a.size(), after_b.size());
  for (std::size_t g = 0; g < after_a.size(); ++g) {
    EXPECT_TRUE(torch::equal(before_a[g], before_b[g]));
    EXPECT_GT((after_b[g] - before_b[g]).abs().max().item<double>(), 1e-4)
        << "group " << g << ": the update did nothing to compare";
    EXPECT_LT((after_a[g] - after_b[g]).abs().max().item<double>(), 1e-5) << "group " << g;
  }
  EXPECT_EQ(stats_a.sequential.has_value(), c.key == "mappo.update");
  EXPECT_NEAR(stats_a.kl_analytic, stats_b.kl_analytic, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Keys, MappoStepGuard, ::testing::ValuesIn(mappo_key_cases()),
                         [](const ::testing::TestParamInfo<MappoKeyCase>& key_case) {
                           std::string name = key_case.param.key + "_" + key_case.param.value;
                           for (char& ch : name)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return name;
                         });

// A net and a batch whose old log-probs and values are perturbed away from the current ones, so
// that ratios leave the clip range and the value clip binds for some rows.
struct Problem {
  ActorCritic net;
  std::unique_ptr<FlatAdam> optimizer;
  UpdateBatch batch;
  Problem(const envs::Space& space, const PpoConfig& ppo, std::int64_t rows = 256)
      : net((torch::manual_seed(11), ActorCritic(NetworkShape{5, 5, space}, NetworkConfig{}))),
        optimizer(std::make_unique<FlatAdam>(*net, ppo.learning_rate, 0.9, 0.999, ppo.adam_eps)) {
    torch::manual_seed(12);
    batch.obs = torch::randn({rows, 5});
    batch.critic_inputs = batch.obs;
    batch.actions = space.is_discrete()
                        ? torch::randint(0, space.num_logits(), {rows, 1}, torch::kInt64)
                        : torch::randn({rows, space.flat_dim()});
    torch::NoGradGuard no_grad;
    batch.old_log_probs =
        net->distribution(batch.obs).log_prob(batch.actions) + 0.3 * torch::randn({rows});
    batch.old_values = net->value(batch.critic_inputs) + 0.3 * torch::randn({rows});
    batch.advantages = 1 + 3 * torch::randn({rows});
    batch.returns = torch::randn({rows});
  }
};

struct Outcome {
  MinibatchStepKind kind;
  UpdateStats stats;
  torch::Tensor before, after;
};

Outcome update(const envs::Space& space, const UpdateConfig& config, bool fused_update) {
  PpoConfig ppo = config.ppo;
  ppo.fused_update = fused_update;
  Problem p(space, ppo);
  if (config.trust_region.reference.enabled()) {  // another net's policy as the reference
    torch::manual_seed(13);
    ActorCritic other(NetworkShape{5, 5, space}, NetworkConfig{});
    torch::NoGradGuard no_grad;
    p.batch.reference = other->distribution(p.batch.obs).detach();
  }
  TrustRegion trust_region(config.trust_region);
  Outcome o;
  o.kind = choose_minibatch_step({*p.net, *p.optimizer, trust_region, ppo, nullptr},
                                 minibatch_size(ppo, p.batch.rows()));
  o.before = p.optimizer->parameters().clone();
  Rng rng(5);
  o.stats = run_policy_update(*p.net, *p.optimizer, trust_region, ppo, rng, p.batch, 0.6);
  o.after = p.optimizer->parameters().clone();
  return o;
}

class MinibatchStepGuard : public ::testing::TestWithParam<KeyCase> {};

TEST_P(MinibatchStepGuard, FusedGivesAutogradsResultOrIsNotEligible) {
  const KeyCase& c = GetParam();
  std::vector<std::string> overrides = c.context;
  overrides.push_back(c.key + "=" + c.value);
  UpdateConfig config;
  read_config(config, "", overrides);
  ASSERT_NE(reference_lines(config).at(c.key), reference_lines(UpdateConfig{}).at(c.key))
      << c.key << "=" << c.value << " is the default: the case tests nothing";
  const bool fused_on = config.ppo.fused_update;

  for (const envs::Space& space : {envs::Space::discrete(3), envs::Space::box(-1, 1, {2})}) {
    SCOPED_TRACE(space.is_discrete() ? "Categorical" : "DiagGaussian");
    const Outcome a = update(space, config, fused_on);
    const Outcome b = update(space, config, /*fused_update=*/false);
    const MinibatchStepKind unfused = c.route == Route::kNaturalGradient
                                          ? MinibatchStepKind::kValue
                                          : MinibatchStepKind::kAutograd;
    ASSERT_EQ(b.kind, unfused) << minibatch_step_name(b.kind);
    const double moved = (b.after - b.before).abs().max().item<double>();
    EXPECT_GT(moved, 1e-4) << "the update did nothing to compare";
    if (c.route == Route::kNaturalGradient) {
      EXPECT_EQ(a.kind, unfused) << minibatch_step_name(a.kind);
      // The policy's step is the same code either way; the critic's value step is fused where
      // ppo.fused_update and the network allow it, so the two agree to float rounding.
      EXPECT_LT((a.after - b.after).abs().max().item<double>(), 1e-5);
      EXPECT_EQ(a.stats.policy_loss, b.stats.policy_loss);
      EXPECT_NEAR(a.stats.value_loss, b.stats.value_loss, 1e-4 * std::max(1.0, b.stats.value_loss));
      continue;
    }
    if (c.route != Route::kFusedMatchesAutograd) {
      EXPECT_EQ(a.kind, unfused) << minibatch_step_name(a.kind);
      // The same path twice: the same bits, which the fused step (float rounding apart) is not.
      EXPECT_TRUE(torch::equal(a.after, b.after));
      EXPECT_EQ(a.stats.policy_loss, b.stats.policy_loss);
      continue;
    }
    EXPECT_EQ(a.kind, MinibatchStepKind::kFused) << minibatch_step_name(a.kind);
    const double diff = (a.after - b.after).abs().max().item<double>();
    // Float rounding apart (~1e-7 here), with the update moving them by ~1e-3.
    EXPECT_LT(diff, 1e-5) << "the update moved parameters by up to " << moved;
    EXPECT_EQ(a.stats.minibatches, b.stats.minibatches);
    EXPECT_EQ(a.stats.epochs, b.stats.epochs);
    EXPECT_EQ(a.stats.backtracks, b.stats.backtracks);
    EXPECT_NEAR(a.stats.policy_loss, b.stats.policy_loss, 1e-4);
    EXPECT_NEAR(a.stats.value_loss, b.stats.value_loss, 1e-4 * std::max(1.0, b.stats.value_loss));
    EXPECT_NEAR(a.stats.entropy, b.stats.entropy, 1e-4);
    EXPECT_NEAR(a.stats.first_ratio, b.stats.first_ratio, 1e-5);
    EXPECT_NEAR(a.stats.kl_analytic, b.stats.kl_analytic, 1e-5);
    if (c.key.starts_with("trust_region.kl_bound.")) {
      EXPECT_GT(b.stats.backtracks, 0) << "the bound did not bind: the case tests nothing";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Keys, MinibatchStepGuard, ::testing::ValuesIn(key_cases()),
                         [](const ::testing::TestParamInfo<KeyCase>& key_case) {
                           std::string name = key_case.param.key + "_" + key_case.param.value;
                           for (char& ch : name)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return name;
                         });

// Learners in threads of one process: sums in rank order, so every learner gets the same bits
// whatever order the threads arrive in.
class ThreadCollective final : public Collective {
 public:
  struct Shared {
    explicit Shared(int world) : slots(static_cast<std::size_t>(world)), barrier(world) {}
    std::vector<torch::Tensor> slots;
    std::barrier<> barrier;
  };
  ThreadCollective(Shared& shared, int rank) : shared_(shared), rank_(rank) {}
  int rank() const override { return rank_; }
  int world_size() const override { return static_cast<int>(shared_.slots.size()); }
  void all_reduce_sum(torch::Tensor& values) override {
    shared_.slots[static_cast<std::size_t>(rank_)] = values.clone();
    shared_.barrier.arrive_and_wait();
    torch::Tensor sum = shared_.slots.front().clone();
    for (std::size_t r = 1; r < shared_.slots.size(); ++r) sum += shared_.slots[r];
    shared_.barrier.arrive_and_wait();
    values.copy_(sum);
  }
  std::vector<std::vector<std::uint8_t>> all_gather(const std::vector<std::uint8_t>&) override {
    throw Error("not used by the update");
  }
  void broadcast(std::vector<std::uint8_t>&) override { throw Error("not used by the update"); }

 private:
  Shared& shared_;
  int rank_;
};

// Runs body(rank, collective) on `world` learners in threads of this process, each with its own
// ThreadCollective; returns what each one threw ("" where nothing).
std::vector<std::string> on_learners(int world, const std::function<void(int, Collective&)>& body) {
  ThreadCollective::Shared shared(world);
  std::vector<std::string> errors(static_cast<std::size_t>(world));
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      try {
        ThreadCollective collective(shared, r);
        body(r, collective);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(r)] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  return errors;
}

TEST(MinibatchStep, SharesPartitionTheMinibatchAndEmptyOnesAreChosen) {
  Problem p(envs::Space::discrete(2), PpoConfig{});
  TrustRegion trust_region{TrustRegionConfig{}};
  const PpoConfig ppo;
  for (int world : {1, 2, 3, 5}) {
    ThreadCollective::Shared shared(world);
    for (std::int64_t mb : {1, 2, 3, 7, 64}) {
      std::int64_t next = 0;
      for (int rank = 0; rank < world; ++rank) {
        ThreadCollective collective(shared, rank);
        Collective* c = world > 1 ? &collective : nullptr;
        EXPECT_EQ(share_offset(mb, c), next) << "world " << world << " rank " << rank;
        next += share_size(mb, c);
        const MinibatchStepKind kind =
            choose_minibatch_step({*p.net, *p.optimizer, trust_region, ppo, c}, mb);
        if (share_size(mb, c) == 0) {
          EXPECT_EQ(kind, MinibatchStepKind::kEmptyShare);
        } else {
          EXPECT_EQ(kind, world == 1 ? MinibatchStepKind::kFused : MinibatchStepKind::kAutograd);
        }
      }
      EXPECT_EQ(next, mb) << "world " << world;
    }
  }
}

// Three learners on minibatches of two rows: one has an empty share in every step, yet all three
// end where one learner alone does, with the same bits, through a target_kl check and a bound.
TEST(MinibatchStep, AnEmptyShareJoinsTheOthersSteps) {
  UpdateConfig config;
  read_config(config, "",
              {"ppo.minibatch_size=2", "ppo.update_epochs=2", "ppo.learning_rate=0.003",
               "trust_region.target_kl=0.05", "trust_region.kl_bound.delta=0.05"});
  const envs::Space space = envs::Space::discrete(3);
  auto run = [&](Problem& p, Collective* collective) {
    TrustRegion trust_region(config.trust_region);
    Rng rng(9);
    return run_policy_update(*p.net, *p.optimizer, trust_region, config.ppo, rng, p.batch, 1.0,
                             collective);
  };
  Problem alone(space, config.ppo, 40);
  const UpdateStats expected = run(alone, nullptr);

  constexpr int kWorld = 3;
  std::vector<std::unique_ptr<Problem>> learners;
  for (int r = 0; r < kWorld; ++r)
    learners.push_back(std::make_unique<Problem>(space, config.ppo, 40));
  std::vector<UpdateStats> stats(kWorld);
  for (const std::string& error : on_learners(kWorld, [&](int r, Collective&collective) {
         const auto i = static_cast<std::size_t>(r);
         TrustRegion trust_region(config.trust_region);
         EXPECT_EQ(choose_minibatch_step({*learners[i]->net, *learners[i]->optimizer, trust_region,
                                          config.ppo, &collective},
                                         2),
                   r == 0 ? MinibatchStepKind::kEmptyShare : MinibatchStepKind::kAutograd);
         stats[i] = run(*learners[i], &collective);
       }))
    ASSERT_EQ(error, "");

  const torch::Tensor& reference = alone.optimizer->parameters();
  EXPECT_GT((reference - Problem(space, config.ppo, 40).optimizer->parameters())
                .abs()
                .max()
                .item<double>(),
            1e-3);
  for (int r = 0; r < kWorld; ++r) {
    const auto i = static_cast<std::size_t>(r);
    EXPECT_TRUE(
        torch::equal(learners[i]->optimizer->parameters(), learners[0]->optimizer->parameters()))
        << "rank " << r;
    EXPECT_LT((learners[i]->optimizer->parameters() - reference).abs().max().item<double>(), 1e-4)
        << "rank " << r;
    EXPECT_EQ(stats[i].minibatches, expected.minibatches) << "rank " << r;
    EXPECT_EQ(stats[i].early_stopped, expected.early_stopped) << "rank " << r;
    EXPECT_EQ(stats[i].backtracks, expected.backtracks) << "rank " << r;
  }
}

// TRPO's step on data-parallel learners (2 and 3, over a batch of 41 rows that neither divides):
// each takes its share of the gradient, the Fisher-vector products and the line search's measures,
// and the critic's minibatches; every learner ends with the same bits, where one learner alone
// ends (to rounding), through the same line search. Discrete and Gaussian policies.
TEST(MinibatchStep, DataParallelNaturalGradientStepsAsOneLearner) {
  UpdateConfig config;
  read_config(config, "",
              {"trust_region.mode=natural_gradient", "trust_region.clip=null",
               "trust_region.clip_anneal=false", "trust_region.kl_bound.delta=0.01",
               "ppo.minibatch_size=8", "ppo.update_epochs=2", "ppo.learning_rate=0.003"});
  for (const envs::Space& space : {envs::Space::discrete(3), envs::Space::box(-1, 1, {2})}) {
    auto run = [&](Problem& p, Collective* collective) {
      TrustRegion trust_region(config.trust_region);
      Rng rng(9);
      return run_policy_update(*p.net, *p.optimizer, trust_region, config.ppo, rng, p.batch, 1.0,
                               collective);
    };
    Problem alone(space, config.ppo, 41);
    const UpdateStats expected = run(alone, nullptr);
    ASSERT_TRUE(expected.natural_gradient.has_value());
    ASSERT_EQ(expected.natural_gradient->stepped, 1)
        << "the step was refused: the case tests nothing";
    const torch::Tensor& reference = alone.optimizer->parameters();

    for (int world : {2, 3}) {
      std::vector<std::unique_ptr<Problem>> learners;
      for (int r = 0; r < world; ++r)
        learners.push_back(std::make_unique<Problem>(space, config.ppo, 41));
      std::vector<UpdateStats> stats(static_cast<std::size_t>(world));
      for (const std::string& error : on_learners(world, [&](int r, Collective&collective) {
             const auto i = static_cast<std::size_t>(r);
             stats[i] = run(*learners[i], &collective);
           }))
        ASSERT_EQ(error, "");
      for (int r = 0; r < world; ++r) {
        const auto i = static_cast<std::size_t>(r);
        const std::string where = "world " + std::to_string(world) + " rank " + std::to_string(r);
        EXPECT_TRUE(torch::equal(learners[i]->optimizer->parameters(),
                                 learners[0]->optimizer->parameters()))
            << where;
        EXPECT_LT((learners[i]->optimizer->parameters() - reference).abs().max().item<double>(),
                  1e-4)
            << where;
        ASSERT_TRUE(stats[i].natural_gradient.has_value()) << where;
        EXPECT_EQ(stats[i].natural_gradient->stepped, 1) << where;
        EXPECT_EQ(stats[i].natural_gradient->line_search_steps,
                  expected.natural_gradient->line_search_steps)
            << where;
        EXPECT_NEAR(stats[i].natural_gradient->kl, expected.natural_gradient->kl, 1e-6) << where;
        EXPECT_LE(stats[i].natural_gradient->kl, 0.01) << where;
        EXPECT_EQ(stats[i].minibatches, expected.minibatches) << where;
      }
    }
  }
}

// MAPPO's critic on the global state through whole updates: samples of env steps x 3 agents, some
// agents inactive (left out of the batch), the critic reading their step's state. The batch holding
// each state once with the index (as the learner builds it) lands where the same batch with a row
// per sample does, on every kind of step.
struct SharedStates {
  UpdateBatch per_sample, shared;
};

SharedStates share_states(const UpdateBatch& batch) {
  torch::manual_seed(21);
  std::vector<std::int64_t> step;
  std::int64_t states = 0;
  while (static_cast<std::int64_t>(step.size()) < batch.rows()) {
    for (int agent = 0; agent < 3 && static_cast<std::int64_t>(step.size()) < batch.rows(); ++agent)
      if (torch::rand({1}).item<float>() > 0.25F) step.push_back(states);
    ++states;
  }
  const torch::Tensor index = torch::tensor(step, torch::kInt64);
  const torch::Tensor table = torch::randn({states, batch.critic_inputs.size(1)});
  SharedStates s{batch, batch};
  s.per_sample.critic_inputs = table.index_select(0, index);
  s.shared.critic_inputs = table;
  s.shared.critic_input_index = index;
  return s;
}

TEST(MinibatchStep, SharedStatesLandWherePerSampleRowsDo) {
  const envs::Space space = envs::Space::discrete(3);
  const std::vector<std::vector<std::string>> configs = {
      {"ppo.value_huber_delta=0.5"},                      // fused
      {"ppo.fused_update=false", "ppo.value_clip=null"},  // autograd
      {"trust_region.mode=natural_gradient", "trust_region.clip=null",
       "trust_region.kl_bound.delta=0.01"},  // the value step
  };
  for (const std::vector<std::string>& overrides : configs) {
    SCOPED_TRACE(overrides.front());
    UpdateConfig config;
    read_config(config, "", overrides);
    auto run = [&](bool shared) {
      Problem p(space, config.ppo);
      const SharedStates s = share_states(p.batch);
      TrustRegion trust_region(config.trust_region);
      Rng rng(5);
      const UpdateStats stats = run_policy_update(*p.net, *p.optimizer, trust_region, config.ppo,
                                                  rng, shared ? s.shared : s.per_sample, 0.6);
      return std::make_tuple(p.optimizer->parameters().clone(), stats);
    };
    const auto [shared, shared_stats] = run(true);
    const auto [own, own_stats] = run(false);
    const torch::Tensor before = Problem(space, config.ppo).optimizer->parameters();
    EXPECT_GT((own - before).abs().max().item<double>(), 1e-4) << "the update did nothing";
    EXPECT_LT((shared - own).abs().max().item<double>(), 1e-5);
    EXPECT_NEAR(shared_stats.value_loss, own_stats.value_loss,
                1e-5 * std::max(1.0, own_stats.value_loss));
    EXPECT_EQ(shared_stats.minibatches, own_stats.minibatches);
  }
}

// Data-parallel learners each gather the states of their own share of a minibatch.
TEST(MinibatchStep, SharedStatesOnDataParallelLearners) {
  UpdateConfig config;
  read_config(config, "", {"ppo.update_epochs=2", "ppo.learning_rate=0.003"});
  const envs::Space space = envs::Space::discrete(3);
  Problem alone(space, config.ppo, 90);
  {
    TrustRegion trust_region(config.trust_region);
    Rng rng(9);
    run_policy_update(*alone.net, *alone.optimizer, trust_region, config.ppo, rng,
                      share_states(alone.batch).per_sample, 1.0);
  }
  constexpr int kWorld = 2;
  std::vector<std::unique_ptr<Problem>> learners;
  std::vector<UpdateBatch> batches;  // built here: torch's seed is global, not per thread
  for (int r = 0; r < kWorld; ++r) {
    learners.push_back(std::make_unique<Problem>(space, config.ppo, 90));
    batches.push_back(share_states(learners.back()->batch).shared);
  }
  for (const std::string& error : on_learners(kWorld, [&](int r, Collective&collective) {
         Problem& p = *learners[static_cast<std::size_t>(r)];
         TrustRegion trust_region(config.trust_region);
         Rng rng(9);
         run_policy_update(*p.net, *p.optimizer, trust_region, config.ppo, rng,
                           batches[static_cast<std::size_t>(r)], 1.0, &collective);
       }))
    ASSERT_EQ(error, "");
  const torch::Tensor& reference = alone.optimizer->parameters();
  EXPECT_GT((reference - Problem(space, config.ppo, 90).optimizer->parameters())
                .abs()
                .max()
                .item<double>(),
            1e-3);
  for (const auto& p : learners)
    EXPECT_LT((p->optimizer->parameters() - reference).abs().max().item<double>(), 1e-4);
}

}  // namespace
}  // namespace trustrl::agents
