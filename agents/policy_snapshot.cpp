#include "agents/policy_snapshot.h"

#include <algorithm>

#include "core/error.h"

namespace trustrl::agents {

void PolicySnapshot::save(ByteWriter& out) const {
  out.put(version);
  out.put<std::uint32_t>(static_cast<std::uint32_t>(groups.size()));
  for (const auto& g : groups) {
    out.put_vector(g.agents);
    g.weights.action_space.save(out);
    g.weights.save(out);
    out.put<std::uint8_t>(g.agent_id_input);
    out.put<std::int32_t>(g.num_agents);
    out.put<std::int32_t>(static_cast<std::int32_t>(g.critic_input));
    g.obs_normalizer.save(out);
    g.critic_normalizer.save(out);
    g.value_normalizer.save(out);
  }
}

PolicySnapshot PolicySnapshot::load(ByteReader& in) {
  PolicySnapshot s;
  s.version = in.get<std::int64_t>();
  const auto n = in.get<std::uint32_t>();
  if (n == 0 || n > 4096) throw Error("saved policy has " + std::to_string(n) + " agent groups");
  for (std::uint32_t i = 0; i < n; ++i) {
    GroupPolicy g;
    g.agents = in.get_vector<int>();
    const envs::Space space = envs::Space::load(in);
    g.weights = PolicyWeights::load(in);
    g.weights.action_space = space;
    g.agent_id_input = in.get<std::uint8_t>() != 0;
    g.num_agents = in.get<std::int32_t>();
    const auto critic = in.get<std::int32_t>();
    if (critic < 0 || critic > 2) throw Error("saved policy has an unknown critic input");
    g.critic_input = static_cast<CriticInput>(critic);
    g.obs_normalizer.load(in);
    g.critic_normalizer.load(in);
    g.value_normalizer.load(in);
    if (g.agents.empty() || g.weights.actor.empty() || g.weights.critic.empty() || g.num_agents < 1 ||
        g.obs_dim() < 1 || g.obs_normalizer.dim() != g.actor_input_dim() ||
        g.critic_normalizer.dim() != g.critic_input_dim())
      throw Error("saved policy group " + std::to_string(i) + " is inconsistent (sizes disagree)");
    s.groups.push_back(std::move(g));
  }
  return s;
}

void write_actor_input(const GroupPolicy& group, const float* observation, int agent, float* out) {
  const int obs = group.obs_dim();
  std::copy(observation, observation + obs, out);
  if (group.agent_id_input) {
    std::fill(out + obs, out + obs + group.num_agents, 0.0f);
    out[obs + agent] = 1.0f;
  }
}

}  // namespace trustrl::agents
