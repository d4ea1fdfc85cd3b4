#include "agents/rollout_columns.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace trustrl::agents {

namespace {

// Copies rows [first, first + count) of the copy axis of a [outer, n, inner] buffer into `out`
// at copy offset `at` of a [outer, total, inner] buffer.
template <class T>
void copy_block(const std::vector<T>& in, std::size_t outer, std::size_t n, std::size_t inner,
                std::size_t first, std::size_t count, std::vector<T>& out, std::size_t total,
                std::size_t at) {
  if (in.empty()) return;
  for (std::size_t o = 0; o < outer; ++o)
    std::copy_n(in.begin() + static_cast<std::ptrdiff_t>((o * n + first) * inner), count * inner,
                out.begin() + static_cast<std::ptrdiff_t>((o * total + at) * inner));
}

bool done_at(const Rollout& r, std::size_t t, std::size_t i) {
  const std::size_t k = t * static_cast<std::size_t>(r.num_envs) + i;
  return r.terminated[k] != 0 || r.truncated[k] != 0;
}

// Index of each copy's episode records, per (step, copy) in row-major order.
std::vector<std::vector<std::size_t>> episodes_by_copy(const Rollout& r) {
  std::vector<std::vector<std::size_t>> by_copy(static_cast<std::size_t>(r.num_envs));
  std::size_t k = 0;
  for (std::size_t t = 0; t < static_cast<std::size_t>(r.num_steps); ++t)
    for (std::size_t i = 0; i < static_cast<std::size_t>(r.num_envs); ++i)
      if (done_at(r, t, i)) by_copy[i].push_back(k++);
  return by_copy;
}

void check_same(const char* field, std::int64_t a, std::int64_t b) {
  if (a != b)
    throw Error(std::string("cannot join rollouts with different ") + field + " (" +
                std::to_string(a) + " and " + std::to_string(b) + ")");
}

}  // namespace

bool episodes_match_flags(const Rollout& r) {
  std::size_t ended = 0;
  for (std::size_t k = 0; k < r.terminated.size() && k < r.truncated.size(); ++k)
    ended += (r.terminated[k] != 0 || r.truncated[k] != 0) ? 1 : 0;
  return ended == r.episodes.size();
}

Rollout slice_columns(const Rollout& r, int first, int count) {
  if (first < 0 || count < 1 || first + count > r.num_envs)
    throw Error("copies [" + std::to_string(first) + ", " + std::to_string(first + count) +
                ") are outside a rollout of " + std::to_string(r.num_envs) + " copies");
  if (first == 0 && count == r.num_envs) return r;
  Rollout out;
  out.num_steps = r.num_steps;
  out.num_envs = count;
  out.num_agents = r.num_agents;
  out.obs_dim = r.obs_dim;
  out.action_dim = r.action_dim;
  out.critic_dim = r.critic_dim;
  out.policy_version = r.policy_version;
  const auto T = static_cast<std::size_t>(r.num_steps), N = static_cast<std::size_t>(r.num_envs),
             A = static_cast<std::size_t>(r.num_agents), f = static_cast<std::size_t>(first),
             c = static_cast<std::size_t>(count);
  auto take = [&](const auto& in, std::size_t outer, std::size_t inner, auto& dst) {
    dst.assign(in.empty() ? 0 : outer * c * inner, {});
    copy_block(in, outer, N, inner, f, c, dst, c, 0);
  };
  take(r.observations, T, A * static_cast<std::size_t>(r.obs_dim), out.observations);
  take(r.critic_inputs, T, A * static_cast<std::size_t>(r.critic_dim), out.critic_inputs);
  take(r.discrete_actions, T, A * static_cast<std::size_t>(r.action_dim), out.discrete_actions);
  take(r.continuous_actions, T, A * static_cast<std::size_t>(r.action_dim), out.continuous_actions);
  take(r.log_probs, T, A, out.log_probs);
  take(r.values, T, A, out.values);
  take(r.rewards, T, A, out.rewards);
  take(r.terminated, T, 1, out.terminated);
  take(r.truncated, T, 1, out.truncated);
  take(r.final_values, T, A, out.final_values);
  take(r.bootstrap_values, 1, A, out.bootstrap_values);
  take(r.active, T, A, out.active);
  if (episodes_match_flags(r)) {
    const auto by_copy = episodes_by_copy(r);
    std::vector<std::size_t> next(c, 0);
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t i = 0; i < c; ++i)
        if (done_at(r, t, f + i)) out.episodes.push_back(r.episodes[by_copy[f + i][next[i]++]]);
  }
  return out;
}

