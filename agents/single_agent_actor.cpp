#include "agents/single_agent_actor.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace trustrl::agents {

SingleAgentActor::SingleAgentActor(std::unique_ptr<envs::VectorEnv> env, std::uint64_t seed)
    : env_(std::move(env)), rng_(Rng::derive(seed, 0xAC7)) {
  env_->reset(seed);
}

void SingleAgentActor::set_policy(const PolicySnapshot& snapshot) {
  if (snapshot.groups.size() != 1 || snapshot.groups.front().agent_id_input)
    throw Error("a single-agent actor needs a policy of one group without agent ids");
  check_policy_fits(snapshot, env_->single_agent_spec());
  group_ = snapshot.groups.front();
  version_ = snapshot.version;
  policy_ = PolicyInference(group_.weights);
}

// V(s) in reward units for raw observations (normalized for the critic, denormalized after).
void SingleAgentActor::values(const float* raw_obs, int rows, float* out) {
  const auto size =
      static_cast<std::size_t>(rows) * static_cast<std::size_t>(group_.critic_input_dim());
  final_rows_.resize(std::max(final_rows_.size(), size));
  group_.critic_normalizer.normalize(raw_obs, rows, final_rows_.data());
  policy_.values(final_rows_.data(), rows, out);
  for (int i = 0; i < rows; ++i) out[i] = group_.value_normalizer.denormalize(out[i]);
}

void SingleAgentActor::collect(int steps, Rollout& out) {
  const envs::EnvSpec& spec = env_->single_agent_spec();
  const int n = env_->num_envs();
  const int obs_dim = static_cast<int>(spec.observation_space.flat_dim());
  const int act_dim = static_cast<int>(spec.action_space.flat_dim());
  const bool discrete = spec.action_space.is_discrete();
  if (policy_.weights().actor.empty()) throw Error("actor has no policy yet");
  if (policy_.obs_dim() != obs_dim)
    throw Error("the policy expects " + std::to_string(policy_.obs_dim()) +
                " observation values, the env gives " + std::to_string(obs_dim));
  out.allocate(steps, n, 1, obs_dim, act_dim, discrete);
  out.policy_version = version_;
  const auto obs_size = static_cast<std::size_t>(n) * static_cast<std::size_t>(obs_dim);
  const auto act_size = static_cast<std::size_t>(n) * static_cast<std::size_t>(act_dim);
  normalized_.resize(obs_size);
  const envs::Space& box = spec.action_space;

  const PolicyWeights& w = policy_.weights();
  for (int t = 0; t < steps; ++t) {
    const auto row = static_cast<std::size_t>(t) * static_cast<std::size_t>(n);
    const envs::StepBuffers& b = env_->buffers();
    // gSDE's noise is drawn at the start of every rollout and, if asked, every few steps (SB3).
    if (w.gsde && (t == 0 || (w.gsde_sample_freq > 0 && t % w.gsde_sample_freq == 0)))
      policy_.draw_exploration(n, rng_, exploration_);
    std::copy(b.observations.begin(), b.observations.end(),
              out.observations.begin() + static_cast<std::ptrdiff_t>(row * obs_dim));
    group_.obs_normalizer.normalize(b.observations.data(), n, normalized_.data());
    policy_.act(normalized_.data(), n, /*deterministic=*/false, rng_, act_,
                w.gsde ? exploration_.data() : nullptr);
    values(b.observations.data(), n, out.values.data() + row);
    std::copy(act_.log_probs.begin(), act_.log_probs.end(),
              out.log_probs.begin() + static_cast<std::ptrdiff_t>(row));

    envs::ActionBatch batch;
    if (discrete) {
      std::copy(act_.discrete_actions.begin(), act_.discrete_actions.end(),
                out.discrete_actions.begin() + static_cast<std::ptrdiff_t>(row * act_dim));
      batch.discrete = act_.discrete_actions;
    } else {
      std::copy(act_.continuous_actions.begin(), act_.continuous_actions.end(),
                out.continuous_actions.begin() + static_cast<std::ptrdiff_t>(row * act_dim));
      // Clip only at the env boundary; the rollout keeps the unclipped sample (PPO_CHECKLIST 12).
      clipped_.resize(act_size);
      for (std::size_t k = 0; k < act_size; ++k) {
        const std::size_t c = k % static_cast<std::size_t>(act_dim);
        clipped_[k] = std::clamp(act_.continuous_actions[k], box.low[c], box.high[c]);
      }
      batch.continuous = clipped_;
    }
    env_->step(batch);

    const envs::StepBuffers& s = env_->buffers();
    final_index_.clear();
    for (int i = 0; i < n; ++i) {
      const auto k = static_cast<std::size_t>(i);
      out.rewards[row + k] = static_cast<float>(s.rewards[k]);
      out.terminated[row + k] = s.terminated[k];
      out.truncated[row + k] = s.truncated[k];
      if (s.done(i))
        out.episodes.push_back({s.episode_returns[k], s.episode_lengths[k], s.episode_returns[k]});
      if (s.truncated[k] && !s.terminated[k]) final_index_.push_back(i);
    }
    // V(final observation) of cut episodes, in one batch.
    if (!final_index_.empty()) {
      const auto m = final_index_.size();
      std::vector<float>& rows = clipped_;  // free until the next step
      rows.resize(m * static_cast<std::size_t>(obs_dim));
      for (std::size_t j = 0; j < m; ++j)
        std::memcpy(&rows[j * static_cast<std::size_t>(obs_dim)],
                    &s.final_observations[static_cast<std::size_t>(final_index_[j]) *
                                          static_cast<std::size_t>(obs_dim)],
                    sizeof(float) * static_cast<std::size_t>(obs_dim));
      final_values_.resize(m);
      values(rows.data(), static_cast<int>(m), final_values_.data());
      for (std::size_t j = 0; j < m; ++j)
        out.final_values[row + static_cast<std::size_t>(final_index_[j])] = final_values_[j];
    }
    env_steps_ += n;
  }
  values(env_->buffers().observations.data(), n, out.bootstrap_values.data());
}

void SingleAgentActor::save(ByteWriter& out) const {
  env_->save(out);
  out.put(rng_.state());
  out.put(env_steps_);
}

void SingleAgentActor::load(ByteReader& in) {
  env_->load(in);
  rng_.set_state(in.get<Rng::State>());
  env_steps_ = in.get<std::int64_t>();
}

void SingleAgentActor::restart(std::uint64_t seed) {
  env_->reset(seed);
  rng_.reseed(Rng::derive(seed, 0xAC7));
}

}  // namespace trustrl::agents
