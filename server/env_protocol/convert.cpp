#include "server/env_protocol/convert.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/text.h"
#include "server/env_protocol/wire_checks.h"

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

namespace {

using google::protobuf::RepeatedField;

// The note on a packed observation row's width: only a multi-agent row is a sum of widths.
std::string summed_text(const AgentLayout& layout) {
  return layout.agent_axis ? " (the agents' observation widths summed)" : "";
}

std::string agent_text(const envs::MultiAgentSpec& spec, int a) {
  return "agent " + std::to_string(a) + " (" + spec.agent_names[static_cast<std::size_t>(a)] + ")";
}

// Appends `rows` padded observation rows ([rows, A, padded_obs]) to a packed field.
void add_packed(const AgentLayout& layout, const float* padded, std::size_t rows,
                RepeatedField<float>* out) {
  const auto width = static_cast<std::size_t>(layout.padded_obs);
  if (layout.num_agents == 1) {  // one agent: no padding, the rows are already packed
    out->Add(padded, padded + rows * width);
    return;
  }
  out->Reserve(out->size() + static_cast<int>(rows) * layout.obs_width);
  for (std::size_t i = 0; i < rows; ++i)
    for (int a = 0; a < layout.num_agents; ++a) {
      const float* row =
          padded +
          (i * static_cast<std::size_t>(layout.num_agents) + static_cast<std::size_t>(a)) * width;
      for (int k = 0; k < layout.obs_dim[static_cast<std::size_t>(a)]; ++k)
        out->AddAlreadyReserved(row[k]);
    }
}

// Writes `rows` packed observation rows into padded ones, zero past each agent's width.
void unpack_observations(const AgentLayout& layout, const float* packed, std::size_t rows,
                         float* padded) {
  const auto width = static_cast<std::size_t>(layout.padded_obs);
  for (std::size_t i = 0; i < rows; ++i)
    for (int a = 0; a < layout.num_agents; ++a) {
      const auto k = static_cast<std::size_t>(a);
      float* row = padded + (i * static_cast<std::size_t>(layout.num_agents) + k) * width;
      const auto dim = static_cast<std::size_t>(layout.obs_dim[k]);
      std::memcpy(row,
                  packed + i * static_cast<std::size_t>(layout.obs_width) +
                      static_cast<std::size_t>(layout.obs_offset[k]),
                  dim * sizeof(float));
      std::fill(row + dim, row + width, 0.0f);
    }
}

template <class T>
void add_all(const std::vector<T>& values, RepeatedField<T>* out) {
  out->Add(values.begin(), values.end());
}

void add_flags(const std::uint8_t* flags, std::size_t count, RepeatedField<bool>* out) {
  out->Reserve(out->size() + static_cast<int>(count));
  for (std::size_t k = 0; k < count; ++k) out->AddAlreadyReserved(flags[k] != 0);
}

// Throws ProtocolError for a plain env's step request that is wrong, in the single-agent wire
// form's words: a stray field, a wrong size, a value outside the action space.
void check_single_agent_actions(const envs::Space& space, std::size_t n,
                                const wire::StepRequest& request) {
  const auto dim = static_cast<std::size_t>(space.flat_dim());
  const bool discrete = space.is_discrete();
  const std::string field = discrete ? "discrete_actions" : "continuous_actions";
  const std::string other = discrete ? "continuous_actions" : "discrete_actions";
  const auto got = static_cast<std::size_t>(discrete ? request.discrete_actions_size()
                                                     : request.continuous_actions_size());
  const auto stray = static_cast<std::size_t>(discrete ? request.continuous_actions_size()
                                                       : request.discrete_actions_size());
  if (stray != 0)
    throw ProtocolError("the action space " + space.describe() + " takes " + field + " (" +
                        (discrete ? "int64" : "float32") + "); " + other + " must be empty, got " +
                        std::to_string(stray) + " values");
  if (got != n * dim)
    throw ProtocolError("expected " + std::to_string(n * dim) + " values in " + field + " (" +
                        std::to_string(n) + " copies x " + std::to_string(dim) +
                        " component(s) of " + space.describe() + "), got " + std::to_string(got));
  auto where = [dim](std::size_t k) {
    return (dim > 1 ? "component " + std::to_string(k % dim) + " of " : std::string()) +
           "the action of copy " + std::to_string(k / dim);
  };
  for (std::size_t k = 0; k < n * dim; ++k) {
    if (discrete) {
      const std::int64_t a = request.discrete_actions(static_cast<int>(k));
      const std::int64_t lo = space.kind == envs::SpaceKind::kDiscrete ? space.start : 0;
      const std::int64_t hi = space.kind == envs::SpaceKind::kDiscrete ? space.start + space.n - 1
                                                                       : space.nvec[k % dim] - 1;
      if (a < lo || a > hi)
        throw ProtocolError(where(k) + " is " + std::to_string(a) + ", outside " +
                            space.describe() + " (allowed " + std::to_string(lo) + ".." +
                            std::to_string(hi) + ")");
    } else {
      const float a = request.continuous_actions(static_cast<int>(k));
      if (!std::isfinite(a))
        throw ProtocolError(where(k) + " is " + format_number(a) + "; actions must be finite");
    }
  }
}

}  // namespace

