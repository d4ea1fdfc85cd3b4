#include "agents/policy_spec_hash.h"

#include <cstdio>
#include <vector>

namespace trustrl::agents {

namespace {

std::string group_text(const std::vector<int>& agents, std::int64_t obs,
                       const envs::Space& action) {
  std::string text = "agents";
  for (int a : agents) text += " " + std::to_string(a);
  return text + "; obs " + std::to_string(obs) + "; action " + action.canonical() + "\n";
}

// FNV-1a, 64 bit (Fowler, Noll, Vo).
std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace

std::uint64_t policy_spec_hash(const PolicySnapshot& policy) {
  std::string text;
  for (const GroupPolicy& g : policy.groups)
    text += group_text(g.agents, g.obs_dim(), g.weights.action_space);
  return fnv1a(text);
}

std::uint64_t policy_spec_hash(const envs::EnvSpec& spec) {
  return fnv1a(group_text({0}, spec.observation_space.flat_dim(), spec.action_space));
}

std::uint64_t policy_spec_hash(const envs::MultiAgentSpec& spec) {
  std::string text;
  for (const envs::AgentGroup& g : spec.agent_groups())
    text += group_text(g.agents, g.observation_space.flat_dim(), g.action_space);
  return fnv1a(text);
}

std::string spec_hash_text(std::uint64_t hash) {
  char text[19];
  std::snprintf(text, sizeof text, "0x%016llx", static_cast<unsigned long long>(hash));
  return text;
}

}  // namespace trustrl::agents
