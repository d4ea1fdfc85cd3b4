#include "envs/vector_env.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <thread>
#include <tuple>

#include "core/error.h"
#include "envs/registry.h"
#include "envs/single_agent_adapter.h"

namespace trustrl::envs {

void StepBuffers::resize(int n, int agents, int obs, int state) {
  num_envs = n;
  num_agents = agents;
  obs_dim = obs;
  state_dim = state;
  const auto rows = static_cast<std::size_t>(n);
  const auto slots = rows * static_cast<std::size_t>(agents);
  observations.assign(slots * static_cast<std::size_t>(obs), 0.0f);
  states.assign(rows * static_cast<std::size_t>(state), 0.0f);
  rewards.assign(slots, 0.0);
  active.assign(slots, 0);
  terminated.assign(rows, 0);
  truncated.assign(rows, 0);
  final_observations.assign(slots * static_cast<std::size_t>(obs), 0.0f);
  final_states.assign(rows * static_cast<std::size_t>(state), 0.0f);
  final_active.assign(slots, 0);
  episode_returns.assign(rows, 0.0);
  agent_episode_returns.assign(slots, 0.0);
  episode_lengths.assign(rows, 0);
}

std::span<const float> StepBuffers::observation(int i, int a) const {
  const auto row = static_cast<std::size_t>(i) * static_cast<std::size_t>(num_agents) +
                   static_cast<std::size_t>(a);
  return std::span(observations)
      .subspan(row * static_cast<std::size_t>(obs_dim), static_cast<std::size_t>(obs_dim));
}

const EnvSpec& VectorEnv::single_agent_spec() const {
  const MultiAgentSpec& s = spec();
  if (!s.single_agent)
    throw Error(s.id + " is a multi-agent env (" + std::to_string(s.num_agents()) +
                " agents); this needs a single-agent env");
  return *s.single_agent;
}

void VectorEnv::save(ByteWriter&) const {
  throw Error(spec().id + ": this vector env cannot be saved in a checkpoint");
}
void VectorEnv::load(ByteReader&) {
  throw Error(spec().id + ": this vector env cannot be restored from a checkpoint");
}
Frame VectorEnv::render(int) const { throw Error(spec().id + ": this vector env cannot render"); }

LocalVectorEnv::LocalVectorEnv(std::vector<std::unique_ptr<MultiAgentEnv>> envs, int num_threads)
    : envs_(std::move(envs)) {
  if (envs_.empty()) throw Error("a vector env needs at least one copy");
  for (const auto& e : envs_)
    if (e->spec().canonical() != envs_.front()->spec().canonical())
      throw Error("a vector env's copies must share one spec");
  spec_ = envs_.front()->spec();
  init_buffers(num_threads);
}

LocalVectorEnv::LocalVectorEnv(std::vector<std::unique_ptr<Env>> envs, int num_threads)
    : plain_(std::move(envs)) {
  if (plain_.empty()) throw Error("a vector env needs at least one copy");
  for (const auto& e : plain_)
    if (e->spec().canonical() != plain_.front()->spec().canonical())
      throw Error("a vector env's copies must share one spec");
  spec_ = one_agent_spec(plain_.front()->spec());
  init_buffers(num_threads);
}

void LocalVectorEnv::init_buffers(int num_threads) {
  if (num_threads < 0)
    throw Error(spec_.id + ": a vector env needs at least 1 thread (or kAutoThreads), got " +
                std::to_string(num_threads));
  const int n = static_cast<int>(copies());
  probing_ = num_threads == kAutoThreads;
  max_threads_ =
      std::max(1, std::min<int>(n, static_cast<int>(std::thread::hardware_concurrency())));
  set_threads(probing_ ? 1 : std::min(num_threads, n));
  buffers_.resize(num_envs(), spec_.num_agents(), static_cast<int>(spec_.max_obs_dim()),
                  static_cast<int>(spec_.state_dim()));
  running_agent_returns_.assign(buffers_.rewards.size(), 0.0);
  running_lengths_.assign(copies(), 0);
}

std::unique_ptr<LocalVectorEnv> LocalVectorEnv::make(const std::string& id,
                                                     const OptionMap& options, int num_envs,
                                                     int num_threads) {
  if (num_envs < 1) throw Error("num_envs must be >= 1, got " + std::to_string(num_envs));
  const EnvRegistry& registry = EnvRegistry::global();
  if (!registry.entry(id).multi_agent()) {
    std::vector<std::unique_ptr<Env>> envs;
    for (int i = 0; i < num_envs; ++i) envs.push_back(registry.make(id, options));
    return std::make_unique<LocalVectorEnv>(std::move(envs), num_threads);
  }
  std::vector<std::unique_ptr<MultiAgentEnv>> envs;
  for (int i = 0; i < num_envs; ++i) envs.push_back(registry.make_multi_agent(id, options));
  return std::make_unique<LocalVectorEnv>(std::move(envs), num_threads);
}

MultiAgentEnv& LocalVectorEnv::env(int i) {
  if (!plain_.empty())
    throw Error(spec_.id + " is a plain env; its copies are plain_env(i), not env(i)");
  return *envs_.at(static_cast<std::size_t>(i));
}

Env& LocalVectorEnv::plain_env(int i) {
  if (plain_.empty()) throw Error(spec_.id + " is a multi-agent env; its copies are env(i)");
  return *plain_.at(static_cast<std::size_t>(i));
}

Frame LocalVectorEnv::render(int i) const {
  const auto k = static_cast<std::size_t>(i);
  return plain_.empty() ? envs_.at(k)->render() : plain_.at(k)->render();
}

std::string LocalVectorEnv::threads_report() const {
  if (probing_) return {};
  std::string line = "env threads: " + std::to_string(num_threads()) + " for " +
                     std::to_string(copies()) + " copies";
  if (probed_median_ns_ < 0) return line + " (set in the config)";
  char took[32];
  std::snprintf(took, sizeof took, "%.1f", static_cast<double>(probed_median_ns_) / 1000.0);
  return line + " (auto: a batch took " + took + " us on one thread, " +
         std::to_string(kMinThreadShare.count()) + " us per thread at least, " +
         std::to_string(max_threads_) + " at most)";
}

std::int64_t LocalVectorEnv::unstable_steps() const {
  std::int64_t total = 0;
  for (const auto& e : plain_) total += e->unstable_steps();
  for (const auto& e : envs_) total += e->unstable_steps();
  return total;
}

MultiAgentView LocalVectorEnv::view(std::size_t i) {
  const auto agents = static_cast<std::size_t>(buffers_.num_agents);
  const auto obs = agents * static_cast<std::size_t>(buffers_.obs_dim);
  const auto state = static_cast<std::size_t>(buffers_.state_dim);
  return {std::span(buffers_.observations).subspan(i * obs, obs),
          std::span(buffers_.states).subspan(i * state, state),
          std::span(buffers_.active).subspan(i * agents, agents)};
}

void LocalVectorEnv::for_each_chunk(const std::function<void(std::size_t, std::size_t)>& body) {
  if (pool_->num_threads() == 1) {
    body(0, copies());
    return;
  }
  // Each thread steps its own copies batch after batch and takes the others' leftovers when done
  // (see core/balanced_ranges.h).
  ranges_->reset();
  pool_->run_on_threads([&](int home) {
    for (auto [begin, end] = ranges_->next(home); begin < end;
         std::tie(begin, end) = ranges_->next(home))
      body(begin, end);
  });
}

void LocalVectorEnv::set_threads(int threads) {
  pool_ = std::make_unique<ThreadPool>(threads);
  ranges_ = std::make_unique<BalancedRanges>(copies(), threads);
}

void LocalVectorEnv::reset(std::uint64_t seed) {
  const auto agents = static_cast<std::size_t>(buffers_.num_agents);
  for_each_chunk([&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      if (plain_.empty()) {
        envs_[i]->reset(seed + i, view(i));
      } else {
        plain_[i]->reset(seed + i, view(i).observations);
        buffers_.active[i] = 1;
      }
      std::fill_n(buffers_.rewards.begin() + static_cast<std::ptrdiff_t>(i * agents), agents, 0.0);
      std::fill_n(running_agent_returns_.begin() + static_cast<std::ptrdiff_t>(i * agents), agents,
                  0.0);
      buffers_.terminated[i] = buffers_.truncated[i] = 0;
      running_lengths_[i] = 0;
    }
  });
}

