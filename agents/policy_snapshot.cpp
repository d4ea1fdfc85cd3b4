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
    check_group(g, "saved policy group " + std::to_string(i));
    s.groups.push_back(std::move(g));
  }
  return s;
}

void check_group(const GroupPolicy& g, const std::string& what) {
  const auto fail = [&](const std::string& problem) { throw Error(what + " " + problem); };
  if (g.num_agents < 1 || g.num_agents > kMaxAgents)
    fail("has " + std::to_string(g.num_agents) + " agents");
  if (g.agents.empty()) fail("acts for no agent");
  for (std::size_t k = 0; k < g.agents.size(); ++k)
    if (g.agents[k] < 0 || g.agents[k] >= g.num_agents || (k > 0 && g.agents[k] <= g.agents[k - 1]))
      fail("lists agent " + std::to_string(g.agents[k]) + " of " + std::to_string(g.num_agents));
  const PolicyWeights& w = g.weights;
  if (w.actor.empty() || w.critic.empty()) fail("has no actor or no critic");
  if (g.obs_dim() < 1) fail("has an actor input narrower than its agent id");
  if (g.obs_normalizer.dim() != g.actor_input_dim())
    fail("has observation statistics of " + std::to_string(g.obs_normalizer.dim()) +
         " values for an actor of " + std::to_string(g.actor_input_dim()) + " inputs");
  if (g.critic_normalizer.dim() != g.critic_input_dim())
    fail("has critic input statistics of " + std::to_string(g.critic_normalizer.dim()) +
         " values for a critic of " + std::to_string(g.critic_input_dim()) + " inputs");
  const envs::Space& space = w.action_space;
  const std::int64_t outputs = w.actor.back().out;
  const std::int64_t wanted = space.is_discrete() ? space.num_logits() : space.flat_dim();
  if (outputs != wanted)
    fail("has an actor of " + std::to_string(outputs) + " outputs for actions " + space.describe() +
         ", which need " + std::to_string(wanted));
  if (space.kind == envs::SpaceKind::kBox) {
    if (w.gsde && w.actor.size() < 2) fail("uses gSDE without a hidden layer");
    const std::int64_t latent = w.gsde ? w.actor[w.actor.size() - 2].out : 1;
    if (static_cast<std::int64_t>(w.log_std.size()) != latent * space.flat_dim())
      fail("has " + std::to_string(w.log_std.size()) + " log std values for actions " +
           space.describe() + ", which need " + std::to_string(latent * space.flat_dim()));
  } else if (!w.log_std.empty() || w.gsde) {
    fail("has a Gaussian's log std for actions " + space.describe());
  }
}

void check_policy_fits(const PolicySnapshot& policy, const envs::EnvSpec& spec) {
  const std::string what = "the policy does not fit " + spec.id + ":";
  if (policy.groups.size() != 1)
    throw Error(what + " it has " + std::to_string(policy.groups.size()) +
                " agent groups, a single-agent env needs 1");
  const GroupPolicy& g = policy.groups.front();
  if (g.num_agents != 1 || g.agent_id_input || g.critic_input != CriticInput::kObservation)
    throw Error(what + " it was trained for a multi-agent env");
  const std::int64_t obs = spec.observation_space.flat_dim();
  if (g.obs_dim() != obs || g.critic_input_dim() != obs)
    throw Error(what + " its networks take " + std::to_string(g.obs_dim()) +
                " observation values, the env gives " + std::to_string(obs));
  if (!(g.weights.action_space == spec.action_space))
    throw Error(what + " it acts in " + g.weights.action_space.describe() + ", the env takes " +
                spec.action_space.describe());
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
