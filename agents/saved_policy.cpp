#include "agents/saved_policy.h"

#include "core/bytes.h"
#include "core/error.h"
#include "core/section_file.h"

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
  spec.put(obs_dim);
  snapshot.weights.action_space.save(spec);
  spec.put<std::uint8_t>(normalize_observations);
  spec.put(clip_obs);
  spec.put(obs_epsilon);
  file.add("spec", spec.take());
  ByteWriter weights;
  snapshot.save(weights);
  file.add("policy", weights.take());
}

SavedPolicy SavedPolicy::from(const SectionFile& file) {
  const std::string& what = file.source();
  if (!file.has("spec") || !file.has("policy")) throw Error(what + " holds no policy");
  SavedPolicy p;
  ByteReader spec(file.get("spec"), what);
  p.env_id = spec.get_string();
  const auto options = spec.get<std::uint32_t>();
  for (std::uint32_t i = 0; i < options; ++i) {
    std::string k = spec.get_string();
    p.env_options[k] = spec.get_string();
  }
  p.obs_dim = spec.get<std::int64_t>();
  const envs::Space action_space = envs::Space::load(spec);
  p.normalize_observations = spec.get<std::uint8_t>() != 0;
  p.clip_obs = spec.get<double>();
  p.obs_epsilon = spec.get<double>();
  if (p.obs_dim < 1) throw Error(what + " is corrupt (observation size " + std::to_string(p.obs_dim) + ")");
  p.snapshot.obs_normalizer = ObsNormalizer(static_cast<int>(p.obs_dim), p.normalize_observations, p.clip_obs, p.obs_epsilon);
  p.snapshot.weights.action_space = action_space;
  ByteReader weights(file.get("policy"), what);
  p.snapshot.load(weights);
  if (p.snapshot.weights.actor.empty() || p.snapshot.weights.actor.front().in != p.obs_dim)
    throw Error(what + " is corrupt (its network does not take " + std::to_string(p.obs_dim) + " observation values)");
  return p;
}

}  // namespace trustrl::agents
