#include "agents/trainer.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>

#include "agents/saved_policy.h"
#include "agents/threads.h"
#include "core/error.h"
#include "core/files.h"
#include "core/section_file.h"
#include "core/text.h"
#include "agents/mappo.h"
#include "agents/multi_agent_actor.h"
#include "agents/ppo.h"
#include "agents/single_agent_actor.h"
#include "envs/multi_agent_registry.h"
#include "envs/registry.h"

namespace trustrl::agents {

namespace {

NetworkShape network_shape(const envs::EnvSpec& spec) {
  NetworkShape shape;
  shape.obs_dim = spec.observation_space.flat_dim();
  shape.critic_input_dim = shape.obs_dim;
  shape.action_space = spec.action_space;
  return shape;
}

void check_spaces(const std::string& id, const envs::Space& obs, const envs::Space& action) {
  if (obs.kind != envs::SpaceKind::kBox) throw Error(id + ": observations must be a Box, got " + obs.describe());
  if (action.kind == envs::SpaceKind::kBox && !action.bounded())
    throw Error(id + ": a Box action space must be bounded, got " + action.describe());
}

void save_counters(ByteWriter& w, const TrainingCounters& c) {
  w.put(c.update);
  w.put(c.global_step);
  w.put(c.episodes);
  w.put(c.elapsed_seconds);
}

TrainingCounters load_counters(ByteReader& r) {
  TrainingCounters c;
  c.update = r.get<std::int64_t>();
  c.global_step = r.get<std::int64_t>();
  c.episodes = r.get<std::int64_t>();
  c.elapsed_seconds = r.get<double>();
  return c;
}

}  // namespace

Roles make_roles(const TrainConfig& config, const VectorEnvFactory& make_env,
                 const MultiAgentVectorEnvFactory& make_multi_agent_env) {
  Roles roles;
  const bool local = config.env.remote.empty();
  const bool single_id = envs::EnvRegistry::global().contains(config.env.id);
  const bool multi_id = envs::MultiAgentRegistry::global().contains(config.env.id);
  if (local && config.algo == Algorithm::kPpo && multi_id && !single_id)
    throw ConfigError("env.id '" + config.env.id + "' is a multi-agent env; train it with algo: mappo");
  if (local && config.algo == Algorithm::kMappo && single_id && !multi_id)
    throw ConfigError("env.id '" + config.env.id + "' is a single-agent env; train it with algo: ppo");
  if (config.algo == Algorithm::kPpo) {
    auto env = make_env(config.env);
    const envs::EnvSpec& spec = env->spec();
    check_spaces(spec.id, spec.observation_space, spec.action_space);
    roles.learner = std::make_unique<PpoLearner>(network_shape(spec), config.ppo, config.trust_region, config.network,
                                                 config.normalize, config.seed);
    roles.actor = std::make_unique<SingleAgentActor>(std::move(env), config.seed);
  } else {
    auto env = make_multi_agent_env(config.env);
    const envs::MultiAgentSpec& spec = env->spec();
    for (int a = 0; a < spec.num_agents(); ++a)
      check_spaces(spec.id, spec.observation_spaces[static_cast<std::size_t>(a)],
                   spec.action_spaces[static_cast<std::size_t>(a)]);
    roles.learner = std::make_unique<MappoLearner>(spec, config.mappo, config.ppo, config.trust_region, config.network,
                                                   config.normalize, config.seed);
    roles.actor = std::make_unique<MultiAgentActor>(std::move(env), config.seed);
    roles.multi_agent = true;
  }
  roles.actor->set_policy(roles.learner->snapshot());
  return roles;
}

MultiAgentVectorEnvFactory local_multi_agent_env_factory() {
  return [](const EnvConfig& env) -> std::unique_ptr<envs::MultiAgentVectorEnv> {
    if (!env.remote.empty())
      throw Error("env.remote is set to '" + env.remote + "' but this program was built without remote envs");
    return envs::LocalMultiAgentVectorEnv::make(env.id, env.options, static_cast<int>(env.num_envs),
                                                static_cast<int>(env.threads));
  };
}

VectorEnvFactory local_env_factory() {
  return [](const EnvConfig& env) -> std::unique_ptr<envs::VectorEnv> {
    if (!env.remote.empty())
      throw Error("env.remote is set to '" + env.remote + "' but this program was built without remote envs");
    return envs::LocalVectorEnv::make(env.id, env.options, static_cast<int>(env.num_envs), static_cast<int>(env.threads));
  };
}

Trainer::Trainer(const TrainConfig& config, TrainerOptions options)
    : config_(config), config_yaml_(write_config(config_)), options_(std::move(options)) {
  config_.validate();
  set_compute_threads(static_cast<int>(config_.run.torch_threads));
  Roles roles = make_roles(config_, options_.make_env, options_.make_multi_agent_env);
  learner_ = std::move(roles.learner);
  actor_ = std::move(roles.actor);
  multi_agent_ = roles.multi_agent;
}

std::unique_ptr<Trainer> Trainer::start(const TrainConfig& config, const std::filesystem::path& run_dir,
                                        TrainerOptions options) {
  std::unique_ptr<Trainer> t(new Trainer(config, std::move(options)));
  t->run_dir_.emplace(RunDir::create(run_dir));
  t->run_dir_->lock();
  // config.yaml goes first: a run directory is recognised by it.
  write_file_atomic(t->run_dir_->config_path(), t->config_yaml_);
  t->open_sinks(std::nullopt);
  t->log("run " + t->run_dir_->root().string() + ": " + config.env.id + ", " +
         std::to_string(config.num_updates()) + " updates of " + std::to_string(config.batch_steps()) + " steps");
  return t;
}

std::unique_ptr<Trainer> Trainer::resume(RunDir run_dir, TrainerOptions options) {
  run_dir.lock();
  const std::string yaml = read_text_file(run_dir.config_path());
  TrainConfig config;
  try {
    read_config(config, yaml);
    config.validate();
  } catch (const ConfigError& e) {
    throw Error(run_dir.config_path().string() + ": " + e.what());
  }
  const auto checkpoints = run_dir.checkpoints();
  if (checkpoints.empty())
    throw Error("'" + run_dir.root().string() + "' has no checkpoint to resume from; start a new run instead");
  const SectionFile file = SectionFile::read(checkpoints.back(), "checkpoint");
  if (file.get_text("config") != write_config(config))
    throw Error(run_dir.config_path().string() + " was changed after the checkpoint was written; restore it or start a new run");

  std::unique_ptr<Trainer> t(new Trainer(config, std::move(options)));
  t->run_dir_.emplace(std::move(run_dir));
  const std::string what = "checkpoint '" + checkpoints.back().string() + "'";
  ByteReader counters(file.get("counters"), what);
  t->counters_ = load_counters(counters);
  ByteReader learner(file.get("learner"), what);
  t->learner_->load(learner);
  t->actor_->set_policy(t->learner_->snapshot());
  if (file.has("actor")) {
    ByteReader actor(file.get("actor"), what);
    t->actor_->load(actor);
  } else {
    // Envs that cannot be saved (Box2D, remote) start fresh episodes from a seed derived from the
    // update count, so a resumed run is still reproducible.
    t->actor_->restart(Rng::derive(config.seed, static_cast<std::uint64_t>(t->counters_.update)));
    t->actor_->set_env_steps(t->counters_.global_step);
  }
  t->open_sinks(t->counters_.update);
  t->log("resumed " + t->run_dir_->root().string() + " at update " + std::to_string(t->counters_.update) + ", step " +
         std::to_string(t->counters_.global_step) + (file.has("actor") ? "" : " (episodes in flight were restarted)"));
  return t;
}

void Trainer::open_sinks(std::optional<std::int64_t> keep_rows) {
  sinks_.add(std::make_unique<CsvMetricSink>(run_dir_->metrics_path(), keep_rows));
  if (config_.run.tensorboard) sinks_.add(std::make_unique<TensorBoardSink>(run_dir_->root() / "tensorboard"));
  if (options_.progress)
    sinks_.add(std::make_unique<ProgressSink>(config_.num_updates() * config_.batch_steps(), options_.progress_is_terminal));
  log_file_ = std::make_unique<std::ofstream>(run_dir_->log_path(), std::ios::app);
}

void Trainer::log(const std::string& line) {
  if (log_file_) *log_file_ << line << std::endl;
  if (options_.verbose) {
    if (options_.progress && options_.progress_is_terminal) std::cerr << "\r\033[K";
    std::cerr << line << "\n";
  }
}

void Trainer::checkpoint() {
  SectionFile file("checkpoint");
  file.add("config", config_yaml_);
  ByteWriter counters;
  save_counters(counters, counters_);
  file.add("counters", counters.take());
  ByteWriter learner;
  learner_->save(learner);
  file.add("learner", learner.take());
  if (actor_->can_snapshot()) {
    ByteWriter actor;
    actor_->save(actor);
    file.add("actor", actor.take());
  }
  SavedPolicy policy;
  policy.env_id = actor_->env_id();
  policy.env_options = config_.env.options;
  policy.multi_agent = multi_agent_;
  policy.snapshot = learner_->snapshot();
  policy.add_to(file);
  file.write(run_dir_->checkpoint_path(counters_.update));
  run_dir_->prune_checkpoints(static_cast<int>(config_.run.keep_checkpoints));
  policy.write(run_dir_->policy_path());
}

void Trainer::run(std::optional<std::int64_t> max_updates) {
  using clock = std::chrono::steady_clock;
  const std::int64_t num_updates = config_.num_updates();
  const std::int64_t first_step = counters_.global_step;
  const auto session_start = clock::now();
  const double elapsed_before = counters_.elapsed_seconds;
  Rollout rollout;
  std::int64_t done_here = 0;
  while (counters_.update < num_updates && !stop_requested_.load() && (!max_updates || done_here < *max_updates)) {
    const auto t0 = clock::now();
    actor_->collect(static_cast<int>(config_.ppo.num_steps), rollout);
    const auto t1 = clock::now();
    const double progress_remaining = 1.0 - static_cast<double>(counters_.update) / static_cast<double>(num_updates);
    const UpdateStats stats = learner_->update(rollout, progress_remaining);
    actor_->set_policy(learner_->snapshot());
    const auto t2 = clock::now();

    ++counters_.update;
    ++done_here;
    counters_.global_step += rollout.env_steps();
    counters_.episodes += static_cast<std::int64_t>(rollout.episodes.size());
    const double session_seconds = std::chrono::duration<double>(t2 - session_start).count();
    counters_.elapsed_seconds = elapsed_before + session_seconds;

    MetricRow row;
    row.set("global_step", static_cast<double>(counters_.global_step));
    row.set("update", static_cast<double>(counters_.update));
    row.set("charts/SPS", static_cast<double>(counters_.global_step - first_step) / session_seconds);
    double ret = 0, len = 0;
    for (const auto& e : rollout.episodes) {
      ret += e.episode_return;
      len += e.length;
    }
    const auto n_ep = static_cast<double>(rollout.episodes.size());
    row.set("charts/episodic_return", n_ep > 0 ? ret / n_ep : NAN);
    row.set("charts/episodic_length", n_ep > 0 ? len / n_ep : NAN);
    row.set("charts/episodes", static_cast<double>(counters_.episodes));
    row.set("charts/cut_episodes", static_cast<double>(actor_->cut_episodes()));
    stats.write(row);
    row.set("time/rollout_seconds", std::chrono::duration<double>(t1 - t0).count());
    row.set("time/update_seconds", std::chrono::duration<double>(t2 - t1).count());
    row.set("time/elapsed_seconds", counters_.elapsed_seconds);
    sinks_.write(counters_.global_step, row);
    if (log_file_) *log_file_ << "update " << counters_.update << ": " << progress_line(counters_.global_step, num_updates * config_.batch_steps(), row) << "\n";

    if (counters_.update % config_.run.checkpoint_every == 0 && counters_.update < num_updates) checkpoint();
  }
  checkpoint();
  sinks_.flush();
  if (finished())
    log("done: " + std::to_string(counters_.global_step) + " steps in " + human_duration(counters_.elapsed_seconds) +
        "; policy saved to " + run_dir_->policy_path().string());
  else
    log("stopped at update " + std::to_string(counters_.update) + "; continue with: trustrl train --resume " +
        run_dir_->root().string());
}

}  // namespace trustrl::agents