void LocalVectorEnv::step_range(std::size_t begin, std::size_t end, const ActionBatch& actions) {
  const auto agents = static_cast<std::size_t>(buffers_.num_agents);
  const auto act = agents * static_cast<std::size_t>(spec().max_action_dim());
  const auto obs = agents * static_cast<std::size_t>(buffers_.obs_dim);
  const auto state = static_cast<std::size_t>(buffers_.state_dim);
  for (std::size_t i = begin; i < end; ++i) {
    JointAction a;
    if (!actions.discrete.empty()) a.discrete = actions.discrete.subspan(i * act, act);
    if (!actions.continuous.empty()) a.continuous = actions.continuous.subspan(i * act, act);
    const MultiAgentView out = view(i);
    const auto rewards = std::span(buffers_.rewards).subspan(i * agents, agents);
    // step() checked every copy's action and the views are this env's own buffers.
    const MultiAgentStepResult r = envs_[i]->step_checked(a, out, rewards);
    buffers_.terminated[i] = r.terminated;
    buffers_.truncated[i] = r.truncated;
    double* running = &running_agent_returns_[i * agents];
    for (std::size_t k = 0; k < agents; ++k) running[k] += rewards[k];
    running_lengths_[i] += 1;
    if (r.terminated || r.truncated) {
      std::memcpy(&buffers_.final_observations[i * obs], out.observations.data(),
                  obs * sizeof(float));
      if (state > 0)
        std::memcpy(&buffers_.final_states[i * state], out.state.data(), state * sizeof(float));
      std::memcpy(&buffers_.final_active[i * agents], out.active.data(), agents);
      double team = 0.0;
      for (std::size_t k = 0; k < agents; ++k) {
        buffers_.agent_episode_returns[i * agents + k] = running[k];
        team += running[k];
        running[k] = 0.0;
      }
      buffers_.episode_returns[i] = team;
      buffers_.episode_lengths[i] = running_lengths_[i];
      running_lengths_[i] = 0;
      envs_[i]->reset(std::nullopt, out);
    }
  }
}

