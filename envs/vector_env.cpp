#include "envs/vector_env.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "envs/registry.h"

namespace trustrl::envs {

void StepBuffers::resize(int n, int obs) {
  num_envs = n;
  obs_dim = obs;
  const auto rows = static_cast<std::size_t>(n);
  observations.assign(rows * static_cast<std::size_t>(obs), 0.0f);
  rewards.assign(rows, 0.0);
  terminated.assign(rows, 0);
  truncated.assign(rows, 0);
  final_observations.assign(rows * static_cast<std::size_t>(obs), 0.0f);
  episode_returns.assign(rows, 0.0);
  episode_lengths.assign(rows, 0);
}

void VectorEnv::save(ByteWriter&) const {
  throw Error(spec().id + ": this vector env cannot be saved in a checkpoint");
}
void VectorEnv::load(ByteReader&) {
  throw Error(spec().id + ": this vector env cannot be restored from a checkpoint");
}
Frame VectorEnv::render(int) const { throw Error(spec().id + ": this vector env cannot render"); }

LocalVectorEnv::LocalVectorEnv(std::vector<std::unique_ptr<Env>> envs, int num_threads)
    : envs_(std::move(envs)),
      pool_(std::max(1, std::min<int>(num_threads, static_cast<int>(envs_.size())))) {
  if (envs_.empty()) throw Error("a vector env needs at least one copy");
  for (const auto& e : envs_)
    if (e->spec().canonical() != envs_.front()->spec().canonical())
      throw Error("a vector env's copies must share one spec");
  buffers_.resize(num_envs(), static_cast<int>(envs_.front()->obs_dim()));
  running_returns_.assign(envs_.size(), 0.0);
  running_lengths_.assign(envs_.size(), 0);
}

std::unique_ptr<LocalVectorEnv> LocalVectorEnv::make(const std::string& id,
                                                     const OptionMap& options, int num_envs,
                                                     int num_threads) {
  if (num_envs < 1) throw Error("num_envs must be >= 1, got " + std::to_string(num_envs));
  std::vector<std::unique_ptr<Env>> envs;
  for (int i = 0; i < num_envs; ++i) envs.push_back(envs::make(id, options));
  return std::make_unique<LocalVectorEnv>(std::move(envs), num_threads);
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
  const auto obs_dim = static_cast<std::size_t>(buffers_.obs_dim);
  for_each_chunk([&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      envs_[i]->reset(seed + i, std::span(buffers_.observations).subspan(i * obs_dim, obs_dim));
      buffers_.rewards[i] = 0.0;
      buffers_.terminated[i] = buffers_.truncated[i] = 0;
      running_returns_[i] = 0.0;
      running_lengths_[i] = 0;
    }
  });
}

void LocalVectorEnv::step_range(std::size_t begin, std::size_t end, const ActionBatch& actions) {
  const auto obs_dim = static_cast<std::size_t>(buffers_.obs_dim);
  const auto act_dim = static_cast<std::size_t>(envs_.front()->action_dim());
  for (std::size_t i = begin; i < end; ++i) {
    Action a;
    if (!actions.discrete.empty()) a.discrete = actions.discrete.subspan(i * act_dim, act_dim);
    if (!actions.continuous.empty())
      a.continuous = actions.continuous.subspan(i * act_dim, act_dim);
    const std::span<float> obs = std::span(buffers_.observations).subspan(i * obs_dim, obs_dim);
    const StepResult r = envs_[i]->step(a, obs);
    buffers_.rewards[i] = r.reward;
    buffers_.terminated[i] = r.terminated;
    buffers_.truncated[i] = r.truncated;
    running_returns_[i] += r.reward;
    running_lengths_[i] += 1;
    if (r.terminated || r.truncated) {
      std::memcpy(&buffers_.final_observations[i * obs_dim], obs.data(), obs_dim * sizeof(float));
      buffers_.episode_returns[i] = running_returns_[i];
      buffers_.episode_lengths[i] = running_lengths_[i];
      running_returns_[i] = 0.0;
      running_lengths_[i] = 0;
      envs_[i]->reset(std::nullopt, obs);
    }
  }
}

void LocalVectorEnv::step(const ActionBatch& actions) {
  const auto expected = static_cast<std::size_t>(num_envs() * envs_.front()->action_dim());
  const bool discrete = spec().action_space.is_discrete();
  const std::size_t got = discrete ? actions.discrete.size() : actions.continuous.size();
  if (got != expected)
    throw Error(spec().id + ": expected " + std::to_string(expected) + " " +
                (discrete ? "discrete" : "continuous") + " action values for " +
                std::to_string(num_envs()) + " copies, got " + std::to_string(got));
  for_each_chunk([&](std::size_t begin, std::size_t end) { step_range(begin, end, actions); });
}

bool LocalVectorEnv::can_snapshot() const {
  return std::all_of(envs_.begin(), envs_.end(), [](const auto& e) { return e->can_snapshot(); });
}

void LocalVectorEnv::save(ByteWriter& out) const {
  if (!can_snapshot()) VectorEnv::save(out);
  out.put<std::uint64_t>(envs_.size());
  for (const auto& e : envs_) e->save(out);
  out.put_vector(running_returns_);
  out.put_vector(running_lengths_);
}

void LocalVectorEnv::load(ByteReader& in) {
  if (in.get<std::uint64_t>() != envs_.size())
    throw Error(spec().id + ": the saved vector env has a different number of copies");
  const auto obs_dim = static_cast<std::size_t>(buffers_.obs_dim);
  for (std::size_t i = 0; i < envs_.size(); ++i)
    envs_[i]->load(in, std::span(buffers_.observations).subspan(i * obs_dim, obs_dim));
  running_returns_ = in.get_vector<double>();
  running_lengths_ = in.get_vector<std::int32_t>();
  if (running_returns_.size() != envs_.size() || running_lengths_.size() != envs_.size())
    throw Error(spec().id + ": the saved vector env is corrupt");
}

}  // namespace trustrl::envs
