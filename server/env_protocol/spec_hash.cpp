#include "server/env_protocol/spec_hash.h"

#include <bit>
#include <cstdio>
#include <cstring>

#include "core/text.h"
#include "server/env_protocol/convert.h"

namespace trustrl::server {

namespace {

static_assert(std::endian::native == std::endian::little, "the hash encoding is little-endian");

class Encoder {
 public:
  template <class T>
  void put(T value) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    out_.append(bytes, sizeof(T));
  }
  void put_float(float x) {
    put<std::uint32_t>(std::bit_cast<std::uint32_t>(x == 0.0f ? 0.0f : x));
  }
  template <class Repeated>
  void put_ints(const Repeated& values) {
    put<std::uint64_t>(static_cast<std::uint64_t>(values.size()));
    for (const auto v : values) put<std::int64_t>(v);
  }
  template <class Repeated>
  void put_floats(const Repeated& values) {
    put<std::uint64_t>(static_cast<std::uint64_t>(values.size()));
    for (const float v : values) put_float(v);
  }
  void put_string(const std::string& s) {
    put<std::uint64_t>(s.size());
    out_ += s;
  }
  void put_space(const wire::Space& s) {
    put<std::uint32_t>(static_cast<std::uint32_t>(s.kind()));
    put_ints(s.shape());
    put_floats(s.low());
    put_floats(s.high());
    put<std::int64_t>(s.n());
    put<std::int64_t>(s.start());
    put_ints(s.nvec());
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string space_text(const wire::Space& s) {
  try {
    return from_wire(s, "space").canonical();
  } catch (const std::exception&) {
    return "an invalid space";
  }
}

std::string pretty_space(const wire::Space& s) {
  try {
    return from_wire(s, "space").describe();
  } catch (const std::exception&) {
    return "an invalid space";
  }
}

}  // namespace

std::string spec_hash_bytes(const wire::EnvSpec& spec) {
  Encoder e;
  e.put_string("trustrl.env.v1.EnvSpec");
  e.put<std::uint32_t>(static_cast<std::uint32_t>(spec.autoreset_mode()));
  e.put<std::int32_t>(spec.num_agents());
  e.put<std::int32_t>(spec.max_episode_steps());
  e.put_space(spec.observation_space());
  e.put_space(spec.action_space());
  e.put<std::uint64_t>(static_cast<std::uint64_t>(spec.agents_size()));
  for (const auto& agent : spec.agents()) {
    e.put_space(agent.observation_space());
    e.put_space(agent.action_space());
  }
  e.put_space(spec.state_space());
  return e.take();
}

std::uint64_t spec_hash(const wire::EnvSpec& spec) {
  // FNV-1a, 64-bit (Fowler, Noll, Vo; the IETF draft-eastlake-fnv constants).
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char c : spec_hash_bytes(spec)) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string hash_text(std::uint64_t hash) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%016llx", static_cast<unsigned long long>(hash));
  return text;
}

std::optional<std::string> spec_difference(const wire::EnvSpec& expected,
                                           const wire::EnvSpec& actual) {
  std::string out;
  auto add = [&](const std::string& field, const std::string& want, const std::string& got) {
    out += (out.empty() ? "" : "; ") + field + ": expected " + want + ", got " + got;
  };
  auto compare_space = [&](const std::string& field, const wire::Space& want,
                           const wire::Space& got) {
    Encoder a, b;
    a.put_space(want);
    b.put_space(got);
    if (a.take() == b.take()) return;
    std::string w = pretty_space(want), g = pretty_space(got);
    if (w == g) {  // same summary, different bounds: show them in full
      w = space_text(want);
      g = space_text(got);
    }
    add(field, w, g);
  };
  if (expected.autoreset_mode() != actual.autoreset_mode())
    add("autoreset_mode", wire::AutoresetMode_Name(expected.autoreset_mode()),
        wire::AutoresetMode_Name(actual.autoreset_mode()));
  if (expected.num_agents() != actual.num_agents())
    add("num_agents", std::to_string(expected.num_agents()), std::to_string(actual.num_agents()));
  if (expected.max_episode_steps() != actual.max_episode_steps())
    add("max_episode_steps", std::to_string(expected.max_episode_steps()),
        std::to_string(actual.max_episode_steps()));
  compare_space("observation_space", expected.observation_space(), actual.observation_space());
  compare_space("action_space", expected.action_space(), actual.action_space());
  if (expected.agents_size() != actual.agents_size()) {
    add("agents", std::to_string(expected.agents_size()) + " agents",
        std::to_string(actual.agents_size()));
  } else {
    for (int a = 0; a < expected.agents_size(); ++a) {
      const std::string field = "agents[" + std::to_string(a) + "]";
      compare_space(field + ".observation_space", expected.agents(a).observation_space(),
                    actual.agents(a).observation_space());
      compare_space(field + ".action_space", expected.agents(a).action_space(),
                    actual.agents(a).action_space());
    }
  }
  compare_space("state_space", expected.state_space(), actual.state_space());
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace trustrl::server