wire::EnvSpec to_wire(const envs::MultiAgentSpec& spec) {
  // A plain env seen as one agent keeps the single-agent form (and so its spec hash).
  if (spec.single_agent) return to_wire(*spec.single_agent);
  wire::EnvSpec out;
  out.set_id(spec.id);
  out.set_max_episode_steps(spec.max_episode_steps);
  if (spec.reward_threshold) out.set_reward_threshold(*spec.reward_threshold);
  out.set_render_fps(spec.render_fps);
  out.set_autoreset_mode(wire::AUTORESET_MODE_SAME_STEP);
  out.set_num_agents(spec.num_agents());
  for (int a = 0; a < spec.num_agents(); ++a) {
    const auto k = static_cast<std::size_t>(a);
    wire::AgentSpec* agent = out.add_agents();
    agent->set_name(spec.agent_names[k]);
    *agent->mutable_observation_space() = to_wire(spec.observation_spaces[k]);
    *agent->mutable_action_space() = to_wire(spec.action_spaces[k]);
  }
  if (spec.state_dim() > 0) *out.mutable_state_space() = to_wire(spec.state_space);
  return out;
}

envs::MultiAgentSpec multi_agent_from_wire(const wire::EnvSpec& spec) {
  validate(spec);
  if (spec.num_agents() == 0)
    throw Error(spec.id() +
                " is a single-agent env; drive it with a single-agent client (RemoteVectorEnv, "
                "algo: ppo)");
  envs::MultiAgentSpec out;
  out.id = spec.id();
  for (int a = 0; a < spec.agents_size(); ++a) {
    const wire::AgentSpec& agent = spec.agents(a);
    const std::string what = "spec.agents[" + std::to_string(a) + "]";
    // Names are informational on the wire; an unnamed agent gets its index.
    out.agent_names.push_back(agent.name().empty() ? "agent_" + std::to_string(a) : agent.name());
    out.observation_spaces.push_back(
        from_wire(agent.observation_space(), what + ".observation_space"));
    out.action_spaces.push_back(from_wire(agent.action_space(), what + ".action_space"));
  }
  if (spec.state_space().kind() != wire::SPACE_KIND_UNSPECIFIED)
    out.state_space = from_wire(spec.state_space(), "spec.state_space");
  out.max_episode_steps = spec.max_episode_steps();
  if (spec.has_reward_threshold()) out.reward_threshold = spec.reward_threshold();
  out.render_fps = spec.render_fps();
  out.validate();
  return out;
}

AgentLayout::AgentLayout(const envs::MultiAgentSpec& spec)
    : num_agents(spec.num_agents()),
      agent_axis(!spec.single_agent),
      state_dim(static_cast<int>(spec.state_dim())),
      padded_obs(static_cast<int>(spec.max_obs_dim())),
      padded_action(static_cast<int>(spec.max_action_dim())) {
  for (int a = 0; a < num_agents; ++a) {
    const auto k = static_cast<std::size_t>(a);
    obs_dim.push_back(static_cast<int>(spec.obs_dim(a)));
    obs_offset.push_back(obs_width);
    obs_width += obs_dim.back();
    const envs::Space& space = spec.action_spaces[k];
    action_dim.push_back(static_cast<int>(space.flat_dim()));
    discrete.push_back(space.is_discrete());
    int& width = space.is_discrete() ? discrete_width : continuous_width;
    action_offset.push_back(width);
    width += action_dim.back();
  }
}

