#include "envs/vector_env.h"

#include <algorithm>
#include <cstring>

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
    : envs_(std::move(envs)),
      pool_(std::max(1, std::min<int>(num_threads, static_cast<int>(envs_.size())))) {
  if (envs_.empty()) throw Error("a vector env needs at least one copy");
  for (const auto& e : envs_)
    if (e->spec().canonical() != envs_.front()->spec().canonical())
      throw Error("a vector env's copies must share one spec");
  const MultiAgentSpec& s = spec();
  buffers_.resize(num_envs(), s.num_agents(), static_cast<int>(s.max_obs_dim()),
                  static_cast<int>(s.state_dim()));
  running_agent_returns_.assign(buffers_.rewards.size(), 0.0);
  running_lengths_.assign(envs_.size(), 0);
}

namespace {
std::vector<std::unique_ptr<MultiAgentEnv>> one_agent_each(std::vector<std::unique_ptr<Env>> envs) {
  std::vector<std::unique_ptr<MultiAgentEnv>> out;
  for (auto& e : envs) out.push_back(as_multi_agent(std::move(e)));
  return out;
}
}  // namespace

LocalVectorEnv::LocalVectorEnv(std::vector<std::unique_ptr<Env>> envs, int num_threads)
    : LocalVectorEnv(one_agent_each(std::move(envs)), num_threads) {}

std::unique_ptr<LocalVectorEnv> LocalVectorEnv::make(const std::string& id,
                                                     const OptionMap& options, int num_envs,
                                                     int num_threads) {
  if (num_envs < 1) throw Error("num_envs must be >= 1, got " + std::to_string(num_envs));
  std::vector<std::unique_ptr<MultiAgentEnv>> envs;
  for (int i = 0; i < num_envs; ++i) envs.push_back(make_multi_agent(id, options));
  return std::make_unique<LocalVectorEnv>(std::move(envs), num_threads);
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
  const std::size_t n = envs_.size();
  const auto chunks = static_cast<std::size_t>(pool_.num_threads());
  pool_.parallel_for(chunks, [&](std::size_t c) {
    const std::size_t begin = n * c / chunks, end = n * (c + 1) / chunks;
    if (begin < end) body(begin, end);
  });
}

void LocalVectorEnv::reset(std::uint64_t seed) {
  const auto agents = static_cast<std::size_t>(buffers_.num_agents);
  for_each_chunk([&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      envs_[i]->reset(seed + i, view(i));
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

void LocalVectorEnv::step(const ActionBatch& actions) {
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
  // Every copy's joint action is checked before any copy steps, so a refused batch leaves all
  // copies as they were.
  const auto act =
      static_cast<std::size_t>(s.num_agents()) * static_cast<std::size_t>(s.max_action_dim());
  for (std::size_t i = 0; i < envs_.size(); ++i) {
    JointAction a;
    if (!actions.discrete.empty()) a.discrete = actions.discrete.subspan(i * act, act);
    if (!actions.continuous.empty()) a.continuous = actions.continuous.subspan(i * act, act);
    try {
      envs_[i]->check_action(a);
    } catch (const Error& e) {
      throw Error("copy " + std::to_string(i) + ": " + e.what());
    }
  }
  for_each_chunk([&](std::size_t begin, std::size_t end) { step_range(begin, end, actions); });
}

bool LocalVectorEnv::can_snapshot() const {
  return std::all_of(envs_.begin(), envs_.end(), [](const auto& e) { return e->can_snapshot(); });
}

void LocalVectorEnv::save(ByteWriter& out) const {
  if (!can_snapshot()) VectorEnv::save(out);
  out.put<std::uint64_t>(envs_.size());
  for (const auto& e : envs_) e->save(out);
  out.put_vector(running_agent_returns_);
  out.put_vector(running_lengths_);
}

void LocalVectorEnv::load(ByteReader& in) {
  if (in.get<std::uint64_t>() != envs_.size())
    throw Error(spec().id + ": the saved vector env has a different number of copies");
  for (std::size_t i = 0; i < envs_.size(); ++i) envs_[i]->load(in, view(i));
  auto returns = in.get_vector<double>();
  auto lengths = in.get_vector<std::int32_t>();
  if (returns.size() != running_agent_returns_.size() || lengths.size() != envs_.size())
    throw Error(spec().id + ": the saved vector env is corrupt");
  running_agent_returns_ = std::move(returns);
  running_lengths_ = std::move(lengths);
}

}  // namespace trustrl::envs
