#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "agents/env_actor.h"
#include "agents/evaluate.h"
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
  c.update(noisy, 1.0);
  EXPECT_FALSE(
      torch::equal(a.groups()[0]->optimizer->parameters(), c.groups()[0]->optimizer->parameters()));
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

}  // namespace
}  // namespace trustrl::agents