Rollout merge_columns(const std::vector<const Rollout*>& parts) {
  if (parts.empty()) throw Error("no rollouts to join");
  const Rollout& a = *parts.front();
  if (parts.size() == 1) return a;
  Rollout out;
  out.num_steps = a.num_steps;
  out.num_agents = a.num_agents;
  out.obs_dim = a.obs_dim;
  out.action_dim = a.action_dim;
  out.critic_dim = a.critic_dim;
  out.policy_version = a.policy_version;
  int total = 0;
  for (const Rollout* p : parts) {
    check_same("steps", p->num_steps, a.num_steps);
    check_same("agent counts", p->num_agents, a.num_agents);
    check_same("observation widths", p->obs_dim, a.obs_dim);
    check_same("action widths", p->action_dim, a.action_dim);
    check_same("critic input widths", p->critic_dim, a.critic_dim);
    check_same("action kinds", p->discrete_actions.empty(), a.discrete_actions.empty());
    check_same("action kinds", p->continuous_actions.empty(), a.continuous_actions.empty());
    check_same("active masks", p->active.empty(), a.active.empty());
    total += p->num_envs;
    out.policy_version = std::min(out.policy_version, p->policy_version);
  }
  out.num_envs = total;
  const auto T = static_cast<std::size_t>(a.num_steps), A = static_cast<std::size_t>(a.num_agents),
             n = static_cast<std::size_t>(total);
  auto size_like = [&](const auto& in, std::size_t outer, std::size_t inner, auto& dst) {
    dst.assign(in.empty() ? 0 : outer * n * inner, {});
  };
  size_like(a.observations, T, A * static_cast<std::size_t>(a.obs_dim), out.observations);
  size_like(a.critic_inputs, T, A * static_cast<std::size_t>(a.critic_dim), out.critic_inputs);
  size_like(a.discrete_actions, T, A * static_cast<std::size_t>(a.action_dim),
            out.discrete_actions);
  size_like(a.continuous_actions, T, A * static_cast<std::size_t>(a.action_dim),
            out.continuous_actions);
  size_like(a.log_probs, T, A, out.log_probs);
  size_like(a.values, T, A, out.values);
  size_like(a.rewards, T, A, out.rewards);
  size_like(a.terminated, T, 1, out.terminated);
  size_like(a.truncated, T, 1, out.truncated);
  size_like(a.final_values, T, A, out.final_values);
  size_like(a.bootstrap_values, 1, A, out.bootstrap_values);
  size_like(a.active, T, A, out.active);
  std::size_t at = 0;
  bool episodes_ok = true;
  for (const Rollout* p : parts) {
    const auto pn = static_cast<std::size_t>(p->num_envs);
    auto put = [&](const auto& in, std::size_t outer, std::size_t inner, auto& dst) {
      copy_block(in, outer, pn, inner, 0, pn, dst, n, at);
    };
    put(p->observations, T, A * static_cast<std::size_t>(a.obs_dim), out.observations);
    put(p->critic_inputs, T, A * static_cast<std::size_t>(a.critic_dim), out.critic_inputs);
    put(p->discrete_actions, T, A * static_cast<std::size_t>(a.action_dim), out.discrete_actions);
    put(p->continuous_actions, T, A * static_cast<std::size_t>(a.action_dim),
        out.continuous_actions);
    put(p->log_probs, T, A, out.log_probs);
    put(p->values, T, A, out.values);
    put(p->rewards, T, A, out.rewards);
    put(p->terminated, T, 1, out.terminated);
    put(p->truncated, T, 1, out.truncated);
    put(p->final_values, T, A, out.final_values);
    put(p->bootstrap_values, 1, A, out.bootstrap_values);
    put(p->active, T, A, out.active);
    at += pn;
    episodes_ok = episodes_ok && episodes_match_flags(*p);
  }
  if (episodes_ok) {
    // Episodes in the row-major order of the joined flags.
    std::vector<std::vector<std::vector<std::size_t>>> by_copy;
    for (const Rollout* p : parts) by_copy.push_back(episodes_by_copy(*p));
    std::vector<std::vector<std::size_t>> next;
    for (const Rollout* p : parts) next.emplace_back(static_cast<std::size_t>(p->num_envs), 0);
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t j = 0; j < parts.size(); ++j)
        for (std::size_t i = 0; i < static_cast<std::size_t>(parts[j]->num_envs); ++i)
          if (done_at(*parts[j], t, i))
            out.episodes.push_back(parts[j]->episodes[by_copy[j][i][next[j][i]++]]);
  } else {
    for (const Rollout* p : parts)
      out.episodes.insert(out.episodes.end(), p->episodes.begin(), p->episodes.end());
  }
  return out;
}

void save_rollout(const Rollout& r, ByteWriter& out) {
  out.put(r.num_steps);
  out.put(r.num_envs);
  out.put(r.num_agents);
  out.put(r.obs_dim);
  out.put(r.action_dim);
  out.put(r.critic_dim);
  out.put(r.policy_version);
  out.put_vector(r.observations);
  out.put_vector(r.critic_inputs);
  out.put_vector(r.discrete_actions);
  out.put_vector(r.continuous_actions);
  out.put_vector(r.log_probs);
  out.put_vector(r.values);
  out.put_vector(r.rewards);
  out.put_vector(r.terminated);
  out.put_vector(r.truncated);
  out.put_vector(r.final_values);
  out.put_vector(r.bootstrap_values);
  out.put_vector(r.active);
  out.put_vector(r.episodes);
}

Rollout load_rollout(ByteReader& in) {
  Rollout r;
  r.num_steps = in.get<std::int32_t>();
  r.num_envs = in.get<std::int32_t>();
  r.num_agents = in.get<std::int32_t>();
  r.obs_dim = in.get<std::int32_t>();
  r.action_dim = in.get<std::int32_t>();
  r.critic_dim = in.get<std::int32_t>();
  r.policy_version = in.get<std::int64_t>();
  r.observations = in.get_vector<float>();
  r.critic_inputs = in.get_vector<float>();
  r.discrete_actions = in.get_vector<std::int64_t>();
  r.continuous_actions = in.get_vector<float>();
  r.log_probs = in.get_vector<float>();
  r.values = in.get_vector<float>();
  r.rewards = in.get_vector<float>();
  r.terminated = in.get_vector<std::uint8_t>();
  r.truncated = in.get_vector<std::uint8_t>();
  r.final_values = in.get_vector<float>();
  r.bootstrap_values = in.get_vector<float>();
  r.active = in.get_vector<std::uint8_t>();
  r.episodes = in.get_vector<EpisodeRecord>();
  return r;
}

}  // namespace trustrl::agents