void pack_observations(const AgentLayout& layout, std::span<const float> padded,
                       std::vector<float>& packed) {
  const auto per_row =
      static_cast<std::size_t>(layout.num_agents) * static_cast<std::size_t>(layout.padded_obs);
  RepeatedField<float> field;
  add_packed(layout, padded.data(), padded.size() / per_row, &field);
  packed.assign(field.begin(), field.end());
}

void write_reset(const AgentLayout& layout, const envs::StepBuffers& buffers,
                 wire::ResetResponse* out) {
  add_packed(layout, buffers.observations.data(), static_cast<std::size_t>(buffers.num_envs),
             out->mutable_observations());
  if (!layout.agent_axis) return;
  add_all(buffers.states, out->mutable_states());
  add_flags(buffers.active.data(), buffers.active.size(), out->mutable_agent_active());
}

void write_step(const AgentLayout& layout, const envs::StepBuffers& buffers,
                wire::StepResponse* out) {
  const auto n = static_cast<std::size_t>(buffers.num_envs);
  const auto agents = static_cast<std::size_t>(buffers.num_agents);
  const auto obs = agents * static_cast<std::size_t>(buffers.obs_dim);
  const auto state = static_cast<std::size_t>(buffers.state_dim);
  add_packed(layout, buffers.observations.data(), n, out->mutable_observations());
  auto* rewards = out->mutable_rewards();
  if (!layout.agent_axis) {
    add_all(buffers.rewards, rewards);  // a plain env's one reward is the team's
  } else {
    rewards->Reserve(rewards->size() + static_cast<int>(n));
    for (std::size_t i = 0; i < n; ++i) {
      double team = 0.0;  // in agent order, as LocalVectorEnv sums episode returns
      for (std::size_t k = 0; k < agents; ++k) team += buffers.rewards[i * agents + k];
      rewards->AddAlreadyReserved(team);
    }
  }
  add_flags(buffers.terminated.data(), n, out->mutable_terminated());
  add_flags(buffers.truncated.data(), n, out->mutable_truncated());
  if (layout.agent_axis) {
    add_all(buffers.rewards, out->mutable_agent_rewards());
    add_flags(buffers.active.data(), buffers.active.size(), out->mutable_agent_active());
    add_all(buffers.states, out->mutable_states());
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!buffers.done(static_cast<int>(i))) continue;
    add_packed(layout, buffers.final_observations.data() + i * obs, 1,
               out->mutable_final_observations());
    if (layout.agent_axis) {
      const float* s = buffers.final_states.data() + i * state;
      out->mutable_final_states()->Add(s, s + state);
      add_flags(buffers.final_active.data() + i * agents, agents,
                out->mutable_final_agent_active());
    }
    out->add_episode_returns(buffers.episode_returns[i]);
    out->add_episode_lengths(buffers.episode_lengths[i]);
  }
}

void read_reset(const AgentLayout& layout, const wire::ResetResponse& r, envs::StepBuffers& buffers,
                const std::string& source) {
  const auto n = static_cast<std::size_t>(buffers.num_envs);
  const auto agents = static_cast<std::size_t>(layout.num_agents);
  const auto o = static_cast<std::size_t>(layout.obs_width);
  const auto s = static_cast<std::size_t>(layout.state_dim);
  const std::string copies = "[" + std::to_string(n) + " copies, ";
  expect_size(r.observations(), n * o, source, "the reset's observations",
              copies + std::to_string(o) + summed_text(layout) + "]");
  if (layout.agent_axis) {
    expect_size(r.states(), n * s, source, "the reset's states", copies + std::to_string(s) + "]");
    expect_size(r.agent_active(), n * agents, source, "the reset's agent_active",
                copies + std::to_string(agents) + " agents]");
  }
  expect_finite(r.observations().data(), n, o, source, "the reset's observations", "copy");
  if (layout.agent_axis)
    expect_finite(r.states().data(), n, s, source, "the reset's states", "copy");
  unpack_observations(layout, r.observations().data(), n, buffers.observations.data());
  if (layout.agent_axis) {
    std::copy(r.states().begin(), r.states().end(), buffers.states.begin());
    std::copy(r.agent_active().begin(), r.agent_active().end(), buffers.active.begin());
  } else {
    std::fill(buffers.active.begin(), buffers.active.end(), 1);  // a plain env's one agent
  }
  std::fill(buffers.rewards.begin(), buffers.rewards.end(), 0.0);
  std::fill(buffers.terminated.begin(), buffers.terminated.end(), 0);
  std::fill(buffers.truncated.begin(), buffers.truncated.end(), 0);
}

