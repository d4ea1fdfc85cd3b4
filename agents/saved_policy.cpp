#include "agents/saved_policy.h"

#include "core/bytes.h"
#include "core/error.h"

namespace trustrl::agents {

void SavedPolicy::write(const std::filesystem::path& path) const {
  SectionFile file("policy");
  add_to(file);
  file.write(path);
}

SavedPolicy SavedPolicy::read(const std::filesystem::path& path) { return from(SectionFile::read(path, "")); }

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

SavedPolicy SavedPolicy::from(const SectionFile& file) {
  const std::string& what = file.source();
  if (!file.has("spec") || !file.has("policy")) throw Error(what + " holds no policy");
  SavedPolicy p;
  try {
    ByteReader spec(file.get("spec"), what);
    p.env_id = spec.get_string();
    const auto options = spec.get<std::uint32_t>();
    for (std::uint32_t i = 0; i < options; ++i) {
      std::string k = spec.get_string();
      p.env_options[k] = spec.get_string();
    }
    p.multi_agent = spec.get<std::uint8_t>() != 0;
    ByteReader policy(file.get("policy"), what);
    p.snapshot = PolicySnapshot::load(policy);
  } catch (const Error& e) {
    const std::string message = e.what();
    if (message.find(what) != std::string::npos) throw;
    throw Error(what + ": " + message);
  }
  return p;
}

}  // namespace trustrl::agents
