#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "agents/env_actor.h"
#include "agents/evaluate.h"
#include "agents/natural_gradient_step.h"
#include "agents/ppo.h"
#include "agents/trainer.h"
#include "core/error.h"
#include "core/files.h"
#include "core/text.h"
#include "envs/registry.h"
#include "tests/support/metrics_table.h"

namespace trustrl::agents {
namespace {

namespace fs = std::filesystem;

struct LearnerSetup {
  envs::MultiAgentSpec spec;
  PpoConfig ppo;
  MappoConfig mappo;
  TrustRegionConfig tr;
  NetworkConfig net;
  NormalizeConfig norm;
};

LearnerSetup spread_setup() {
  LearnerSetup s;
  s.spec = envs::make_multi_agent("simple_spread_v3", {{"reward", "mappo"}})->spec();
  s.ppo.num_minibatches = 2;
  s.ppo.update_epochs = 2;
  s.ppo.value_norm = true;
  return s;
}

// A rollout from the real env, with some agents marked dead.
Rollout rollout_with_dead_agents(const LearnerSetup& s, const PolicySnapshot& policy) {
  EnvActor actor(envs::LocalVectorEnv::make("simple_spread_v3", {{"reward", "mappo"}}, 4, 1), 3);
  actor.set_policy(policy);
  Rollout r;
  actor.collect(10, r);
  for (std::size_t i = 0; i < r.active.size(); i += 5) {
    r.active[i] = 0;
    r.values[i] = r.log_probs[i] = r.rewards[i] = 0.0f;
  }
  (void)s;
  return r;
}

// Death masking: whatever a dead agent's row holds, the update is the same.
TEST(Mappo, DeadAgentsDataDoesNotChangeTheUpdate) {
  const LearnerSetup s = spread_setup();
  PpoLearner a(s.spec, s.mappo, s.ppo, s.tr, s.net, s.norm, 11),
      b(s.spec, s.mappo, s.ppo, s.tr, s.net, s.norm, 11);
  Rollout clean = rollout_with_dead_agents(s, a.snapshot());
  Rollout noisy = clean;
  Rng rng(5);
  const auto obs_dim = static_cast<std::size_t>(noisy.obs_dim),
             critic_dim = static_cast<std::size_t>(noisy.critic_dim);
  for (std::size_t i = 0; i < noisy.active.size(); ++i) {
    if (noisy.active[i]) continue;
    for (std::size_t k = 0; k < obs_dim; ++k)
      noisy.observations[i * obs_dim + k] = static_cast<float>(rng.normal() * 100);
    for (std::size_t k = 0; k < critic_dim; ++k)
      noisy.critic_inputs[i * critic_dim + k] = static_cast<float>(rng.normal() * 100);
    noisy.discrete_actions[i] = static_cast<std::int64_t>(rng.below(5));
    noisy.log_probs[i] = -7.0f;
    noisy.values[i] = 55.0f;
    noisy.rewards[i] = 123.0f;
  }
  a.update(clean, 1.0);
  b.update(noisy, 1.0);
  for (std::size_t g = 0; g < a.groups().size(); ++g)
    EXPECT_TRUE(torch::equal(a.groups()[g]->optimizer->parameters(),
                             b.groups()[g]->optimizer->parameters()));
  // And dead rows did change something real when they are alive: the mask is what protects.
  PpoLearner c(s.spec, s.mappo, s.ppo, s.tr, s.net, s.norm, 11);
  std::fill(noisy.active.begin(), noisy.active.end(), 1);
  // Live agents of one step share its state (AStateCriticRefusesAgentsThatDisagreeOnTheState).
  noisy.critic_inputs = clean.critic_inputs;
  c.update(noisy, 1.0);
  EXPECT_FALSE(
      torch::equal(a.groups()[0]->optimizer->parameters(), c.groups()[0]->optimizer->parameters()));
}

// With the critic on the global state alone, the learner holds each env step's state once for
// all its agents: a rollout whose live agents of one step disagree on it is refused, naming why.
TEST(Mappo, AStateCriticRefusesAgentsThatDisagreeOnTheState) {
  const LearnerSetup s = spread_setup();
  PpoLearner learner(s.spec, s.mappo, s.ppo, s.tr, s.net, s.norm, 11);
  Rollout r = rollout_with_dead_agents(s, learner.snapshot());
  ASSERT_TRUE(r.active[3] && r.active[4]);  // env step 1: agents 0 and 1 live
  r.critic_inputs[4 * static_cast<std::size_t>(r.critic_dim)] += 1.0f;
  try {
    learner.update(r, 1.0);
    FAIL() << "the update took two states for one env step";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("env step 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("mappo.critic_input"), std::string::npos) << e.what();
  }
}

TEST(Mappo, GroupsFollowTheSpaces) {
  LearnerSetup s = spread_setup();
  PpoLearner spread(s.spec, s.mappo, s.ppo, s.tr, s.net, s.norm, 1);
  EXPECT_EQ(spread.groups().size(), 1u);
  EXPECT_EQ(spread.groups()[0]->agents, (std::vector<int>{0, 1, 2}));
  s.spec = envs::make_multi_agent("simple_speaker_listener_v4")->spec();
  s.mappo.agent_id = true;
  PpoLearner sl(s.spec, s.mappo, s.ppo, s.tr, s.net, s.norm, 1);
  ASSERT_EQ(sl.groups().size(), 2u);
  // Actor input: own observation plus a 2-agent one-hot; critic: state plus one-hot.
  EXPECT_EQ(sl.snapshot().groups[0].actor_input_dim(), 3 + 2);
  EXPECT_EQ(sl.snapshot().groups[1].actor_input_dim(), 11 + 2);
  EXPECT_EQ(sl.snapshot().groups[0].critic_input_dim(), s.spec.state_dim() + 2);
}

TEST(Mappo, CentralCriticNeedsAGlobalState) {
  LearnerSetup s = spread_setup();
  s.spec.state_space = envs::Space();
  s.spec.state_space.low.clear();
  try {
    PpoLearner l(s.spec, s.mappo, s.ppo, s.tr, s.net, s.norm, 1);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("mappo.critic_input"), std::string::npos) << e.what();
  }
  s.mappo.critic_input = CriticInput::kObservation;  // independent PPO needs none
  EXPECT_NO_THROW(PpoLearner(s.spec, s.mappo, s.ppo, s.tr, s.net, s.norm, 1));
}

TEST(Mappo, AlgorithmAndEnvMustFit) {
  EXPECT_THROW(make_roles(parse_train_config("algo: ppo\nenv: {id: simple_spread_v3}\n"),
                          local_env_factory()),
               ConfigError);
  EXPECT_THROW(
      make_roles(parse_train_config("algo: mappo\nenv: {id: CartPole-v1}\n"), local_env_factory()),
      ConfigError);
}

// gSDE serves MAPPO as it serves PPO (one actor, one learner): the learner's log-probs of the
// actor's gSDE actions are the actor's own (first ratio 1), update after update, in every group.
TEST(Mappo, GsdeIsHonoured) {
  const TrainConfig config = parse_train_config(
      "algo: mappo\nseed: 3\n"
      "env: {id: simple_spread_v3, num_envs: 2, options: {continuous_actions: true}}\n"
      "ppo: {num_steps: 16, num_minibatches: 2, update_epochs: 2}\n"
      "network: {gsde: true, gsde_sample_freq: 4}\n");
  Roles roles = make_roles(config, local_env_factory());
  for (const GroupPolicy& g : roles.learner->snapshot().groups) EXPECT_TRUE(g.weights.gsde);
  for (int u = 0; u < 3; ++u) {
    Rollout r;
    roles.actor->collect(16, r);
    const UpdateStats s = roles.learner->update(r, 1.0);
    EXPECT_NEAR(s.first_ratio, 1.0, 1e-5) << "update " << u;
    EXPECT_TRUE(std::isfinite(s.policy_loss) && s.kl_analytic > 0) << "update " << u;
    roles.actor->set_policy(roles.learner->snapshot());
  }
}

TrainerOptions quiet() {
  TrainerOptions o;
  o.progress = false;
  o.verbose = false;
  return o;
}

// Per-group KL is logged when there are several groups, and MAPPO runs resume exactly too.
TEST(Mappo, SpeakerListenerLogsKlPerGroupAndResumes) {
  const TrainConfig config = parse_train_config(R"(
algo: mappo
seed: 3
total_steps: 3200
env: {id: simple_speaker_listener_v4, num_envs: 16}
ppo: {num_steps: 25, num_minibatches: 2, update_epochs: 2, value_norm: true}
run: {tensorboard: false}
)");
  const fs::path a = fs::temp_directory_path() / ("trustrl_mappo_a_" + std::to_string(::getpid()));
  const fs::path b = fs::temp_directory_path() / ("trustrl_mappo_b_" + std::to_string(::getpid()));
  fs::remove_all(a);
  fs::remove_all(b);
  Trainer::start(config, a, quiet())->run();
  Trainer::start(config, b, quiet())->run(3);
  Trainer::resume(RunDir::open(b), quiet())->run();
  const std::string header =
      read_text_file(a / "metrics.csv").substr(0, read_text_file(a / "metrics.csv").find('\n'));
  EXPECT_NE(header.find("kl/group_0"), std::string::npos) << header;
  EXPECT_NE(header.find("kl/group_1"), std::string::npos) << header;
  EXPECT_EQ(testing::MetricsTable::read(a / "metrics.csv").without_clock(),
            testing::MetricsTable::read(b / "metrics.csv").without_clock());
  fs::remove_all(a);
  fs::remove_all(b);
}

// trust_region.mode natural_gradient under MAPPO: one TRPO step per agent group, each group's
// KL within delta on every update, and the run resumes exactly.
TEST(Mappo, NaturalGradientStepsEachGroupWithinTheBound) {
  const double delta = 0.005;
  const TrainConfig config = parse_train_config(R"(
algo: mappo
seed: 3
total_steps: 3200
env: {id: simple_speaker_listener_v4, num_envs: 16}
ppo: {num_steps: 25, num_minibatches: 2, update_epochs: 2, value_norm: true, ent_coef: 0}
trust_region:
  mode: natural_gradient
  clip: null
  kl_bound: {delta: 0.005, backtrack_coef: 0.8}
run: {tensorboard: false}
)");
  const fs::path a =
      fs::temp_directory_path() / ("trustrl_mappo_ng_a_" + std::to_string(::getpid()));
  const fs::path b =
      fs::temp_directory_path() / ("trustrl_mappo_ng_b_" + std::to_string(::getpid()));
  fs::remove_all(a);
  fs::remove_all(b);
  Trainer::start(config, a, quiet())->run();
  Trainer::start(config, b, quiet())->run(3);
  Trainer::resume(RunDir::open(b), quiet())->run();
  const auto rows = testing::MetricsTable::read(a / "metrics.csv").numeric_rows();
  ASSERT_EQ(rows.size(), 8u);
  int stepped = 0;
  for (const auto& row : rows) {
    EXPECT_EQ(row.at("trust/ng_stepped") + row.at("trust/ng_not_stepped"), 2.0);
    EXPECT_LE(row.at("kl/group_0"), delta) << "update " << row.at("update");
    EXPECT_LE(row.at("kl/group_1"), delta) << "update " << row.at("update");
    EXPECT_LE(row.at("trust/ng_kl"), delta) << "update " << row.at("update");
    stepped += static_cast<int>(row.at("trust/ng_stepped"));
  }
  EXPECT_GT(stepped, 8) << "most groups' steps should be taken";
  EXPECT_EQ(testing::MetricsTable::read(a / "metrics.csv").without_clock(),
            testing::MetricsTable::read(b / "metrics.csv").without_clock());
  fs::remove_all(a);
  fs::remove_all(b);
}

// trust_region.reference for MAPPO: every group's loss carries its own group's KL; a huge beta
// holds the policy much nearer the reference than beta 0 does.
TEST(Mappo, AReferenceHoldsEveryGroup) {
  const std::string base = R"(
algo: mappo
seed: 4
total_steps: 2048
env: {id: simple_speaker_listener_v4, num_envs: 4}
ppo: {num_steps: 64, num_minibatches: 2, update_epochs: 4, learning_rate: 0.003}
run: {tensorboard: false}
)";
  const auto dir = [](const std::string& name) {
    const auto p = std::filesystem::temp_directory_path() /
                   ("trustrl_mappo_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(p);
    return p;
  };
  const auto reference = dir("reference");
  Trainer::start(parse_train_config(base), reference, quiet())->run(3);
  std::vector<double> last;
  for (const char* beta : {"0", "1000"}) {
    const auto run = dir(std::string("beta_") + beta);
    Trainer::start(
        parse_train_config(base, {"trust_region.reference.policy=" + reference.string(),
                                  std::string("trust_region.reference.beta=") + beta, "seed=5"}),
        run, quiet())
        ->run(4);
    const auto table = testing::MetricsTable::read(run / "metrics.csv");
    ASSERT_EQ(table.rows.size(), 4u);
    last.push_back(table.at(3, "kl/reference"));
    std::filesystem::remove_all(run);
  }
  EXPECT_GT(last[0], 0.0);
  EXPECT_LT(last[1], 0.5 * last[0]) << "beta 1000: " << last[1] << ", beta 0: " << last[0];
  std::filesystem::remove_all(reference);
}

// share_parameters: false gives every agent its own group (and policy), in agent order.
TEST(Mappo, WithoutSharingEveryAgentHasItsOwnPolicy) {
  LearnerSetup s = spread_setup();
  s.mappo.share_parameters = false;
  PpoLearner l(s.spec, s.mappo, s.ppo, s.tr, s.net, s.norm, 1);
  ASSERT_EQ(l.groups().size(), 3u);
  for (int a = 0; a < 3; ++a)
    EXPECT_EQ(l.groups()[static_cast<std::size_t>(a)]->agents, (std::vector<int>{a}));
  // Their initial weights differ: three policies, not one copied.
  EXPECT_FALSE(
      torch::equal(l.groups()[0]->optimizer->parameters(), l.groups()[1]->optimizer->parameters()));
}

// Agent `agent`'s log-probs of its own live actions in `r`, under group `g`'s current policy (no
// input normalization in these setups: the actor input is the raw observation).
std::vector<std::pair<std::size_t, double>> live_log_probs(GroupModel& g, const Rollout& r,
                                                           int agent) {
  const auto A = static_cast<std::size_t>(r.num_agents);
  const GroupPolicy layout = g.policy();
  const auto in_dim = static_cast<std::size_t>(layout.actor_input_dim());
  std::vector<std::size_t> steps;
  std::vector<float> obs;
  std::vector<std::int64_t> actions;
  for (std::size_t i = 0; i < static_cast<std::size_t>(r.env_steps()); ++i) {
    const std::size_t row = i * A + static_cast<std::size_t>(agent);
    if (!r.active[row]) continue;
    steps.push_back(i);
    obs.resize(obs.size() + in_dim);
    write_actor_input(layout, &r.observations[row * static_cast<std::size_t>(r.obs_dim)], agent,
                      &obs[obs.size() - in_dim]);
    actions.push_back(r.discrete_actions[row * static_cast<std::size_t>(r.action_dim)]);
  }
  const auto n = static_cast<std::int64_t>(steps.size());
  torch::NoGradGuard no_grad;
  const torch::Tensor lp =
      g.net->distribution(torch::from_blob(obs.data(), {n, static_cast<std::int64_t>(in_dim)}))
          .log_prob(torch::from_blob(actions.data(), {n, 1}, torch::kInt64));
  std::vector<std::pair<std::size_t, double>> out;
  for (std::int64_t k = 0; k < n; ++k)
    out.emplace_back(steps[static_cast<std::size_t>(k)], lp[k].item<double>());
  return out;
}

// HAPPO's weight: the agent updated m-th has its advantages multiplied by M, the product over the
// agents updated before it of pi_new / pi_old of their own actions at the same step (a dead
// agent contributes 1). Recomputed here from the policies before and after the update, with some
// agents dead, and compared with the M the learner logged for each agent.
TEST(Mappo, SequentialFactorIsTheProductOfTheEarlierAgentsRatios) {
  LearnerSetup s = spread_setup();
  s.mappo.share_parameters = false;
  s.mappo.update = MultiAgentUpdate::kSequential;
  s.ppo.learning_rate = 3e-3;  // a visible move, so that the ratios are not all ~1
  PpoLearner before(s.spec, s.mappo, s.ppo, s.tr, s.net, s.norm, 11),
      after(s.spec, s.mappo, s.ppo, s.tr, s.net, s.norm, 11);
  const Rollout r = rollout_with_dead_agents(s, before.snapshot());
  const UpdateStats stats = after.update(r, 1.0);
  ASSERT_TRUE(stats.sequential.has_value());
  const UpdateStats::Sequential& seq = *stats.sequential;
  ASSERT_EQ(seq.order.size(), 3u);
  EXPECT_TRUE(
      std::is_permutation(seq.order.begin(), seq.order.end(), std::vector<int>{0, 1, 2}.begin()));

  std::vector<double> factor(static_cast<std::size_t>(r.env_steps()), 1.0);
  for (std::size_t m = 0; m < seq.order.size(); ++m) {
    const int agent = seq.order[m];
    const auto g = static_cast<std::size_t>(agent);
    const auto old_lp = live_log_probs(*before.groups()[g], r, agent);
    const auto new_lp = live_log_probs(*after.groups()[g], r, agent);
    double sum = 0, lo = 1e300, hi = -1e300;
    for (const auto& [step, lp] : old_lp) {
      sum += factor[step];
      lo = std::min(lo, factor[step]);
      hi = std::max(hi, factor[step]);
    }
    SCOPED_TRACE("agent " + std::to_string(agent) + ", updated " + std::to_string(m) + "th");
    EXPECT_NEAR(seq.factor_mean[g], sum / static_cast<double>(old_lp.size()), 1e-5);
    EXPECT_NEAR(seq.factor_min[g], lo, 1e-5);
    EXPECT_NEAR(seq.factor_max[g], hi, 1e-5);
    if (m == 0) {
      EXPECT_EQ(seq.factor_min[g], 1.0) << "the first agent's M is 1";
    }
    if (m == 2) {
      EXPECT_GT(seq.factor_max[g] - seq.factor_min[g], 1e-3) << "M did not vary";
    }
    for (std::size_t k = 0; k < old_lp.size(); ++k)
      factor[old_lp[k].first] *= std::exp(new_lp[k].second - old_lp[k].second);
  }
}

// The groups are updated in a fresh random order every update: a permutation, not always the
// same one, and a resumed run draws the same orders (the learner's RNG is in the checkpoint).
TEST(Mappo, SequentialOrderChangesAndResumesExactly) {
  const TrainConfig config = parse_train_config(R"(
algo: mappo
seed: 3
total_steps: 1600
env: {id: simple_spread_v3, num_envs: 8, options: {reward: mappo}}
ppo: {num_steps: 25, num_minibatches: 2, update_epochs: 2, value_norm: true}
mappo: {update: sequential, share_parameters: false}
run: {tensorboard: false}
)");
  const fs::path a = fs::temp_directory_path() / ("trustrl_seq_a_" + std::to_string(::getpid()));
  const fs::path b = fs::temp_directory_path() / ("trustrl_seq_b_" + std::to_string(::getpid()));
  fs::remove_all(a);
  fs::remove_all(b);
  Trainer::start(config, a, quiet())->run();
  Trainer::start(config, b, quiet())->run(3);
  Trainer::resume(RunDir::open(b), quiet())->run();
  const auto rows = testing::MetricsTable::read(a / "metrics.csv").numeric_rows();
  ASSERT_EQ(rows.size(), 8u);
  std::set<std::vector<int>> orders;
  for (const auto& row : rows) {
    std::vector<int> order;
    for (int m = 0; m < 3; ++m)
      order.push_back(static_cast<int>(row.at("seq/order_" + std::to_string(m))));
    EXPECT_TRUE(std::is_permutation(order.begin(), order.end(), std::vector<int>{0, 1, 2}.begin()))
        << "update " << row.at("update");
    orders.insert(order);
    for (int g = 0; g < 3; ++g) {
      const std::string i = std::to_string(g);
      EXPECT_LE(row.at("seq/factor_min_" + i), row.at("seq/factor_mean_" + i));
      EXPECT_LE(row.at("seq/factor_mean_" + i), row.at("seq/factor_max_" + i));
      EXPECT_TRUE(row.count("kl/group_" + i)) << "per-agent KL is logged";
    }
    // The first agent's M is exactly 1.
    EXPECT_EQ(row.at("seq/factor_max_" + std::to_string(order[0])), 1.0);
  }
  EXPECT_GT(orders.size(), 1u) << "the order never changed in 8 updates";
  EXPECT_EQ(testing::MetricsTable::read(a / "metrics.csv").without_clock(),
            testing::MetricsTable::read(b / "metrics.csv").without_clock());
  fs::remove_all(a);
  fs::remove_all(b);
}

// A HATRPO run (sequential updates, natural_gradient within delta 0.005) of 10 updates of 16 copies
// x 25 steps on `env`, with `mappo` as its mappo section: its metrics rows.
std::vector<std::map<std::string, double>> hatrpo_run(const std::string& env,
                                                      const std::string& mappo,
                                                      const std::string& name) {
  const TrainConfig config = parse_train_config(R"(
algo: mappo
seed: 5
total_steps: 4000
env: )" + env + R"(
ppo: {num_steps: 25, num_minibatches: 1, update_epochs: 2, value_norm: true, ent_coef: 0}
mappo: )" + mappo + R"(
trust_region:
  mode: natural_gradient
  clip: null
  kl_bound: {delta: 0.005, backtrack_coef: 0.8}
  natural_gradient: {accept_ratio: 0.5}
run: {tensorboard: false}
)");
  const fs::path dir = fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  Trainer::start(config, dir, quiet())->run();
  auto rows = testing::MetricsTable::read(dir / "metrics.csv").numeric_rows();
  fs::remove_all(dir);
  return rows;
}

// Every update takes one natural-gradient step (or none) per agent, each agent's KL within
// `delta`; returns the steps taken over the run.
int expect_every_agents_step_within(const std::vector<std::map<std::string, double>>& rows,
                                    int agents, double delta) {
  int stepped = 0;
  for (const auto& row : rows) {
    EXPECT_EQ(row.at("trust/ng_stepped") + row.at("trust/ng_not_stepped"), agents)
        << "one step per agent";
    for (int agent = 0; agent < agents; ++agent)
      EXPECT_LE(row.at("kl/group_" + std::to_string(agent)), delta)
          << "agent " << agent << ", update " << row.at("update");
    stepped += static_cast<int>(row.at("trust/ng_stepped"));
  }
  return stepped;
}

// HATRPO (sequential with mode natural_gradient) on speaker_listener's two different agents: each
// agent's own KL within delta on every update, whatever M weighted its surrogate.
TEST(Mappo, HatrpoKeepsEveryAgentsKlWithinTheBound) {
  const auto rows = hatrpo_run("{id: simple_speaker_listener_v4, num_envs: 16}",
                               "{update: sequential, share_parameters: false}", "trustrl_hatrpo");
  ASSERT_EQ(rows.size(), 10u);
  EXPECT_GT(expect_every_agents_step_within(rows, 2, 0.005), 10)
      << "most agents' steps should be taken";
  double weighted = 0;
  for (const auto& row : rows) {
    const int second = static_cast<int>(row.at("seq/order_1"));
    weighted += row.at("seq/factor_max_" + std::to_string(second)) -
                row.at("seq/factor_min_" + std::to_string(second));
  }
  EXPECT_GT(weighted, 0) << "the second agent's M never differed from 1";
}

// Sequential with a shared policy (HARL's share_param: true): the one policy is updated once per
// agent, on that agent's rows, in a random order; M starts at 1 and grows from the earlier agents'
// updates; the input statistics move once, after every agent's update, with every live row.
TEST(Mappo, SequentialWithSharingUpdatesTheSharedPolicyOncePerAgent) {
  LearnerSetup s = spread_setup();
  s.mappo.update = MultiAgentUpdate::kSequential;
  s.norm.observations = true;
  s.ppo.learning_rate = 3e-3;
  PpoLearner l(s.spec, s.mappo, s.ppo, s.tr, s.net, s.norm, 11);
  LearnerSetup simultaneous_setup = s;
  simultaneous_setup.mappo.update = MultiAgentUpdate::kSimultaneous;
  PpoLearner simultaneous(simultaneous_setup.spec, simultaneous_setup.mappo, simultaneous_setup.ppo,
                          simultaneous_setup.tr, simultaneous_setup.net, simultaneous_setup.norm,
                          11);
  ASSERT_EQ(l.groups().size(), 1u);
  const Rollout r = rollout_with_dead_agents(s, l.snapshot());
  const auto live = std::count(r.active.begin(), r.active.end(), std::uint8_t{1});
  const double count_before = l.groups()[0]->obs_normalizer.stats().count();

  const UpdateStats stats = l.update(r, 1.0);
  ASSERT_TRUE(stats.sequential.has_value());
  const UpdateStats::Sequential& seq = *stats.sequential;
  ASSERT_EQ(seq.order.size(), 3u);
  EXPECT_TRUE(
      std::is_permutation(seq.order.begin(), seq.order.end(), std::vector<int>{0, 1, 2}.begin()));
  const auto first = static_cast<std::size_t>(seq.order[0]);
  const auto last = static_cast<std::size_t>(seq.order[2]);
  EXPECT_EQ(seq.factor_min[first], 1.0);
  EXPECT_EQ(seq.factor_max[first], 1.0);
  EXPECT_GT(seq.factor_max[last] - seq.factor_min[last], 1e-3) << "M did not vary";
  ASSERT_EQ(stats.group_kl.size(), 3u) << "one KL per agent's update";
  for (const double kl : stats.group_kl) EXPECT_GT(kl, 0.0);

  // Statistics: once, every live row, as the simultaneous update moves them.
  simultaneous.update(r, 1.0);
  const RunningMeanStd& seq_stats = l.groups()[0]->obs_normalizer.stats();
  const RunningMeanStd& sim_stats = simultaneous.groups()[0]->obs_normalizer.stats();
  EXPECT_EQ(seq_stats.count(), count_before + static_cast<double>(live));
  EXPECT_EQ(seq_stats.count(), sim_stats.count());
  for (std::size_t i = 0; i < seq_stats.mean().size(); ++i) {
    EXPECT_NEAR(seq_stats.mean()[i], sim_stats.mean()[i], 1e-9) << "component " << i;
    EXPECT_NEAR(seq_stats.var()[i], sim_stats.var()[i], 1e-9) << "component " << i;
  }
}

// Every agent's update on a shared policy reads its inputs normalized as the actor saw them:
// with the policy held still (learning rate 0) every pass starts at ratio 1, which it would not if
// the statistics had moved after the first agent's update.
TEST(Mappo, SequentialWithSharingNormalizesEveryPassAsTheActorDid) {
  LearnerSetup s = spread_setup();
  s.mappo.update = MultiAgentUpdate::kSequential;
  s.norm.observations = true;
  s.ppo.learning_rate = 0.0;
  PpoLearner l(s.spec, s.mappo, s.ppo, s.tr, s.net, s.norm, 11);
  // Statistics far from a fresh normalizer's, so that moving them would show.
  l.update(rollout_with_dead_agents(s, l.snapshot()), 1.0);
  const UpdateStats stats = l.update(rollout_with_dead_agents(s, l.snapshot()), 1.0);
  EXPECT_NEAR(stats.first_ratio, 1.0, 1e-5);
}

// HATRPO with a shared policy: each agent's step on the shared policy stays within delta of the
// policy it started from, on every update.
TEST(Mappo, HatrpoWithSharingKeepsEveryAgentsStepWithinTheBound) {
  const auto rows = hatrpo_run("{id: simple_spread_v3, num_envs: 16, options: {reward: mappo}}",
                               "{update: sequential}", "trustrl_hatrpo_shared");
  ASSERT_EQ(rows.size(), 10u);
  EXPECT_GT(expect_every_agents_step_within(rows, 3, 0.005), 15)
      << "most agents' steps should be taken";
}

// HATRPO with a shared policy trains the shared critic once per update, on every agent's rows,
// after the last agent's policy step (HARL's one critic): its Adam takes one update's epochs of
// minibatch steps, not one set per agent, and its value statistics move once, with every live row,
// as the simultaneous update moves them. Without sharing, each agent's critic takes its own epochs.
TEST(Mappo, HatrpoTrainsASharedCriticOncePerUpdate) {
  for (const bool share : {true, false}) {
    SCOPED_TRACE(share ? "shared" : "a policy per agent");
    LearnerSetup s = spread_setup();
    s.mappo.update = MultiAgentUpdate::kSequential;
    s.mappo.share_parameters = share;
    s.tr.mode = TrustRegionMode::kNaturalGradient;
    s.tr.clip.reset();
    s.tr.kl_bound.delta = 0.01;
    PpoLearner l(s.spec, s.mappo, s.ppo, s.tr, s.net, s.norm, 11);
    LearnerSetup sim = s;
    sim.mappo.update = MultiAgentUpdate::kSimultaneous;
    PpoLearner simultaneous(sim.spec, sim.mappo, sim.ppo, sim.tr, sim.net, sim.norm, 11);
    const Rollout r = rollout_with_dead_agents(s, l.snapshot());
    const UpdateStats stats = l.update(r, 1.0);
    simultaneous.update(r, 1.0);
    const std::int64_t steps = s.ppo.update_epochs * s.ppo.num_minibatches;
    ASSERT_EQ(l.groups().size(), share ? 1u : 3u);
    for (std::size_t g = 0; g < l.groups().size(); ++g) {
      EXPECT_EQ(l.groups()[g]->optimizer->steps(), steps) << "group " << g;
      const ValueNormalizer& seq = l.groups()[g]->value_normalizer;
      const ValueNormalizer& all = simultaneous.groups()[g]->value_normalizer;
      EXPECT_EQ(seq.mean(), all.mean()) << "group " << g;
      EXPECT_EQ(seq.stddev(), all.stddev()) << "group " << g;
    }
    EXPECT_EQ(stats.minibatches, steps * static_cast<std::int64_t>(l.groups().size()));
    EXPECT_GT(stats.value_loss, 0.0);
    ASSERT_TRUE(stats.natural_gradient.has_value());
    EXPECT_EQ(stats.natural_gradient->stepped + stats.natural_gradient->not_stepped, 3);
  }
}

// A ratio that is not finite (here: a NaN observation at one step, which breaks the first agent's
// update) makes M not finite: the update stops with NonFiniteStepError naming M, which the trainer
// rolls back as it does a broken natural-gradient step.
TEST(Mappo, SequentialStopsWhenMIsNotFinite) {
  LearnerSetup s = spread_setup();
  s.mappo.share_parameters = false;
  s.mappo.update = MultiAgentUpdate::kSequential;
  PpoLearner l(s.spec, s.mappo, s.ppo, s.tr, s.net, s.norm, 11);
  Rollout r = rollout_with_dead_agents(s, l.snapshot());
  std::fill(r.active.begin(), r.active.end(), 1);
  for (std::size_t k = 0; k < static_cast<std::size_t>(r.obs_dim) * 3; ++k)
    r.observations[k] = std::nanf("");
  try {
    l.update(r, 1.0);
    FAIL() << "a NaN ratio went unnoticed";
  } catch (const NonFiniteStepError& e) {
    EXPECT_NE(std::string(e.what()).find("the weight M"), std::string::npos) << e.what();
  }
}

// Bad combinations are refused with the setting to change; shared policies are not one of them.
TEST(Mappo, SequentialTakesSharedPoliciesAndRefusesSingleAgentRuns) {
  LearnerSetup s = spread_setup();
  s.mappo.update = MultiAgentUpdate::kSequential;
  EXPECT_NO_THROW(PpoLearner(s.spec, s.mappo, s.ppo, s.tr, s.net, s.norm, 1));
  s.mappo.share_parameters = false;
  EXPECT_NO_THROW(PpoLearner(s.spec, s.mappo, s.ppo, s.tr, s.net, s.norm, 1));

  for (const char* setting : {"mappo: {update: sequential}", "mappo: {share_parameters: false}"}) {
    try {
      parse_train_config(std::string("algo: ppo\nenv: {id: CartPole-v1}\n") + setting + "\n");
      FAIL() << setting << " with algo: ppo";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("needs algo: mappo"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(parse_train_config("algo: mappo\nenv: {id: simple_spread_v3}\n"
                                  "mappo: {update: one_by_one}\n"),
               ConfigError);
}

}  // namespace
}  // namespace trustrl::agents
