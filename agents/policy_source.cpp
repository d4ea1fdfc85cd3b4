#include "agents/policy_source.h"

#include <filesystem>
#include <optional>

#include "agents/policy_spec_hash.h"
#include "core/error.h"
#include "core/run_dir.h"

namespace trustrl::agents {

SavedPolicy read_policy_source(const std::string& target, const std::string& key) {
  namespace fs = std::filesystem;
  try {
    std::error_code ec;
    if (target.empty()) throw Error("no policy file or run directory given");
    if (!fs::exists(target, ec)) throw Error("'" + target + "' does not exist");
    if (fs::is_directory(target, ec)) {
      const std::optional<fs::path> saved = RunDir::open(target).saved_policy();
      if (!saved) throw Error("run '" + target + "' has no saved policy yet");
      return SavedPolicy::read(*saved);
    }
    return SavedPolicy::read(target);
  } catch (const Error& e) {
    throw Error(key + ": " + e.what());
  }
}

namespace {
template <class Spec>
void check_hash(const SavedPolicy& policy, const Spec& spec, const std::string& key) {
  const std::uint64_t have = policy_spec_hash(policy.snapshot), want = policy_spec_hash(spec);
  if (have != want)
    throw Error(key + ": " + policy.source + " acts in " + policy.env_id + " (spec hash " +
                spec_hash_text(have) + "), not in " + spec.id + " (spec hash " +
                spec_hash_text(want) + ")");
}
}  // namespace

void check_policy_source(const SavedPolicy& policy, const envs::EnvSpec& spec,
                         const std::string& key) {
  if (policy.multi_agent)
    throw Error(key + ": " + policy.source + " holds a multi-agent policy (" + policy.env_id +
                ") but " + spec.id + " is a single-agent env");
  check_hash(policy, spec, key);
}

void check_policy_source(const SavedPolicy& policy, const envs::MultiAgentSpec& spec,
                         const std::string& key) {
  if (!policy.multi_agent)
    throw Error(key + ": " + policy.source + " holds a single-agent policy (" + policy.env_id +
                ") but " + spec.id + " is a multi-agent env");
  check_hash(policy, spec, key);
}

}  // namespace trustrl::agents