void read_step(const AgentLayout& layout, const wire::StepResponse& r, envs::StepBuffers& buffers,
               const std::string& source) {
  const auto n = static_cast<std::size_t>(buffers.num_envs);
  const auto agents = static_cast<std::size_t>(layout.num_agents);
  const auto o = static_cast<std::size_t>(layout.obs_width);
  const auto s = static_cast<std::size_t>(layout.state_dim);
  const std::string copies = std::to_string(n) + " copies";
  const std::string a_text = std::to_string(agents) + " agents]";
  const bool axis = layout.agent_axis;
  expect_size(r.observations(), n * o, source, "observations",
              "[" + copies + ", " + std::to_string(o) + summed_text(layout) + "]");
  expect_size(r.rewards(), n, source, "rewards", "[" + copies + "]");
  expect_size(r.terminated(), n, source, "terminated", "[" + copies + "]");
  expect_size(r.truncated(), n, source, "truncated", "[" + copies + "]");
  if (axis) {
    expect_size(r.agent_rewards(), n * agents, source, "agent_rewards",
                "[" + copies + ", " + a_text);
    expect_size(r.agent_active(), n * agents, source, "agent_active", "[" + copies + ", " + a_text);
    expect_size(r.states(), n * s, source, "states", "[" + copies + ", " + std::to_string(s) + "]");
  }
  std::size_t ended = 0;
  for (std::size_t i = 0; i < n; ++i)
    ended += r.terminated(static_cast<int>(i)) || r.truncated(static_cast<int>(i));
  const std::string k = "[" + std::to_string(ended) + " ended copies";
  expect_size(r.final_observations(), ended * o, source, "final_observations",
              k + ", " + std::to_string(o) + "]");
  if (axis) {
    expect_size(r.final_states(), ended * s, source, "final_states",
                k + ", " + std::to_string(s) + "]");
    expect_size(r.final_agent_active(), ended * agents, source, "final_agent_active",
                k + ", " + a_text);
  }
  expect_size(r.episode_returns(), ended, source, "episode_returns", k + "]");
  expect_size(r.episode_lengths(), ended, source, "episode_lengths", k + "]");
  expect_finite(r.observations().data(), n, o, source, "the observation", "copy");
  expect_finite(r.rewards().data(), n, 1, source, "the reward", "copy");
  if (axis) {
    expect_finite(r.agent_rewards().data(), n, agents, source, "the agent rewards", "copy");
    expect_finite(r.states().data(), n, s, source, "the state", "copy");
  }
  expect_finite(r.final_observations().data(), ended, o, source, "the final observation",
                "ended copy");
  if (axis)
    expect_finite(r.final_states().data(), ended, s, source, "the final state", "ended copy");
  expect_finite(r.episode_returns().data(), ended, 1, source, "the episode return", "ended copy");
  for (std::size_t j = 0; j < ended; ++j)
    if (r.episode_lengths(static_cast<int>(j)) < 1)
      throw ProtocolError(source + " sent an episode length of " +
                          std::to_string(r.episode_lengths(static_cast<int>(j))) +
                          " for ended copy " + std::to_string(j) +
                          "; an episode that ends has taken at least one step");
  for (std::size_t i = 0; axis && i < n; ++i) {
    double team = 0.0, scale = 1.0;
    for (std::size_t a = 0; a < agents; ++a) {
      const double x = r.agent_rewards(static_cast<int>(i * agents + a));
      team += x;
      scale += std::fabs(x);
    }
    const double got = r.rewards(static_cast<int>(i));
    if (!(std::fabs(got - team) <= 1e-6 * scale))
      throw ProtocolError(
          source + " sent a reward of " + format_number(got) + " for copy " + std::to_string(i) +
          " but its agent_rewards sum to " + format_number(team) +
          "; rewards must be the sum of agent_rewards (is the agent axis laid out as " +
          "[N, A]?)");
  }

  unpack_observations(layout, r.observations().data(), n, buffers.observations.data());
  if (axis) {
    std::copy(r.agent_rewards().begin(), r.agent_rewards().end(), buffers.rewards.begin());
    std::copy(r.agent_active().begin(), r.agent_active().end(), buffers.active.begin());
    std::copy(r.states().begin(), r.states().end(), buffers.states.begin());
  } else {
    std::copy(r.rewards().begin(), r.rewards().end(), buffers.rewards.begin());
  }
  const auto padded = agents * static_cast<std::size_t>(layout.padded_obs);
  std::size_t j = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const int w = static_cast<int>(i);
    buffers.terminated[i] = r.terminated(w);
    buffers.truncated[i] = r.truncated(w);
    if (!buffers.done(w)) continue;
    unpack_observations(layout, r.final_observations().data() + j * o, 1,
                        buffers.final_observations.data() + i * padded);
    buffers.episode_returns[i] = r.episode_returns(static_cast<int>(j));
    buffers.episode_lengths[i] = r.episode_lengths(static_cast<int>(j));
    if (axis) {
      std::copy_n(r.final_states().data() + j * s, s, buffers.final_states.data() + i * s);
      std::copy_n(r.final_agent_active().data() + j * agents, agents,
                  buffers.final_active.data() + i * agents);
    } else {  // a plain env's one agent was active at its end, and its return is the team's
      buffers.final_active[i] = 1;
      buffers.agent_episode_returns[i] = buffers.episode_returns[i];
    }
    ++j;
  }
}

