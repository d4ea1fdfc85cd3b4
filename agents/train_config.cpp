#include "agents/train_config.h"

#include "core/config_file.h"
#include "core/error.h"

namespace trustrl::agents {

void RunConfig::visit(ConfigVisitor& v) {
  v.field("checkpoint_every", checkpoint_every, "write a checkpoint every this many updates",
          Bounds::at_least(1));
  v.field("keep_checkpoints", keep_checkpoints, "checkpoints kept on disk", Bounds::at_least(1));
  v.field("tensorboard", tensorboard, "also write a TensorBoard event file");
  v.field("torch_threads", torch_threads, "libtorch intra-op threads", Bounds::closed(1, 256));
  v.field("max_rollbacks", max_rollbacks,
          "the run stops with an error after this many updates in a row that left a non-finite "
          "parameter (each "
          "is rolled back)",
          Bounds::closed(1, 1000));
}

void TrainConfig::visit(ConfigVisitor& v) {
  v.choice("algo", algo, {{"ppo", Algorithm::kPpo}, {"mappo", Algorithm::kMappo}},
           "learner: ppo (single-agent envs) or mappo (multi-agent envs)");
  std::int64_t s = static_cast<std::int64_t>(seed);
  v.field("seed", s, "seed of envs, sampling, initial weights and shuffles",
          Bounds::closed(0, 9.0e15));
  seed = static_cast<std::uint64_t>(s);
  v.field("total_steps", total_steps, "env steps to train for", Bounds::at_least(1));
  v.section("env", env, "the environment");
  v.section("ppo", ppo, "PPO hyperparameters (MAPPO's too)");
  v.section("mappo", mappo,
            "MAPPO: what the critic reads, agent ids, parameter sharing, sequential updates");
  v.section("trust_region", trust_region, "how each update is kept close to the last policy");
  v.section("network", network, "actor and critic networks");
  v.section("normalize", normalize, "observation normalization and reward scaling");
  v.section("run", run, "checkpoints and logging");
  v.section("distributed", distributed,
            "trustrl learner: how batches are gathered from actor processes");
}

void TrainConfig::validate() const {
  trust_region.validate();
  if (total_steps < batch_steps())
    throw ConfigError("total_steps (" + std::to_string(total_steps) +
                      ") is smaller than one update's batch, "
                      "env.num_envs x ppo.num_steps = " +
                      std::to_string(batch_steps()));
  minibatch_size(ppo, batch_steps());
  if (distributed.actor_envs > env.num_envs)
    throw ConfigError(
        "distributed.actor_envs (" + std::to_string(distributed.actor_envs) +
        ") is larger than a whole batch, env.num_envs = " + std::to_string(env.num_envs));
  network.validate();
  if (algo != Algorithm::kMappo && mappo.update == MultiAgentUpdate::kSequential)
    throw ConfigError(
        "mappo.update: sequential updates the agents of a multi-agent env one after another; it "
        "needs algo: mappo");
  if (algo != Algorithm::kMappo && !mappo.share_parameters)
    throw ConfigError(
        "mappo.share_parameters: false gives each agent of a multi-agent env its own policy; it "
        "needs algo: mappo");
  if (network.gsde_sample_freq == 0)
    throw ConfigError(
        "network.gsde_sample_freq: 0 is not a frequency; use -1 (once per rollout) or a step "
        "count");
  if (env.id.empty() && env.remote.empty())
    throw ConfigError(
        "env.id: an env id is required (or env.remote, the address of an env server)");
}

TrainConfig parse_train_config(const std::string& yaml, const std::vector<std::string>& overrides) {
  TrainConfig c;
  read_config(c, yaml, overrides);
  c.validate();
  return c;
}

TrainConfig load_train_config(const std::string& path, const std::vector<std::string>& overrides) {
  return load_config_file<TrainConfig>(path, overrides);
}

}  // namespace trustrl::agents