void LocalVectorEnv::step_plain_range(std::size_t begin, std::size_t end,
                                      const ActionBatch& actions) {
  const auto act = static_cast<std::size_t>(spec_.max_action_dim());
  const auto obs = static_cast<std::size_t>(buffers_.obs_dim);
  for (std::size_t i = begin; i < end; ++i) {
    Action a;
    if (!actions.discrete.empty()) a.discrete = actions.discrete.subspan(i * act, act);
    if (!actions.continuous.empty()) a.continuous = actions.continuous.subspan(i * act, act);
    const std::span<float> out = std::span(buffers_.observations).subspan(i * obs, obs);
    // step() checked every copy's action.
    const StepResult r = plain_[i]->step_checked(a, out);
    buffers_.rewards[i] = r.reward;
    buffers_.terminated[i] = r.terminated;
    buffers_.truncated[i] = r.truncated;
    running_agent_returns_[i] += r.reward;
    running_lengths_[i] += 1;
    if (r.terminated || r.truncated) {
      std::memcpy(&buffers_.final_observations[i * obs], out.data(), obs * sizeof(float));
      buffers_.final_active[i] = 1;  // one agent: the episode's flags say it ended
      buffers_.agent_episode_returns[i] = buffers_.episode_returns[i] = running_agent_returns_[i];
      buffers_.episode_lengths[i] = running_lengths_[i];
      running_agent_returns_[i] = 0.0;
      running_lengths_[i] = 0;
      plain_[i]->reset(std::nullopt, out);
    }
  }
}

