#include "server/convert.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/text.h"
#include "server/wire_checks.h"

namespace trustrl::server {

namespace {

// Spaces larger than this are refused before anything is allocated for them.
constexpr std::int64_t kMaxSpaceElements = std::int64_t{1} << 26;

template <class Repeated>
std::vector<typename Repeated::value_type> to_vector(const Repeated& r) {
  return {r.begin(), r.end()};
}

}  // namespace

wire::Space to_wire(const envs::Space& space) {
  wire::Space out;
  switch (space.kind) {
    case envs::SpaceKind::kDiscrete:
      out.set_kind(wire::SPACE_KIND_DISCRETE);
      out.set_n(space.n);
      out.set_start(space.start);
      break;
    case envs::SpaceKind::kBox:
      out.set_kind(wire::SPACE_KIND_BOX);
      out.mutable_shape()->Add(space.shape.begin(), space.shape.end());
      out.mutable_low()->Add(space.low.begin(), space.low.end());
      out.mutable_high()->Add(space.high.begin(), space.high.end());
      break;
    case envs::SpaceKind::kMultiDiscrete:
      out.set_kind(wire::SPACE_KIND_MULTI_DISCRETE);
      out.mutable_shape()->Add(space.shape.begin(), space.shape.end());
      out.mutable_nvec()->Add(space.nvec.begin(), space.nvec.end());
      break;
  }
  return out;
}

envs::Space from_wire(const wire::Space& space, const std::string& what) {
  auto fail = [&](const std::string& message) -> Error { return Error(what + ": " + message); };
  auto refuse_fields = [&](bool bounds, bool discrete, bool nvec) {
    if (bounds && (space.low_size() || space.high_size()))
      throw fail("low/high belong to Box spaces only");
    if (discrete && (space.n() || space.start())) throw fail("n/start belong to Discrete only");
    if (nvec && space.nvec_size()) throw fail("nvec belongs to MultiDiscrete only");
  };
  switch (space.kind()) {
    case wire::SPACE_KIND_DISCRETE: {
      refuse_fields(true, false, true);
      if (space.shape_size()) throw fail("a Discrete space has an empty shape");
      if (space.n() < 1) throw fail("Discrete needs n >= 1, got " + std::to_string(space.n()));
      return envs::Space::discrete(space.n(), space.start());
    }
    case wire::SPACE_KIND_BOX: {
      refuse_fields(false, true, true);
      std::int64_t size = 1;
      for (const auto d : space.shape()) {
        if (d < 1) throw fail("Box shape has a dimension of " + std::to_string(d) + " (need >= 1)");
        if (d > kMaxSpaceElements || size * d > kMaxSpaceElements)
          throw fail("Box has more than " + std::to_string(kMaxSpaceElements) + " components");
        size *= d;
      }
      if (space.low_size() != size || space.high_size() != size)
        throw fail("Box of shape with " + std::to_string(size) + " components needs " +
                   std::to_string(size) + " low and high values, got " +
                   std::to_string(space.low_size()) + " and " + std::to_string(space.high_size()));
      for (int i = 0; i < size; ++i) {
        if (std::isnan(space.low(i)) || std::isnan(space.high(i)))
          throw fail("Box bound " + std::to_string(i) + " is NaN");
        if (!(space.low(i) <= space.high(i)))
          throw fail("Box has low > high at component " + std::to_string(i) + " (" +
                     format_number(space.low(i)) + " > " + format_number(space.high(i)) + ")");
      }
      envs::Space out = envs::Space::box(to_vector(space.low()), to_vector(space.high()));
      out.shape = to_vector(space.shape());
      return out;
    }
    case wire::SPACE_KIND_MULTI_DISCRETE: {
      refuse_fields(true, true, false);
      if (space.nvec_size() < 1 || space.nvec_size() > kMaxSpaceElements)
        throw fail("MultiDiscrete needs 1 to " + std::to_string(kMaxSpaceElements) +
                   " nvec values");
      for (const auto k : space.nvec())
        if (k < 1) throw fail("MultiDiscrete needs every nvec >= 1, got " + std::to_string(k));
      if (space.shape_size() != 1 || space.shape(0) != space.nvec_size())
        throw fail("MultiDiscrete shape must be [len(nvec)] = [" +
                   std::to_string(space.nvec_size()) + "]");
      return envs::Space::multi_discrete(to_vector(space.nvec()));
    }
    default:
      throw fail("the space kind is unset (SPACE_KIND_UNSPECIFIED) or unknown (" +
                 std::to_string(static_cast<int>(space.kind())) + ")");
  }
}

wire::EnvSpec to_wire(const envs::EnvSpec& spec) {
  wire::EnvSpec out;
  out.set_id(spec.id);
  *out.mutable_observation_space() = to_wire(spec.observation_space);
  *out.mutable_action_space() = to_wire(spec.action_space);
  out.set_max_episode_steps(spec.max_episode_steps);
  if (spec.reward_threshold) out.set_reward_threshold(*spec.reward_threshold);
  out.set_render_fps(spec.render_fps);
  out.set_autoreset_mode(wire::AUTORESET_MODE_SAME_STEP);
  return out;
}

void validate(const wire::EnvSpec& spec) {
  if (spec.autoreset_mode() != wire::AUTORESET_MODE_SAME_STEP)
    throw Error(
        "spec.autoreset_mode must be AUTORESET_MODE_SAME_STEP (the only mode of protocol "
        "version 1), got " +
        std::to_string(static_cast<int>(spec.autoreset_mode())));
  if (spec.max_episode_steps() < 0)
    throw Error("spec.max_episode_steps must be >= 0 (0: no limit), got " +
                std::to_string(spec.max_episode_steps()));
  auto check_observation = [](const wire::Space& space, const std::string& what) {
    if (from_wire(space, what).kind != envs::SpaceKind::kBox)
      throw Error(what + " must be a Box (observations are float32)");
  };
  if (spec.num_agents() < 0) throw Error("spec.num_agents must be >= 0");
  if (spec.num_agents() == 0) {
    if (spec.agents_size() || spec.state_space().kind() != wire::SPACE_KIND_UNSPECIFIED)
      throw Error("spec.agents and spec.state_space belong to multi-agent specs (num_agents > 0)");
    check_observation(spec.observation_space(), "spec.observation_space");
    from_wire(spec.action_space(), "spec.action_space");
    return;
  }
  if (spec.agents_size() != spec.num_agents())
    throw Error("spec.num_agents is " + std::to_string(spec.num_agents()) +
                " but spec.agents lists " + std::to_string(spec.agents_size()));
  for (int a = 0; a < spec.agents_size(); ++a) {
    const std::string what = "spec.agents[" + std::to_string(a) + "]";
    check_observation(spec.agents(a).observation_space(), what + ".observation_space");
    from_wire(spec.agents(a).action_space(), what + ".action_space");
  }
  if (spec.state_space().kind() != wire::SPACE_KIND_UNSPECIFIED)
    check_observation(spec.state_space(), "spec.state_space");
}

envs::EnvSpec from_wire(const wire::EnvSpec& spec) {
  validate(spec);
  if (spec.num_agents() > 0)
    throw Error("the env has " + std::to_string(spec.num_agents()) +
                " agents; a single-agent client cannot drive a multi-agent env");
  envs::EnvSpec out;
  out.id = spec.id();
  out.observation_space = from_wire(spec.observation_space(), "spec.observation_space");
  out.action_space = from_wire(spec.action_space(), "spec.action_space");
  out.max_episode_steps = spec.max_episode_steps();
  if (spec.has_reward_threshold()) out.reward_threshold = spec.reward_threshold();
  out.render_fps = spec.render_fps();
  return out;
}

std::string describe(const wire::EnvSpec& spec) {
  auto space_text = [](const wire::Space& s) {
    try {
      return from_wire(s, "space").describe();
    } catch (const Error&) {
      return std::string("(invalid space)");
    }
  };
  std::string text;
  if (spec.num_agents() == 0) {
    text = space_text(spec.observation_space()) + " -> " + space_text(spec.action_space());
  } else {
    text = std::to_string(spec.num_agents()) + " agents";
    if (spec.agents_size() > 0)
      text += " (agent 0: " + space_text(spec.agents(0).observation_space()) + " -> " +
              space_text(spec.agents(0).action_space()) + ")";
  }
  text += spec.max_episode_steps() > 0
              ? ", limit " + std::to_string(spec.max_episode_steps()) + " steps"
              : ", no time limit";
  return text;
}

void write_reset(const envs::StepBuffers& buffers, wire::ResetResponse* out) {
  out->mutable_observations()->Add(buffers.observations.begin(), buffers.observations.end());
}

void write_step(const envs::StepBuffers& buffers, wire::StepResponse* out) {
  const auto n = static_cast<std::size_t>(buffers.num_envs);
  const auto dim = static_cast<std::size_t>(buffers.obs_dim);
  out->mutable_observations()->Add(buffers.observations.begin(), buffers.observations.end());
  out->mutable_rewards()->Add(buffers.rewards.begin(), buffers.rewards.end());
  auto* terminated = out->mutable_terminated();
  auto* truncated = out->mutable_truncated();
  terminated->Reserve(terminated->size() + static_cast<int>(n));
  truncated->Reserve(truncated->size() + static_cast<int>(n));
  for (std::size_t i = 0; i < n; ++i) {
    terminated->AddAlreadyReserved(buffers.terminated[i] != 0);
    truncated->AddAlreadyReserved(buffers.truncated[i] != 0);
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!buffers.done(static_cast<int>(i))) continue;
    const float* row = buffers.final_observations.data() + i * dim;
    out->mutable_final_observations()->Add(row, row + dim);
    out->add_episode_returns(buffers.episode_returns[i]);
    out->add_episode_lengths(buffers.episode_lengths[i]);
  }
}