void pack_actions(const AgentLayout& layout, int num_envs, const envs::ActionBatch& batch,
                  wire::StepRequest* out) {
  const auto n = static_cast<std::size_t>(num_envs);
  const auto width = static_cast<std::size_t>(layout.padded_action);
  auto* discrete = out->mutable_discrete_actions();
  auto* continuous = out->mutable_continuous_actions();
  discrete->Reserve(static_cast<int>(n) * layout.discrete_width);
  continuous->Reserve(static_cast<int>(n) * layout.continuous_width);
  for (std::size_t i = 0; i < n; ++i)
    for (int a = 0; a < layout.num_agents; ++a) {
      const auto k = static_cast<std::size_t>(a);
      const std::size_t row = (i * static_cast<std::size_t>(layout.num_agents) + k) * width;
      for (std::size_t c = 0; c < static_cast<std::size_t>(layout.action_dim[k]); ++c) {
        if (layout.discrete[k])
          discrete->AddAlreadyReserved(batch.discrete[row + c]);
        else
          continuous->AddAlreadyReserved(batch.continuous[row + c]);
      }
    }
}

void unpack_actions(const AgentLayout& layout, int num_envs, const wire::StepRequest& request,
                    std::vector<std::int64_t>& discrete, std::vector<float>& continuous) {
  const auto n = static_cast<std::size_t>(num_envs);
  auto check = [&](const char* field, int width, int got, const char* kind) {
    if (width == 0 && got != 0)
      throw ProtocolError(std::string("no agent of this env takes ") + kind + " actions; " + field +
                          " must be empty, got " + std::to_string(got) + " values");
    if (static_cast<std::size_t>(got) != n * static_cast<std::size_t>(width))
      throw ProtocolError("expected " + std::to_string(n * static_cast<std::size_t>(width)) +
                          " values in " + field + " (" + std::to_string(n) + " copies x " +
                          std::to_string(width) + " " + kind +
                          " component(s) of the agents' action spaces, in agent order), got " +
                          std::to_string(got));
  };
  check("discrete_actions", layout.discrete_width, request.discrete_actions_size(), "discrete");
  check("continuous_actions", layout.continuous_width, request.continuous_actions_size(),
        "continuous");
  const auto agents = static_cast<std::size_t>(layout.num_agents);
  const auto width = static_cast<std::size_t>(layout.padded_action);
  discrete.assign(layout.discrete_width > 0 ? n * agents * width : 0, envs::kNoDiscreteAction);
  continuous.assign(layout.continuous_width > 0 ? n * agents * width : 0,
                    envs::kNoContinuousAction);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < agents; ++k) {
      const std::size_t row = (i * agents + k) * width;
      const auto dim = static_cast<std::size_t>(layout.action_dim[k]);
      const auto from = static_cast<std::size_t>(layout.action_offset[k]);
      if (layout.discrete[k]) {
        const std::int64_t* src = request.discrete_actions().data() +
                                  i * static_cast<std::size_t>(layout.discrete_width) + from;
        std::copy_n(src, dim, discrete.data() + row);
      } else {
        const float* src = request.continuous_actions().data() +
                           i * static_cast<std::size_t>(layout.continuous_width) + from;
        std::copy_n(src, dim, continuous.data() + row);
      }
    }
}

