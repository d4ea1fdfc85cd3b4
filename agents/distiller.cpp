#include "agents/distiller.h"

#include <chrono>
#include <cmath>
#include <iostream>
#include <numeric>

#include "agents/evaluate.h"
#include "agents/kl.h"
#include "agents/policy_source.h"
#include "core/error.h"
#include "core/files.h"
#include "core/section_file.h"

namespace trustrl::agents {

namespace {

const std::string kTeacherKey = "distill.teacher";

// The env copies of an evaluation: at most 8, never more than its episodes.
int eval_copies(std::int64_t episodes) {
  return static_cast<int>(std::min<std::int64_t>(episodes, 8));
}

}  // namespace

Distiller::Distiller(const DistillConfig& config, DistillOptions options)
    : config_(config), options_(options), rng_(Rng::derive(config.seed, 0xD157)) {
  config_.validate();
  config_yaml_ = write_config(config_);
  torch::set_num_threads(static_cast<int>(config_.run.torch_threads));
  for (const std::string& path : config_.distill.teachers())
    teachers_.push_back(read_policy_source(path, kTeacherKey));
  const SavedPolicy& first = teachers_.front();
  const auto kind = [](const SavedPolicy& t) {
    return std::string(t.multi_agent ? "multi-agent" : "single-agent");
  };
  for (const SavedPolicy& t : teachers_)
    if (t.multi_agent != first.multi_agent)
      throw Error(kTeacherKey + ": " + t.source + " holds a " + kind(t) + " policy (" + t.env_id +
                  ") but " + first.source + " a " + kind(first) + " one (" + first.env_id +
                  "); the teachers of one student act in one env");
  std::unique_ptr<envs::LocalVectorEnv> env;
  try {
    const int copies = static_cast<int>(config_.distill.num_envs);
    env = first.multi_agent ? first.make_multi_agent_env(copies) : first.make_env(copies);
  } catch (const Error& e) {
    throw Error(kTeacherKey + ": " + e.what());
  }
  const std::vector<GroupPolicy>& groups = first.snapshot.groups;
  for (const SavedPolicy& t : teachers_) {
    if (first.multi_agent)
      check_policy_source(t, env->spec(), kTeacherKey);
    else
      check_policy_source(t, env->single_agent_spec(), kTeacherKey);
    // The student has the first teacher's agent groups; every teacher must act through the same.
    const std::vector<GroupPolicy>& own = t.snapshot.groups;
    for (std::size_t g = 0; g < std::max(own.size(), groups.size()); ++g)
      if (g >= own.size() || g >= groups.size() || own[g].agents != groups[g].agents ||
          own[g].actor_input_dim() != groups[g].actor_input_dim() ||
          !(own[g].weights.action_space == groups[g].weights.action_space))
        throw Error(kTeacherKey + ": " + t.source + " groups its agents differently from " +
                    first.source + " (agent group " + std::to_string(g) +
                    ": agents, actor inputs or action space); one student needs one grouping");
    frozen_.emplace_back();
    for (const GroupPolicy& g : own) frozen_.back().emplace_back(g, kTeacherKey + ": " + t.source);
  }
  torch::manual_seed(config_.seed);  // the students' initial weights
  for (const GroupPolicy& g : groups) {
    students_.push_back(
        ActorCritic(NetworkShape{g.actor_input_dim(), g.critic_input_dim(), g.weights.action_space},
                    config_.distill.student));
    optimizers_.push_back(std::make_unique<FlatAdam>(
        *students_.back(), config_.distill.learning_rate, 0.9, 0.999, config_.distill.adam_eps));
  }
  actor_ = std::make_unique<EnvActor>(std::move(env), config_.seed);
}

PolicySnapshot Distiller::student() const {
  PolicySnapshot s;
  s.version = update_;
  for (std::size_t g = 0; g < students_.size(); ++g) {
    GroupPolicy group = teachers_.front().snapshot.groups[g];
    group.weights = export_weights(*students_[g]);
    s.groups.push_back(std::move(group));
  }
  return s;
}

SavedPolicy Distiller::student_policy() const {
  SavedPolicy p;
  p.env_id = teachers_.front().env_id;
  p.env_options = teachers_.front().env_options;
  p.multi_agent = teachers_.front().multi_agent;
  p.snapshot = student();
  return p;
}

double Distiller::evaluate_student() const {
  const int episodes = static_cast<int>(config_.distill.eval_episodes);
  const SavedPolicy& first = teachers_.front();
  const EvalResult r =
      evaluate(first.multi_agent ? first.make_multi_agent_env(eval_copies(episodes))
                                 : first.make_env(eval_copies(episodes)),
               student(), episodes,
               /*deterministic=*/true, config_.seed + 1000003);
  return r.mean_return();
}

Distiller::GroupStep Distiller::step_group(std::size_t g, const Rollout& r) {
  const DistillSection& d = config_.distill;
  const GroupPolicy& group = teachers_.front().snapshot.groups[g];
  // The raw actor inputs of the group's live agent rows, in rollout order (an agent's padded
  // observation cut to its own width, then its one-hot id if the policy reads one).
  const auto width = static_cast<std::size_t>(group.actor_input_dim());
  std::vector<float> raw;
  std::int64_t B = 0;
  const std::int64_t env_steps = r.env_steps();
  for (std::int64_t i = 0; i < env_steps; ++i)
    for (const int agent : group.agents) {
      const std::int64_t row = i * r.num_agents + agent;
      if (!r.active.empty() && !r.active[static_cast<std::size_t>(row)]) continue;
      raw.resize((static_cast<std::size_t>(B) + 1) * width);
      write_actor_input(group, &r.observations[static_cast<std::size_t>(row * r.obs_dim)], agent,
                        &raw[static_cast<std::size_t>(B) * width]);
      ++B;
    }
  GroupStep out;
  out.rows = B;
  if (B == 0) return out;  // every agent of the group was dead throughout

  // The teachers on the raw inputs, each through its own statistics; the student through the
  // first teacher's.
  std::vector<Distribution> teacher;
  for (auto& t : frozen_) teacher.push_back(t[g].distribution(raw.data(), B));
  std::vector<float> normalized(raw.size());
  group.obs_normalizer.normalize(raw.data(), B, normalized.data());
  const torch::Tensor obs =
      torch::from_blob(normalized.data(), {B, static_cast<std::int64_t>(width)}, torch::kFloat32)
          .clone();
  const std::size_t n = teacher.size();
  auto loss_of = [&](const Distribution& student, const torch::Tensor* index) {
    torch::Tensor total;
    for (const Distribution& t : teacher) {
      const torch::Tensor l =
          distillation_loss(index ? t.rows(*index) : t, student, d.temperature, d.direction).mean();
      total = total.defined() ? total + l : l;
    }
    return total / static_cast<double>(n);
  };

  ActorCritic& net = students_[g];
  FlatAdam& optimizer = *optimizers_[g];
  // A group with fewer live rows than a minibatch (dead agents) still takes one step per epoch.
  const std::int64_t mb = std::min(d.minibatch_size, B);
  std::vector<std::int64_t> order(static_cast<std::size_t>(B));
  std::iota(order.begin(), order.end(), 0);
  for (std::int64_t epoch = 0; epoch < d.epochs; ++epoch) {
    for (std::int64_t i = B - 1; i > 0; --i)
      std::swap(order[static_cast<std::size_t>(i)],
                order[rng_.below(static_cast<std::uint64_t>(i + 1))]);
    const torch::Tensor perm = torch::from_blob(order.data(), {B}, torch::kInt64).clone();
    for (std::int64_t start = 0; start + mb <= B; start += mb) {
      const torch::Tensor index = perm.narrow(0, start, mb);
      const torch::Tensor loss = loss_of(net->distribution(obs.index_select(0, index)), &index);
      optimizer.zero_grad();
      loss.backward();
      optimizer.clip_grad_norm(d.max_grad_norm);
      optimizer.step();
      out.loss_sum += loss.item<double>();
      ++out.steps;
    }
  }
  torch::NoGradGuard no_grad;
  const Distribution s = net->distribution(obs);
  double kl = 0;
  for (const Distribution& t : teacher)
    kl += (d.direction == KlDirection::kForward ? kl_divergence(t, s) : kl_divergence(s, t))
              .mean()
              .item<double>();
  out.kl_mean = kl / static_cast<double>(n);
  return out;
}

DistillStats Distiller::step() {
  const DistillSection& d = config_.distill;
  const std::int64_t updates = config_.num_updates();
  const double progress_remaining =
      1.0 - static_cast<double>(update_) / static_cast<double>(updates);
  DistillStats stats;
  stats.learning_rate = d.learning_rate * (d.anneal_lr ? progress_remaining : 1.0);
  for (const auto& optimizer : optimizers_) optimizer->set_learning_rate(stats.learning_rate);
  switch (d.collect) {
    case DistillCollect::kTeacher:
      stats.teacher_collected = true;
      break;
    case DistillCollect::kStudent:
      stats.teacher_collected = false;
      break;
    case DistillCollect::kMixed: {
      const double done =
          updates > 1 ? static_cast<double>(update_) / static_cast<double>(updates - 1) : 0.0;
      stats.teacher_collected = rng_.uniform() < d.mix_start + (d.mix_end - d.mix_start) * done;
      break;
    }
  }
  const std::size_t n = teachers_.size();
  actor_->set_policy(stats.teacher_collected
                         ? teachers_[static_cast<std::size_t>(update_) % n].snapshot
                         : student());
  Rollout r;
  actor_->collect(static_cast<int>(d.num_steps), r);
  double loss_sum = 0, kl_sum = 0;
  int steps = 0;
  std::int64_t kl_rows = 0;
  for (std::size_t g = 0; g < students_.size(); ++g) {
    const GroupStep s = step_group(g, r);
    loss_sum += s.loss_sum;
    steps += s.steps;
    kl_sum += s.kl_mean * static_cast<double>(s.rows);
    kl_rows += s.rows;
  }
  stats.loss = steps > 0 ? loss_sum / steps : NAN;
  stats.kl = kl_rows > 0 ? kl_sum / static_cast<double>(kl_rows) : NAN;
  ++update_;
  global_step_ += r.env_steps();
  const bool evaluating = update_ == 1 || update_ % d.eval_every == 0 || update_ == updates;
  stats.student_return = evaluating ? evaluate_student() : NAN;
  return stats;
}

std::unique_ptr<Distiller> Distiller::start(const DistillConfig& config,
                                            const std::filesystem::path& run_dir,
                                            DistillOptions options) {
  std::unique_ptr<Distiller> d(new Distiller(config, options));
  d->run_dir_.emplace(RunDir::create(run_dir));
  d->run_dir_->lock();
  write_file_atomic(d->run_dir_->config_path(), d->config_yaml_);
  d->sinks_.add(std::make_unique<CsvMetricSink>(d->run_dir_->metrics_path()));
  if (config.run.tensorboard)
    d->sinks_.add(std::make_unique<TensorBoardSink>(d->run_dir_->root() / "tensorboard"));
  d->log("distilling " + std::to_string(d->teachers_.size()) + " teacher(s) of " +
         d->teachers_.front().env_id + " into " + run_dir.string());
  return d;
}

namespace {
constexpr std::uint32_t kStateVersion = 1;
}

void Distiller::checkpoint() {
  sinks_.flush();
  SectionFile file("checkpoint");
  file.add("config", config_yaml_);
  ByteWriter state;
  state.put(kStateVersion);
  state.put(update_);
  state.put(global_step_);
  state.put(rng_.state());
  for (const auto& optimizer : optimizers_) optimizer->save(state);
  const bool envs = actor_->can_snapshot();
  state.put<std::uint8_t>(envs);
  if (envs) actor_->save(state);
  file.add("distill", state.take());
  const SavedPolicy policy = student_policy();
  policy.add_to(file);
  file.write(run_dir_->checkpoint_path(update_));
  policy.write(run_dir_->policy_path());
  run_dir_->prune_checkpoints(static_cast<int>(config_.run.keep_checkpoints));
}

std::unique_ptr<Distiller> Distiller::resume(RunDir run_dir, DistillOptions options) {
  run_dir.lock();
  DistillConfig config;
  try {
    read_config(config, read_text_file(run_dir.config_path()));
  } catch (const ConfigError& e) {
    throw Error(run_dir.config_path().string() + ": " + e.what());
  }
  const auto checkpoints = run_dir.checkpoints();
  if (checkpoints.empty())
    throw Error("'" + run_dir.root().string() +
                "' has no checkpoint to resume from; start a new run instead");
  const SectionFile file = SectionFile::read(checkpoints.back(), "checkpoint");
  std::unique_ptr<Distiller> d(new Distiller(config, options));
  if (file.get_text("config") != d->config_yaml_)
    throw Error(run_dir.config_path().string() +
                " was changed after the checkpoint was written; restore it or start a new run");
  ByteReader state(file.get("distill"), file.source());
  if (state.get<std::uint32_t>() != kStateVersion)
    throw Error(file.source() + ": unknown distill state version");
  d->update_ = state.get<std::int64_t>();
  d->global_step_ = state.get<std::int64_t>();
  if (d->update_ < 0 || d->update_ > config.num_updates())
    throw Error(file.source() + " has impossible counters (update " + std::to_string(d->update_) +
                ")");
  d->rng_.set_state(state.get<Rng::State>());
  for (const auto& optimizer : d->optimizers_) optimizer->load(state);
  if (state.get<std::uint8_t>() != 0)
    d->actor_->load(state);
  else
    d->actor_->restart(config.seed + static_cast<std::uint64_t>(d->update_));
  if (!state.at_end()) throw Error(file.source() + ": its distill section has trailing bytes");
  d->run_dir_.emplace(std::move(run_dir));
  d->sinks_.add(std::make_unique<CsvMetricSink>(d->run_dir_->metrics_path(), d->update_));
  if (config.run.tensorboard)
    d->sinks_.add(std::make_unique<TensorBoardSink>(d->run_dir_->root() / "tensorboard"));
  d->log("resuming " + d->run_dir_->root().string() + " at update " + std::to_string(d->update_));
  return d;
}

void Distiller::log(const std::string& line) {
  if (options_.verbose) std::cerr << line << "\n";
}

void Distiller::run(std::optional<std::int64_t> max_updates) {
  using clock = std::chrono::steady_clock;
  std::int64_t done_here = 0;
  while (!finished() && (!max_updates || done_here < *max_updates)) {
    const auto t0 = clock::now();
    last_ = step();
    ++done_here;
    MetricRow row;
    row.set("global_step", static_cast<double>(global_step_));
    row.set("update", static_cast<double>(update_));
    row.set("distill/kl", last_.kl);
    row.set("distill/loss", last_.loss);
    row.set("distill/return", last_.student_return);
    row.set("distill/teacher_collected", last_.teacher_collected ? 1.0 : 0.0);
    row.set("charts/learning_rate", last_.learning_rate);
    row.set("time/update_seconds", std::chrono::duration<double>(clock::now() - t0).count());
    sinks_.write(global_step_, row);
    if (update_ % config_.run.checkpoint_every == 0 && !finished()) checkpoint();
  }
  checkpoint();
  if (finished())
    log("done: " + std::to_string(global_step_) + " steps; student saved to " +
        run_dir_->policy_path().string());
}

}  // namespace trustrl::agents
