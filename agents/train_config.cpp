#include "agents/train_config.h"

#include <charconv>
#include <system_error>

#include "core/config_file.h"
#include "core/error.h"

namespace trustrl::agents {

std::int64_t parse_env_threads(const std::string& text) {
  if (text == "auto") return kAutoEnvThreads;
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 1 || n > 1024)
    throw ConfigError("env.threads: expected auto or a whole number in [1, 1024], got '" + text +
                      "'");
  return n;
}

void EnvConfig::visit(ConfigVisitor& v) {
  v.field(
      "id", id,
      "env id (`trustrl envs` lists them); with `remote`, the id the server must serve (or empty)");
  v.field("options", options, "env options (Gymnasium's make() keyword arguments)");
  v.field("num_envs", num_envs, "env copies stepped as one batch", Bounds::closed(1, 65536));
  // A number or `auto`; kept as text here because the visitor's fields hold one type each.
  std::string t = threads == kAutoEnvThreads ? "auto" : std::to_string(threads);
  v.field("threads", t,
          "threads stepping the env copies: auto (chosen from the measured cost of the first "
          "steps) or 1..1024");
  threads = parse_env_threads(t);
  v.field("remote", remote, "host:port of a remote env server; empty for local envs");
  v.field("token", token, "token for the remote env server");
  v.field("tls_ca", tls_ca,
          "PEM file of the CA to trust for TLS to the remote server; empty: plaintext");
  v.field("connect_timeout_s", connect_timeout_s,
          "limit on each connection attempt to the remote server", Bounds::positive());
  v.field("request_timeout_s", request_timeout_s, "limit on each answer from the remote server",
          Bounds::positive());
  v.field("max_reconnects", max_reconnects,
          "reconnection attempts in a row before giving up on the remote server",
          Bounds::non_negative());
}

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