void check_joint_actions(const envs::MultiAgentSpec& spec, int num_envs,
                         std::span<const std::uint8_t> active, const envs::ActionBatch& batch) {
  const auto n = static_cast<std::size_t>(num_envs);
  const auto agents = static_cast<std::size_t>(spec.num_agents());
  const auto width = static_cast<std::size_t>(spec.max_action_dim());
  const std::size_t expected = n * agents * width;
  auto size_error = [&](std::size_t got, const char* kind) {
    return ProtocolError("expected " + std::to_string(expected) + " " + kind + " action values ([" +
                         std::to_string(n) + " copies, " + std::to_string(agents) + " agents, " +
                         std::to_string(width) + " per agent]), got " + std::to_string(got));
  };
  if (spec.has_discrete_actions() && batch.discrete.size() != expected)
    throw size_error(batch.discrete.size(), "discrete");
  if (spec.has_continuous_actions() && batch.continuous.size() != expected)
    throw size_error(batch.continuous.size(), "continuous");
  if (active.size() != n * agents)
    throw ProtocolError("the active mask holds " + std::to_string(active.size()) +
                        " values, expected " + std::to_string(n * agents));

  for (std::size_t i = 0; i < n; ++i) {
    for (int a = 0; a < spec.num_agents(); ++a) {
      const auto k = static_cast<std::size_t>(a);
      const envs::Space& space = spec.action_spaces[k];
      const auto dim = static_cast<std::size_t>(space.flat_dim());
      const std::size_t row = (i * agents + k) * width;
      const bool live = active[i * agents + k] != 0;
      auto who = [&] { return "copy " + std::to_string(i) + ", " + agent_text(spec, a); };
      for (std::size_t c = 0; c < dim; ++c) {
        const std::string at = dim > 1 ? " at component " + std::to_string(c) : std::string();
        if (space.is_discrete()) {
          const std::int64_t v = batch.discrete[row + c];
          if (!live) {
            if (v != envs::kNoDiscreteAction)
              throw ProtocolError(who() + " is inactive; its action must be " +
                                  std::to_string(envs::kNoDiscreteAction) + " (no action), got " +
                                  std::to_string(v) + at);
            continue;
          }
          const bool single = space.kind == envs::SpaceKind::kDiscrete;
          const std::int64_t lo = single ? space.start : 0;
          const std::int64_t hi = single ? space.start + space.n - 1 : space.nvec[c] - 1;
          if (v < lo || v > hi)
            throw ProtocolError(who() + ": discrete action " + std::to_string(v) + at +
                                " is outside " + space.describe() + " (allowed " +
                                std::to_string(lo) + ".." + std::to_string(hi) + ")");
        } else {
          const float v = batch.continuous[row + c];
          if (!live) {
            if (!std::isnan(v))
              throw ProtocolError(who() + " is inactive; its action must be NaN (no action), got " +
                                  format_number(v) + at);
            continue;
          }
          if (!std::isfinite(v))
            throw ProtocolError(who() + ": continuous action " + format_number(v) + at +
                                " is not finite; actions of active agents must be finite");
        }
      }
    }
  }
}

void read_actions(const envs::MultiAgentSpec& spec, const AgentLayout& layout, int num_envs,
                  std::span<const std::uint8_t> active, const wire::StepRequest& request,
                  std::vector<std::int64_t>& discrete, std::vector<float>& continuous) {
  if (spec.single_agent)
    check_single_agent_actions(spec.single_agent->action_space, static_cast<std::size_t>(num_envs),
                               request);
  unpack_actions(layout, num_envs, request, discrete, continuous);
  if (!spec.single_agent) check_joint_actions(spec, num_envs, active, {discrete, continuous});
}

}  // namespace trustrl::server