void LocalVectorEnv::check_actions(const ActionBatch& actions) const {
  const MultiAgentSpec& s = spec();
  const auto expected = static_cast<std::size_t>(num_envs()) *
                        static_cast<std::size_t>(s.num_agents()) *
                        static_cast<std::size_t>(s.max_action_dim());
  auto check = [&](std::size_t got, const char* kind) {
    if (got != expected)
      throw Error(s.id + ": expected " + std::to_string(expected) + " " + kind +
                  " action values ([" + std::to_string(num_envs()) + " copies, " +
                  std::to_string(s.num_agents()) + " agents, " +
                  std::to_string(s.max_action_dim()) + " per agent]), got " + std::to_string(got));
  };
  if (s.has_discrete_actions()) check(actions.discrete.size(), "discrete");
  if (s.has_continuous_actions()) check(actions.continuous.size(), "continuous");
  const auto act =
      static_cast<std::size_t>(s.num_agents()) * static_cast<std::size_t>(s.max_action_dim());
  for (std::size_t i = 0; i < copies(); ++i) {
    std::span<const std::int64_t> discrete;
    std::span<const float> continuous;
    if (!actions.discrete.empty()) discrete = actions.discrete.subspan(i * act, act);
    if (!actions.continuous.empty()) continuous = actions.continuous.subspan(i * act, act);
    try {
      if (plain_.empty())
        envs_[i]->check_action({discrete, continuous});
      else
        plain_[i]->check_action({discrete, continuous});
    } catch (const Error& e) {
      throw Error("copy " + std::to_string(i) + ": " + e.what());
    }
  }
}

void LocalVectorEnv::step(const ActionBatch& actions) {
  // Every copy's action is checked before any copy steps, so a refused batch leaves all copies
  // as they were; the steps then skip the check.
  check_actions(actions);
  const auto start =
      probing_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
  if (plain_.empty())
    for_each_chunk([&](std::size_t begin, std::size_t end) { step_range(begin, end, actions); });
  else
    for_each_chunk(
        [&](std::size_t begin, std::size_t end) { step_plain_range(begin, end, actions); });
  if (probing_)
    probe(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                               start)
              .count());
}

void LocalVectorEnv::probe(std::int64_t batch_ns) {
  probe_ns_.push_back(batch_ns);
  if (static_cast<int>(probe_ns_.size()) < kProbeSteps) return;
  // The median: a batch the OS preempted, or one full of auto-resets, does not decide alone.
  std::nth_element(probe_ns_.begin(), probe_ns_.begin() + kProbeSteps / 2, probe_ns_.end());
  const std::int64_t median = probe_ns_[kProbeSteps / 2];
  probed_median_ns_ = median;
  const auto share = std::chrono::duration_cast<std::chrono::nanoseconds>(kMinThreadShare).count();
  const int threads = static_cast<int>(std::clamp<std::int64_t>(median / share, 1, max_threads_));
  if (threads > 1) set_threads(threads);
  probing_ = false;
  probe_ns_.clear();
  probe_ns_.shrink_to_fit();
}

bool LocalVectorEnv::can_snapshot() const {
  auto can = [](const auto& e) { return e->can_snapshot(); };
  return std::all_of(envs_.begin(), envs_.end(), can) &&
         std::all_of(plain_.begin(), plain_.end(), can);
}

void LocalVectorEnv::save(ByteWriter& out) const {
  if (!can_snapshot()) VectorEnv::save(out);
  // A plain copy's bytes are the plain env's own, as the one-agent adapter writes them.
  out.put<std::uint64_t>(copies());
  for (const auto& e : envs_) e->save(out);
  for (const auto& e : plain_) e->save(out);
  out.put_vector(running_agent_returns_);
  out.put_vector(running_lengths_);
}

void LocalVectorEnv::load(ByteReader& in) {
  if (in.get<std::uint64_t>() != copies())
    throw Error(spec().id + ": the saved vector env has a different number of copies");
  for (std::size_t i = 0; i < envs_.size(); ++i) envs_[i]->load(in, view(i));
  for (std::size_t i = 0; i < plain_.size(); ++i) {
    plain_[i]->load(in, view(i).observations);
    buffers_.active[i] = 1;
  }
  auto returns = in.get_vector<double>();
  auto lengths = in.get_vector<std::int32_t>();
  if (returns.size() != running_agent_returns_.size() || lengths.size() != copies())
    throw Error(spec().id + ": the saved vector env is corrupt");
  running_agent_returns_ = std::move(returns);
  running_lengths_ = std::move(lengths);
}

}  // namespace trustrl::envs