void read_reset(const wire::ResetResponse& response, envs::StepBuffers& buffers,
                const std::string& source) {
  const auto n = static_cast<std::size_t>(buffers.num_envs);
  const auto dim = static_cast<std::size_t>(buffers.obs_dim);
  const std::string shape = "[" + std::to_string(n) + " copies, " + std::to_string(dim) + "]";
  expect_size(response.observations(), n * dim, source, "the reset's observations", shape);
  expect_finite(response.observations().data(), n, dim, source, "the reset's observations", "copy");
  std::memcpy(buffers.observations.data(), response.observations().data(), n * dim * sizeof(float));
  std::fill(buffers.active.begin(), buffers.active.end(), 1);
  std::fill(buffers.rewards.begin(), buffers.rewards.end(), 0.0);
  std::fill(buffers.terminated.begin(), buffers.terminated.end(), 0);
  std::fill(buffers.truncated.begin(), buffers.truncated.end(), 0);
}

void read_step(const wire::StepResponse& r, envs::StepBuffers& buffers, const std::string& source) {
  const auto n = static_cast<std::size_t>(buffers.num_envs);
  const auto dim = static_cast<std::size_t>(buffers.obs_dim);
  const std::string copies = std::to_string(n) + " copies";
  expect_size(r.observations(), n * dim, source, "observations",
              "[" + copies + ", " + std::to_string(dim) + "]");
  expect_size(r.rewards(), n, source, "rewards", "[" + copies + "]");
  expect_size(r.terminated(), n, source, "terminated", "[" + copies + "]");
  expect_size(r.truncated(), n, source, "truncated", "[" + copies + "]");
  std::size_t ended = 0;
  for (std::size_t i = 0; i < n; ++i)
    ended += r.terminated(static_cast<int>(i)) || r.truncated(static_cast<int>(i));
  const std::string k = "[" + std::to_string(ended) + " ended copies";
  expect_size(r.final_observations(), ended * dim, source, "final_observations",
              k + ", " + std::to_string(dim) + "]");
  expect_size(r.episode_returns(), ended, source, "episode_returns", k + "]");
  expect_size(r.episode_lengths(), ended, source, "episode_lengths", k + "]");
  expect_finite(r.observations().data(), n, dim, source, "the observation", "copy");
  expect_finite(r.rewards().data(), n, 1, source, "the reward", "copy");
  expect_finite(r.final_observations().data(), ended, dim, source, "the final observation",
                "ended copy");
  expect_finite(r.episode_returns().data(), ended, 1, source, "the episode return", "ended copy");
  for (std::size_t j = 0; j < ended; ++j)
    if (r.episode_lengths(static_cast<int>(j)) < 1)
      throw Error(source + " sent an episode length of " +
                  std::to_string(r.episode_lengths(static_cast<int>(j))) + " for ended copy " +
                  std::to_string(j) + "; an episode that ends has taken at least one step");

  std::memcpy(buffers.observations.data(), r.observations().data(), n * dim * sizeof(float));
  std::memcpy(buffers.rewards.data(), r.rewards().data(), n * sizeof(double));
  std::size_t j = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const int w = static_cast<int>(i);
    buffers.terminated[i] = r.terminated(w);
    buffers.truncated[i] = r.truncated(w);
    if (!buffers.done(w)) continue;
    std::memcpy(&buffers.final_observations[i * dim], r.final_observations().data() + j * dim,
                dim * sizeof(float));
    buffers.final_active[i] = 1;
    buffers.episode_returns[i] = r.episode_returns(static_cast<int>(j));
    buffers.agent_episode_returns[i] = buffers.episode_returns[i];
    buffers.episode_lengths[i] = r.episode_lengths(static_cast<int>(j));
    ++j;
  }
}

}  // namespace trustrl::server
