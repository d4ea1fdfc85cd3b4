#include "agents/trainer.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>

#include "agents/env_actor.h"
#include "agents/kernel_path.h"
#include "agents/mappo.h"
#include "agents/natural_gradient_step.h"
#include "agents/policy_source.h"
#include "agents/ppo.h"
#include "agents/rollout_limits.h"
#include "agents/saved_policy.h"
#include "agents/threads.h"
#include "core/error.h"
#include "core/files.h"
#include "core/section_file.h"
#include "core/text.h"
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
  if (obs.kind != envs::SpaceKind::kBox)
    throw Error(id + ": observations must be a Box, got " + obs.describe());
  if (action.kind == envs::SpaceKind::kBox && !action.bounded())
    throw Error(id + ": a Box action space must be bounded, got " + action.describe());
}

void check_algorithm(const TrainConfig& config) {
  const bool local = config.env.remote.empty();
  const envs::EnvRegistry& registry = envs::EnvRegistry::global();
  const bool multi_id = registry.is_multi_agent(config.env.id);
  const bool single_id = registry.contains(config.env.id) && !multi_id;
  if (local && config.algo == Algorithm::kPpo && multi_id && !single_id)
    throw ConfigError("env.id '" + config.env.id +
                      "' is a multi-agent env; train it with algo: mappo");
  if (local && config.algo == Algorithm::kMappo && single_id && !multi_id)
    throw ConfigError("env.id '" + config.env.id +
                      "' is a single-agent env; train it with algo: ppo");
}

RunEnv single_agent_env(const envs::EnvSpec& spec) {
  check_spaces(spec.id, spec.observation_space, spec.action_space);
  RunEnv env;
  env.id = spec.id;
  env.spec = spec;
  return env;
}

