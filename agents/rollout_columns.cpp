#include "agents/rollout_columns.h"

#include <algorithm>
#include <string>
#include <type_traits>

#include "agents/rollout_fields.h"
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
  for_each_rollout_header([&](const char*, auto member) { out.*member = r.*member; });
  out.num_envs = count;
  const auto N = static_cast<std::size_t>(r.num_envs), f = static_cast<std::size_t>(first),
             c = static_cast<std::size_t>(count);
  for_each_rollout_column([&](const auto& column) {
    const auto& in = r.*column.member;
    auto& dst = out.*column.member;
    dst.assign(in.empty() ? 0 : column.outer(r) * c * column.per_copy(r), {});
    copy_block(in, column.outer(r), N, column.per_copy(r), f, c, dst, c, 0);
  });
  if (episodes_match_flags(r)) {
    const auto by_copy = episodes_by_copy(r);
    std::vector<std::size_t> next(c, 0);
    for (std::size_t t = 0; t < static_cast<std::size_t>(r.num_steps); ++t)
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
  for_each_rollout_header([&](const char*, auto member) { out.*member = a.*member; });
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
  const auto T = static_cast<std::size_t>(a.num_steps), n = static_cast<std::size_t>(total);
  for_each_rollout_column([&](const auto& column) {
    auto& dst = out.*column.member;
    dst.assign((a.*column.member).empty() ? 0 : column.outer(a) * n * column.per_copy(a), {});
    std::size_t at = 0;
    for (const Rollout* p : parts) {
      const auto pn = static_cast<std::size_t>(p->num_envs);
      copy_block(p->*column.member, column.outer(a), pn, column.per_copy(a), 0, pn, dst, n, at);
      at += pn;
    }
  });
  bool episodes_ok = true;
  for (const Rollout* p : parts) episodes_ok = episodes_ok && episodes_match_flags(*p);
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
  for_each_rollout_header([&](const char*, auto member) { out.put(r.*member); });
  for_each_rollout_column([&](const auto& column) { out.put_vector(r.*column.member); });
  out.put_vector(r.episodes);
}

Rollout load_rollout(ByteReader& in) {
  Rollout r;
  for_each_rollout_header([&](const char*, auto member) {
    r.*member = in.get<std::remove_reference_t<decltype(r.*member)>>();
  });
  for_each_rollout_column([&](const auto& column) {
    using T = typename std::decay_t<decltype(column)>::value_type;
    r.*column.member = in.get_vector<T>();
  });
  r.episodes = in.get_vector<EpisodeRecord>();
  return r;
}

}  // namespace trustrl::agents
