#include "agents/saved_policy.h"

#include <algorithm>

#include "agents/env_actor.h"
#include "core/bytes.h"
#include "core/error.h"

namespace trustrl::agents {

void SavedPolicy::write(const std::filesystem::path& path) const {
  SectionFile file("policy");
  add_to(file);
  file.write(path);
}

SavedPolicy SavedPolicy::read(const std::filesystem::path& path) {
  return from(SectionFile::read(path, ""));
}

void SavedPolicy::add_to(SectionFile& file) const {
  ByteWriter spec;
  spec.put_string(env_id);
  spec.put<std::uint32_t>(static_cast<std::uint32_t>(env_options.size()));
  for (const auto& [k, v] : env_options) {
    spec.put_string(k);
    spec.put_string(v);
  }
  spec.put<std::uint8_t>(multi_agent);
  file.add("spec", spec.take());
  ByteWriter policy;
  snapshot.save(policy);
  file.add("policy", policy.take());
}

void SavedPolicy::check_fits(const envs::EnvSpec& spec) const {
  try {
    if (multi_agent)
      throw Error("it holds a multi-agent policy but " + spec.id + " is a single-agent env");
    check_policy_fits(snapshot, spec);
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
}

void SavedPolicy::check_fits(const envs::MultiAgentSpec& spec) const {
  try {
    if (!multi_agent)
      throw Error("it holds a single-agent policy but " + spec.id + " is a multi-agent env");
    check_policy_fits(snapshot, spec);
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
}

namespace {
template <class Make>
auto named_env(const SavedPolicy& policy, const Make& make) {
  try {
    return make();
  } catch (const Error& e) {
    throw Error(policy.source + " names env '" + policy.env_id + "': " + e.what());
  }
}
}  // namespace

std::unique_ptr<envs::LocalVectorEnv> SavedPolicy::make_env(int copies) const {
  if (multi_agent) throw Error(source + " holds a multi-agent policy");
  auto env = named_env(*this, [&] {
    auto made = envs::LocalVectorEnv::make(env_id, env_options, copies, 1);
    made->single_agent_spec();  // throws for a multi-agent id
    return made;
  });
  check_fits(env->single_agent_spec());
  return env;
}

std::unique_ptr<envs::LocalVectorEnv> SavedPolicy::make_multi_agent_env(int copies) const {
  if (!multi_agent) throw Error(source + " holds a single-agent policy");
  auto env =
      named_env(*this, [&] { return envs::LocalVectorEnv::make(env_id, env_options, copies, 1); });
  check_fits(env->spec());
  return env;
}

SavedPolicy SavedPolicy::from(const SectionFile& file) {
  const std::string& what = file.source();
  if (!file.has("spec") || !file.has("policy")) throw Error(what + " holds no policy");
  SavedPolicy p;
  p.source = what;
  try {
    ByteReader spec(file.get("spec"), what);
    p.env_id = spec.get_string();
    const auto options = spec.get<std::uint32_t>();
    for (std::uint32_t i = 0; i < options; ++i) {
      std::string k = spec.get_string();
      p.env_options[k] = spec.get_string();
    }
    p.multi_agent = spec.get<std::uint8_t>() != 0;
    if (!spec.at_end()) throw Error("its spec section has trailing bytes");
    // Names end up in messages and env constructors: printable text only.
    const auto printable = [](const std::string& s) {
      return s.size() <= 256 &&
             std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
    };
    if (p.env_id.empty() || !printable(p.env_id))
      throw Error("its env id is empty or not printable text");
    for (const auto& [k, v] : p.env_options)
      if (!printable(k) || !printable(v)) throw Error("its env options are not printable text");
    ByteReader policy(file.get("policy"), what);
    p.snapshot = PolicySnapshot::load(policy);
    if (!policy.at_end()) throw Error("its policy section has trailing bytes");
    const bool one_agent =
        p.snapshot.groups.size() == 1 && p.snapshot.groups.front().num_agents == 1;
    if (!p.multi_agent && !one_agent)
      throw Error("it is marked single-agent but holds a multi-agent policy");
  } catch (const Error& e) {
    const std::string message = e.what();
    if (message.find(what) != std::string::npos) throw;
    throw Error(what + ": " + message);
  }
  return p;
}

}  // namespace trustrl::agents