RunEnv multi_agent_env(const envs::MultiAgentSpec& spec) {
  for (int a = 0; a < spec.num_agents(); ++a)
    check_spaces(spec.id, spec.observation_spaces[static_cast<std::size_t>(a)],
                 spec.action_spaces[static_cast<std::size_t>(a)]);
  RunEnv env;
  env.id = spec.id;
  env.multi_agent = true;
  env.multi_agent_spec = spec;
  return env;
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

// Learner `rank`'s share of `total` env copies: as even as can be, the first ranks one more.
int share_of(std::int64_t total, int world, int rank) {
  return static_cast<int>(total / world + (rank < total % world ? 1 : 0));
}

std::vector<std::uint8_t> to_bytes(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

std::unique_ptr<Learner> make_learner(const TrainConfig& config, const RunEnv& env) {
  TrustRegionConfig trust_region = config.trust_region;
  trust_region.reference.training_steps = config.num_updates() * config.batch_steps();
  std::unique_ptr<PpoLearner> learner;
  if (config.algo == Algorithm::kPpo) {
    if (env.multi_agent)
      throw ConfigError(env.id + " is a multi-agent env; train it with algo: mappo");
    learner = std::make_unique<PpoLearner>(network_shape(env.spec), config.ppo, trust_region,
                                           config.network, config.normalize, config.seed);
  } else {
    if (!env.multi_agent)
      throw ConfigError(env.id + " is a single-agent env; train it with algo: ppo");
    learner =
        std::make_unique<PpoLearner>(env.multi_agent_spec, config.mappo, config.ppo, trust_region,
                                     config.network, config.normalize, config.seed);
  }
  if (trust_region.reference.enabled()) {
    // Read and checked here, before a run directory exists or a step is taken.
    const std::string key = "trust_region.reference.policy";
    const SavedPolicy reference = read_policy_source(trust_region.reference.policy, key);
    if (env.multi_agent)
      check_policy_source(reference, env.multi_agent_spec, key);
    else
      check_policy_source(reference, env.spec, key);
    learner->set_reference(reference.snapshot, key + ": " + reference.source);
  }
  return learner;
}

std::unique_ptr<Actor> make_actor(std::unique_ptr<envs::VectorEnv> env, std::uint64_t seed,
                                  const PolicySnapshot& policy) {
  auto actor = std::make_unique<EnvActor>(std::move(env), seed);
  actor->set_policy(policy);
  return actor;
}

RunEnv probe_env(const TrainConfig& config, const VectorEnvFactory& make_env) {
  check_algorithm(config);
  EnvConfig one = config.env;
  if (one.remote.empty()) one.num_envs = 1;  // a remote server decides its own copy count
  one.threads = 1;
  auto env = make_env(one);
  if (config.algo == Algorithm::kPpo) return single_agent_env(env->single_agent_spec());
  return multi_agent_env(env->spec());
}

Roles make_roles(const TrainConfig& config, const VectorEnvFactory& make_env) {
  check_algorithm(config);
  Roles roles;
  auto env = make_env(config.env);
  roles.env = config.algo == Algorithm::kPpo ? single_agent_env(env->single_agent_spec())
                                             : multi_agent_env(env->spec());
  roles.learner = make_learner(config, roles.env);
  roles.actor = make_actor(std::move(env), config.seed, roles.learner->snapshot());
  return roles;
}

Trainer::Trainer(const TrainConfig& config, TrainerOptions options)
    : config_(config), config_yaml_(write_config(config_)), options_(std::move(options)) {
  config_.validate();
  kernel_path();  // a bad TRUSTRL_ISA stops the run before it writes anything
  set_compute_threads(static_cast<int>(config_.run.torch_threads));
  const int world = world_size();
  if (config_.env.num_envs < world)
    throw ConfigError("env.num_envs (" + std::to_string(config_.env.num_envs) +
                      ") is smaller than the number of learners (" + std::to_string(world) +
                      "): each learner needs at least one env copy of the batch");
  batch_envs_ = share_of(config_.env.num_envs, world, rank());
  if (!options_.make_channel) {
    if (world > 1)
      throw Error(
          "data-parallel learners gather their batches from actor processes (trustrl learner)");
    Roles roles = make_roles(config_, options_.make_env);
    env_ = std::move(roles.env);
    learner_ = std::move(roles.learner);
    channel_ = std::make_unique<LocalRolloutChannel>(std::move(roles.actor));
  } else {
    env_ = probe_env(config_, options_.make_env);
    learner_ = make_learner(config_, env_);
    channel_ = options_.make_channel(ChannelSetup{config_, env_, rank(), world, batch_envs_});
    channel_->publish(learner_->snapshot());
  }
  if (world > 1) learner_->set_collective(options_.collective.get());
}

std::unique_ptr<Trainer> Trainer::lead(const TrainConfig& config, TrainerOptions options) {
  std::unique_ptr<Trainer> t(new Trainer(config, std::move(options)));
  if (t->rank() != 0)
    throw Error("learner rank " + std::to_string(t->rank()) +
                " takes its run from rank 0 (follow())");
  if (Collective* collective = t->options_.collective.get()) {
    std::vector<std::uint8_t> yaml = to_bytes(t->config_yaml_);
    collective->broadcast(yaml);
    if (collective->any(false))
      throw Error("another learner rank could not start (its log says why)");
  }
  return t;
}

std::unique_ptr<Trainer> Trainer::start(const TrainConfig& config,
                                        const std::filesystem::path& run_dir,
                                        TrainerOptions options) {
  std::unique_ptr<Trainer> t = lead(config, std::move(options));
  t->run_dir_.emplace(RunDir::create(run_dir));
  t->run_dir_->lock();
  // config.yaml goes first: a run directory is recognised by it.
  write_file_atomic(t->run_dir_->config_path(), t->config_yaml_);
  t->open_sinks(std::nullopt);
  t->log("run " + t->run_dir_->root().string() + ": " + t->env_.id + ", " +
         std::to_string(config.num_updates()) + " updates of " +
         std::to_string(config.batch_steps()) + " steps" +
         (t->options_.collective ? ", " + std::to_string(t->world_size()) + " learners" : ""));
  if (t->options_.collective) t->share_state();
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
  // Writes a kill interrupted left temporaries; we hold the lock, so none is live.
  std::vector<std::string> notes;
  const std::vector<std::string> stale = run_dir.remove_stale_temporaries();
  if (!stale.empty()) {
    std::string names;
    for (const auto& n : stale) names += (names.empty() ? "" : ", ") + n;
    notes.push_back("removed " + std::to_string(stale.size()) +
                    " temporary file(s) of interrupted writes: " + names);
  }
  const auto checkpoints = run_dir.checkpoints();
  if (checkpoints.empty())
    throw Error("'" + run_dir.root().string() +
                "' has no checkpoint to resume from; start a new run instead");
  // The newest checkpoint that reads whole, matches config.yaml and whose rows metrics.csv holds
  // intact; the newer ones are set aside, each with its reason.
  std::optional<std::int64_t> intact_rows;
  std::optional<std::string> metrics_problem;
  std::error_code ec;
  if (std::filesystem::exists(run_dir.metrics_path(), ec)) {
    const MetricsFileCheck check = check_metrics_file(run_dir.metrics_path());
    intact_rows = check.intact_rows;
    metrics_problem = check.problem;
  }
  const std::string resolved = write_config(config);
  std::optional<SectionFile> chosen;
  std::filesystem::path chosen_path;
  std::vector<std::pair<std::filesystem::path, std::string>> skipped;
  for (auto it = checkpoints.rbegin(); it != checkpoints.rend() && !chosen; ++it) {
    try {
      SectionFile file = SectionFile::read(*it, "checkpoint");
      // Compared as resolved configs, not as text: a checkpoint of an earlier trustrl lacks the
      // keys added since, which resolve to their defaults on both sides.
      TrainConfig saved;
      read_config(saved, file.get_text("config"));
      if (write_config(saved) != resolved)
        throw Error(run_dir.config_path().string() +
                    " was changed after the checkpoint was written; restore it or start a new run");
      ByteReader counters(file.get("counters"), file.source());
      const TrainingCounters c = load_counters(counters);
      if (c.update < 0 || c.update > config.num_updates() || c.global_step < 0)
        throw Error(file.source() + " has impossible counters (update " + std::to_string(c.update) +
                    ")");
      if (intact_rows && c.update > *intact_rows)
        throw Error("it was taken after update " + std::to_string(c.update) +
                    " but metrics.csv holds only " + std::to_string(*intact_rows) + " intact rows" +
                    (metrics_problem ? " (" + *metrics_problem + ")" : ""));
      chosen = std::move(file);
      chosen_path = *it;
    } catch (const Error& e) {
      skipped.emplace_back(*it, e.what());
    }
  }
  if (!chosen) {
    std::string reasons;
    for (const auto& [path, why] : skipped)
      reasons += (reasons.empty() ? "" : "; ") + path.filename().string() + ": " + why;
    throw Error("no checkpoint in '" + run_dir.checkpoints_dir().string() +
                "' can be resumed: " + reasons);
  }
  const SectionFile& file = *chosen;

  std::unique_ptr<Trainer> t = lead(config, std::move(options));
  t->run_dir_.emplace(std::move(run_dir));
  const std::string what = file.source();
  ByteReader counters(file.get("counters"), what);
  t->counters_ = load_counters(counters);
  ByteReader learner(file.get("learner"), what);
  t->learner_->load(learner);
  t->channel_->publish(t->learner_->snapshot());
  if (file.has("actor") && t->channel_->can_snapshot()) {
    ByteReader actor(file.get("actor"), what);
    t->channel_->load(actor);
  } else {
    // Envs that cannot be saved (Box2D, remote, actors in other processes) start fresh episodes
    // from a seed derived from the update count, so a resumed run is still reproducible.
    t->channel_->restart(Rng::derive(config.seed, static_cast<std::uint64_t>(t->counters_.update)),
                         t->counters_.global_step);
  }
  t->last_checkpoint_update_ = t->counters_.update;
  t->open_sinks(t->counters_.update);
  for (const auto& [path, why] : skipped)
    notes.push_back("skipped " + path.string() + " (" + why + "); set aside as " +
                    t->run_dir_->set_aside(path).filename().string());
  for (const auto& note : notes) t->log(note);
  t->log("resumed " + t->run_dir_->root().string() + " from " + chosen_path.filename().string() +
         " at update " + std::to_string(t->counters_.update) + ", step " +
         std::to_string(t->counters_.global_step) +
         (file.has("actor") && t->channel_->can_snapshot()
              ? ""
              : " (episodes in flight were restarted)"));
  if (t->options_.collective) t->share_state();
  return t;
}

std::unique_ptr<Trainer> Trainer::follow(const std::optional<TrainConfig>& own,
                                         TrainerOptions options) {
  Collective* collective = options.collective.get();
  if (!collective || collective->rank() == 0)
    throw Error("follow() is for learners of rank > 0; rank 0 starts or resumes the run");
  std::vector<std::uint8_t> bytes;
  collective->broadcast(bytes);
  const std::string yaml(bytes.begin(), bytes.end());
  std::unique_ptr<Trainer> t;
  std::string failure;
  try {
    TrainConfig config;
    read_config(config, yaml);
    config.validate();
    if (own) {
      TrainConfig mine = *own;
      if (write_config(mine) != yaml)
        throw Error(
            "this learner's CONFIG differs from rank 0's; give every learner the same CONFIG and "
            "--set "
            "options (or none: ranks > 0 take rank 0's)");
    }
    t.reset(new Trainer(config, std::move(options)));
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (collective->any(!failure.empty()))
    throw Error(failure.empty() ? "another learner rank could not start" : failure);
  t->share_state();
  t->log("learner rank " + std::to_string(t->rank()) + " of " + std::to_string(t->world_size()) +
         ": " + t->env_.id + ", following rank 0 from update " +
         std::to_string(t->counters_.update));
  return t;
}

void Trainer::share_state() {
  Collective& collective = *options_.collective;
  std::vector<std::uint8_t> bytes;
  if (rank() == 0) {
    ByteWriter w;
    save_counters(w, counters_);
    learner_->save(w);
    bytes = w.take();
  }
  collective.broadcast(bytes);
  if (rank() == 0) return;
  ByteReader r(bytes, "the learner state from rank 0");
  counters_ = load_counters(r);
  learner_->load(r);
  channel_->publish(learner_->snapshot());
  if (counters_.update > 0)
    channel_->restart(Rng::derive(config_.seed, static_cast<std::uint64_t>(counters_.update)),
                      counters_.global_step);
}

void Trainer::open_sinks(std::optional<std::int64_t> keep_rows) {
  sinks_.add(std::make_unique<CsvMetricSink>(run_dir_->metrics_path(), keep_rows));
  if (config_.run.tensorboard)
    sinks_.add(std::make_unique<TensorBoardSink>(run_dir_->root() / "tensorboard"));
  if (options_.progress)
    sinks_.add(std::make_unique<ProgressSink>(config_.num_updates() * config_.batch_steps(),
                                              options_.progress_is_terminal));
  log_file_ = std::make_unique<AppendFile>(run_dir_->log_path(), AppendFile::Mode::kAppend);
  log(kernel_report());
}

void Trainer::log(const std::string& line) {
  if (log_file_) log_file_->append(line + "\n");
  if (options_.verbose) {
    if (options_.progress && options_.progress_is_terminal) std::cerr << "\r\033[K";
    std::cerr << line << "\n";
  }
}

void Trainer::request_stop() {
  stop_requested_.store(true);
  channel_->stop();
}

const RunDir& Trainer::run_dir() const {
  if (!run_dir_)
    throw Error("learner rank " + std::to_string(rank()) + " keeps no run directory (rank 0 does)");
  return *run_dir_;
}

Actor& Trainer::actor() {
  auto* local = dynamic_cast<LocalRolloutChannel*>(channel_.get());
  if (!local) throw Error("this trainer's actors run in other processes");
  return local->actor();
}

void Trainer::stopped_by(const Error& e) {
  // A checkpoint still being written counts if it completes; its own failure is this stop's.
  checkpoint_writes_.wait_quietly();
  const std::string dir = run_dir_ ? run_dir_->root().string() : std::string("RUN_DIR");
  const std::int64_t last = last_checkpoint_update_;
  throw Error(std::string(e.what()) + "; the run stopped at update " +
              std::to_string(counters_.update) +
              (last > 0 ? " (last checkpoint: update " + std::to_string(last) +
                              "); once fixed, continue with: trustrl " +
                              (options_.make_channel ? "learner" : "train") + " --resume " + dir
                        : " before its first checkpoint; once fixed, start a new run"));
}

struct Trainer::PendingCheckpoint {
  SectionFile file{"checkpoint"};
  SavedPolicy policy;
  std::int64_t update = 0;
};

Trainer::PendingCheckpoint Trainer::capture_checkpoint() {
  PendingCheckpoint c;
  c.update = counters_.update;
  c.file.add("config", config_yaml_);
  ByteWriter counters;
  save_counters(counters, counters_);
  c.file.add("counters", counters.take());
  ByteWriter learner;
  learner_->save(learner);
  c.file.add("learner", learner.take());
  if (channel_->can_snapshot()) {
    ByteWriter actor;
    channel_->save(actor);
    c.file.add("actor", actor.take());
  }
  c.policy.env_id = env_.id;
  c.policy.env_options = config_.env.options;
  c.policy.multi_agent = env_.multi_agent;
  c.policy.snapshot = learner_->snapshot();
  c.policy.add_to(c.file);
  return c;
}

// Only fdatasyncs of the sinks and the log here, which are safe beside the training thread's
// appends; the files written are the checkpoint's own.
void Trainer::write_checkpoint(const PendingCheckpoint& c) {
  // The rows the checkpoint counts must be on disk before it is: a resume keeps exactly them.
  sinks_.flush();
  if (log_file_) log_file_->sync();
  // A shortage of file descriptors (a flood of connections to a learner) or a moment of full
  // disk passes: write_file_atomic retries those for a few seconds (core/files.cpp) before the
  // run stops with the error.
  c.file.write(run_dir_->checkpoint_path(c.update));
  c.policy.write(run_dir_->policy_path());
  // A resumed older run leaves no stale policy.pt beside the new file for a reader to pick.
  std::error_code stale;
  std::filesystem::remove(run_dir_->legacy_policy_path(), stale);
  run_dir_->prune_checkpoints(static_cast<int>(config_.run.keep_checkpoints));
  last_checkpoint_update_ = c.update;
}

void Trainer::checkpoint() {
  if (!run_dir_) return;
  checkpoint_writes_.wait();
  write_checkpoint(capture_checkpoint());
}

void Trainer::checkpoint_in_background() {
  if (!run_dir_) return;
  auto c = std::make_shared<const PendingCheckpoint>(capture_checkpoint());
  checkpoint_writes_.submit([this, c] { write_checkpoint(*c); });
}

void Trainer::undo_update(const std::vector<std::uint8_t>& before, const std::string& what,
                          std::int64_t& in_a_row) {
  ByteReader r(before, "the learner state before update " + std::to_string(counters_.update + 1));
  learner_->load(r);
  ++in_a_row;
  if (in_a_row >= config_.run.max_rollbacks)
    throw Error(
        what + "; that is " + std::to_string(in_a_row) +
        " such updates in a row (run.max_rollbacks: " + std::to_string(config_.run.max_rollbacks) +
        "), so the run stops. The newest checkpoint holds the last good parameters; check the "
        "rewards and observations the env produces, or lower ppo.learning_rate");
  log(what + ": rolled back to the parameters before it and dropped its batch (" +
      std::to_string(in_a_row) + " in a row; the run stops at " +
      std::to_string(config_.run.max_rollbacks) + ")");
  // Actors act with the restored policy (its version did not change); a synchronous learner
  // service asks them for a fresh batch.
  channel_->publish(learner_->snapshot());
}

void Trainer::warn_of_a_flat_critic(double explained_variance) {
  const auto update = std::to_string(counters_.update);
  switch (flat_critic_.observe(explained_variance)) {
    case FlatCriticWatch::Event::kFlat:
      log("warning: update " + update +
          ": the critic has explained none of the returns' variance for " +
          std::to_string(flat_critic_.threshold()) +
          " updates in a row (explained variance within " + format_number(flat_critic_.band()) +
          " of 0): it predicts about one value for every state, so the advantages are the " +
          "returns less a constant. A tanh critic fitting large unnormalized returns saturates " +
          "this way; normalize.rewards: true or ppo.value_norm: true keep its targets small " +
          "(docs/TRUST_REGIONS.md, \"The critic\")");
      break;
    case FlatCriticWatch::Event::kRecovered:
      char value[32];
      std::snprintf(value, sizeof value, "%.2f", explained_variance);
      log("update " + update + ": the critic explains the returns again (explained variance " +
          value + ") after " + std::to_string(flat_critic_.ended_stretch()) + " flat updates");
      break;
    case FlatCriticWatch::Event::kNone:
      break;
  }
}

void Trainer::run(std::optional<std::int64_t> max_updates) {
  using clock = std::chrono::steady_clock;
  const std::int64_t num_updates = config_.num_updates();
  const std::int64_t first_step = counters_.global_step;
  const auto session_start = clock::now();
  const double elapsed_before = counters_.elapsed_seconds;
  Collective* collective = options_.collective.get();
  Batch batch;
  std::int64_t done_here = 0;
  std::int64_t rollbacks_in_a_row = 0;
  // However this call ends, no checkpoint write outlives it (a failure left then is dropped: the
  // exception that ends the call is the one reported).
  struct AwaitWrites {
    BackgroundTask& writes;
    ~AwaitWrites() { writes.wait_quietly(); }
  } await_writes{checkpoint_writes_};
  while (counters_.update < num_updates && (!max_updates || done_here < *max_updates)) {
    // Data-parallel learners stop together, at the same update.
    const bool stop = collective ? collective->any(stop_requested_.load()) : stop_requested_.load();
    if (stop) break;
    const auto t0 = clock::now();
    bool have = channel_->next_batch(batch_envs_, static_cast<int>(config_.ppo.num_steps), batch);
    if (collective) have = all_gather_batch(*collective, batch, have);
    if (!have) break;
    const Rollout& rollout = batch.rollout;
    const auto t1 = clock::now();
    const double progress_remaining =
        1.0 - static_cast<double>(counters_.update) / static_cast<double>(num_updates);
    ByteWriter before;  // the learner as it was, to undo an update that breaks it
    learner_->save(before);
    UpdateStats stats;
    try {
      stats = learner_->update(rollout, progress_remaining);
    } catch (const NonFiniteStepError& e) {  // natural_gradient or sequential, one learner
      undo_update(before.take(),
                  "update " + std::to_string(counters_.update + 1) +
                      " met a non-finite quantity (" + e.what() + ")",
                  rollbacks_in_a_row);
      continue;
    }
    PolicySnapshot snapshot = learner_->snapshot();
    const std::optional<std::string> broken = non_finite_parameter(snapshot);
    if (collective ? collective->any(broken.has_value()) : broken.has_value()) {
      undo_update(before.take(),
                  "update " + std::to_string(counters_.update + 1) +
                      " left a non-finite parameter (" +
                      broken.value_or("on another learner rank") + ")",
                  rollbacks_in_a_row);
      continue;
    }
    rollbacks_in_a_row = 0;
    channel_->publish(snapshot);
    const auto t2 = clock::now();

    ++counters_.update;
    ++done_here;
    counters_.global_step += rollout.env_steps();
    counters_.episodes += static_cast<std::int64_t>(rollout.episodes.size());
    const double session_seconds = std::chrono::duration<double>(t2 - session_start).count();
    counters_.elapsed_seconds = elapsed_before + session_seconds;
    if (!run_dir_) continue;  // rank 0 writes metrics and checkpoints

    MetricRow row;
    row.set("global_step", static_cast<double>(counters_.global_step));
    row.set("update", static_cast<double>(counters_.update));
    row.set("charts/SPS",
            static_cast<double>(counters_.global_step - first_step) / session_seconds);
    double ret = 0, len = 0;
    for (const auto& e : rollout.episodes) {
      ret += e.episode_return;
      len += e.length;
    }
    const auto n_ep = static_cast<double>(rollout.episodes.size());
    row.set("charts/episodic_return", n_ep > 0 ? ret / n_ep : NAN);
    row.set("charts/episodic_length", n_ep > 0 ? len / n_ep : NAN);
    row.set("charts/episodes", static_cast<double>(counters_.episodes));
    row.set("charts/cut_episodes", static_cast<double>(channel_->cut_episodes()));
    const std::int64_t unstable = channel_->unstable_steps();
    row.set("charts/unstable_steps", static_cast<double>(unstable));
    if (unstable > unstable_steps_logged_) {
      log("warning: update " + std::to_string(counters_.update) + ": " +
          std::to_string(unstable - unstable_steps_logged_) +
          " env step(s) ended by simulation instability (" + std::to_string(unstable) +
          " since the actors started); each ended its episode as terminated");
      unstable_steps_logged_ = unstable;
    }
    if (!env_threads_logged_) {
      // Once the vector env settled its threads (auto decides after its first batches).
      const std::string report = channel_->env_threads_report();
      if (!report.empty()) {
        log(report);
        env_threads_logged_ = true;
      }
    }
    stats.write(row);
    warn_of_a_flat_critic(stats.explained_variance);
    row.set("dist/version_lag", batch.mean_version_lag);
    row.set("dist/max_version_lag", static_cast<double>(batch.max_version_lag));
    row.set("dist/actors", batch.actors);
    row.set("dist/discarded_steps", static_cast<double>(batch.discarded_steps));
    row.set("time/rollout_seconds", std::chrono::duration<double>(t1 - t0).count());
    row.set("time/update_seconds", std::chrono::duration<double>(t2 - t1).count());
    row.set("time/actor_wait_seconds", batch.actor_wait_seconds);
    row.set("time/elapsed_seconds", counters_.elapsed_seconds);
    try {
      sinks_.write(counters_.global_step, row);
      if (log_file_)
        log_file_->append(
            "update " + std::to_string(counters_.update) + ": " +
            progress_line(counters_.global_step, num_updates * config_.batch_steps(), row) + "\n");
      if (counters_.update % config_.run.checkpoint_every == 0 && counters_.update < num_updates) {
        if (options_.make_channel) {
          // Scripts and tests wait for this line and then read the checkpoint: it must be on
          // disk first, and the line's wording kept.
          checkpoint();
          log("checkpoint at update " + std::to_string(counters_.update));
        } else {
          checkpoint_in_background();
        }
      }
    } catch (const Error& e) {
      stopped_by(e);
    }
  }
  try {
    checkpoint();  // syncs the sinks first
  } catch (const Error& e) {
    stopped_by(e);
  }
  if (finished()) channel_->finish();
  if (!run_dir_) return;
  try {
    if (finished())
      log("done: " + std::to_string(counters_.global_step) + " steps in " +
          human_duration(counters_.elapsed_seconds) + "; policy saved to " +
          run_dir_->policy_path().string());
    else
      log("stopped at update " + std::to_string(counters_.update) + "; continue with: trustrl " +
          (options_.make_channel ? "learner" : "train") + " --resume " + run_dir_->root().string());
  } catch (const Error& e) {
    stopped_by(e);
  }
}

}  // namespace trustrl::agents
