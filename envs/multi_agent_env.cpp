#include "envs/multi_agent_env.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "core/text.h"

namespace trustrl::envs {

namespace {
std::string agent_label(const MultiAgentSpec& spec, int a) {
  return "agent " + std::to_string(a) + " (" + spec.agent_names[static_cast<std::size_t>(a)] + ")";
}
}  // namespace

std::int64_t MultiAgentSpec::obs_dim(int agent) const {
  return observation_spaces.at(static_cast<std::size_t>(agent)).flat_dim();
}
std::int64_t MultiAgentSpec::action_dim(int agent) const {
  return action_spaces.at(static_cast<std::size_t>(agent)).flat_dim();
}

std::int64_t MultiAgentSpec::max_obs_dim() const {
  std::int64_t d = 0;
  for (const auto& s : observation_spaces) d = std::max(d, s.flat_dim());
  return d;
}

std::int64_t MultiAgentSpec::max_action_dim() const {
  std::int64_t d = 0;
  for (const auto& s : action_spaces) d = std::max(d, s.flat_dim());
  return d;
}

bool MultiAgentSpec::has_discrete_actions() const {
  return std::any_of(action_spaces.begin(), action_spaces.end(),
                     [](const Space& s) { return s.is_discrete(); });
}
bool MultiAgentSpec::has_continuous_actions() const {
  return std::any_of(action_spaces.begin(), action_spaces.end(),
                     [](const Space& s) { return !s.is_discrete(); });
}

std::vector<AgentGroup> MultiAgentSpec::agent_groups() const {
  std::vector<AgentGroup> groups;
  for (int a = 0; a < num_agents(); ++a) {
    const auto k = static_cast<std::size_t>(a);
    auto it = std::find_if(groups.begin(), groups.end(), [&](const AgentGroup& g) {
      return g.observation_space == observation_spaces[k] && g.action_space == action_spaces[k];
    });
    if (it == groups.end())
      groups.push_back({{a}, observation_spaces[k], action_spaces[k]});
    else
      it->agents.push_back(a);
  }
  return groups;
}

void MultiAgentSpec::validate() const {
  const std::string where = (id.empty() ? std::string("a multi-agent spec") : id) + ": ";
  if (id.empty()) throw Error(where + "the spec has no id");
  const auto n = agent_names.size();
  if (n == 0) throw Error(where + "needs at least one agent");
  if (observation_spaces.size() != n || action_spaces.size() != n)
    throw Error(where + std::to_string(n) + " agent names but " +
                std::to_string(observation_spaces.size()) + " observation spaces and " +
                std::to_string(action_spaces.size()) + " action spaces");
  std::set<std::string> seen;
  for (int a = 0; a < num_agents(); ++a) {
    const auto k = static_cast<std::size_t>(a);
    if (agent_names[k].empty()) throw Error(where + "agent " + std::to_string(a) + " has no name");
    if (!seen.insert(agent_names[k]).second)
      throw Error(where + "agent name '" + agent_names[k] + "' is used twice");
    const Space& obs = observation_spaces[k];
    if (obs.kind != SpaceKind::kBox || obs.flat_dim() == 0)
      throw Error(where + "the observation space of " + agent_label(*this, a) +
                  " must be a non-empty float32 Box");
    const Space& act = action_spaces[k];
    if (act.flat_dim() == 0)
      throw Error(where + "the action space of " + agent_label(*this, a) + " is empty");
    // A plain env's one agent is never inactive, so its actions may use the sentinel's value.
    if (!single_agent && act.kind == SpaceKind::kDiscrete && act.start <= kNoDiscreteAction &&
        kNoDiscreteAction < act.start + act.n)
      throw Error(where + "the action space of " + agent_label(*this, a) + ", " + act.describe() +
                  ", contains " + std::to_string(kNoDiscreteAction) +
                  ", the no-action sentinel of inactive agents");
  }
  if (state_space.kind != SpaceKind::kBox)
    throw Error(where + "the state space must be a float32 Box");
  if (max_episode_steps < 0) throw Error(where + "max_episode_steps is negative");
}

std::string MultiAgentSpec::canonical() const {
  if (single_agent) return single_agent->canonical();
  std::string s = id + ";agents=" + std::to_string(num_agents());
  for (int a = 0; a < num_agents(); ++a) {
    const auto k = static_cast<std::size_t>(a);
    s += ";" + agent_names[k] + ":obs=" + observation_spaces[k].canonical() +
         ",act=" + action_spaces[k].canonical();
  }
  // Space::describe() needs at least one component, so an absent state is spelled out.
  s += ";state=" + (state_dim() > 0 ? state_space.canonical() : std::string("none"));
  return s + ";max_steps=" + std::to_string(max_episode_steps);
}

MultiAgentEnv::MultiAgentEnv(MultiAgentSpec spec) : spec_(std::move(spec)) {
  spec_.validate();
  max_obs_dim_ = spec_.max_obs_dim();
  max_action_dim_ = spec_.max_action_dim();
  for (int a = 0; a < spec_.num_agents(); ++a) {
    obs_dims_.push_back(static_cast<std::size_t>(spec_.obs_dim(a)));
    padded_ = padded_ || spec_.obs_dim(a) < max_obs_dim_;
  }
  has_discrete_ = spec_.has_discrete_actions();
  has_continuous_ = spec_.has_continuous_actions();
  active_.assign(static_cast<std::size_t>(spec_.num_agents()), 0);
}

void MultiAgentEnv::check_view(const MultiAgentView& out) const {
  const auto a = static_cast<std::size_t>(num_agents());
  const auto obs = a * static_cast<std::size_t>(max_obs_dim_);
  const auto state = static_cast<std::size_t>(spec_.state_dim());
  if (out.observations.size() != obs || out.state.size() != state || out.active.size() != a)
    throw Error(spec_.id + ": output buffers hold " + std::to_string(out.observations.size()) +
                " observation, " + std::to_string(out.state.size()) + " state and " +
                std::to_string(out.active.size()) + " active values; expected " +
                std::to_string(obs) + " ([" + std::to_string(a) + " agents, " +
                std::to_string(max_obs_dim_) + "]), " + std::to_string(state) + " and " +
                std::to_string(a));
}

void MultiAgentEnv::finish_view(const MultiAgentView& out) {
  const auto width = static_cast<std::size_t>(max_obs_dim_);
  if (padded_)
    for (std::size_t a = 0; a < obs_dims_.size(); ++a)
      std::fill(out.observations.begin() + static_cast<std::ptrdiff_t>(a * width + obs_dims_[a]),
                out.observations.begin() + static_cast<std::ptrdiff_t>((a + 1) * width), 0.0f);
  std::copy(out.active.begin(), out.active.end(), active_.begin());
}

void MultiAgentEnv::reset(std::optional<std::uint64_t> seed, const MultiAgentView& out) {
  check_view(out);
  if (seed) rng_.reseed(*seed);
  elapsed_steps_ = 0;
  needs_reset_ = false;
  std::fill(out.active.begin(), out.active.end(), std::uint8_t{1});
  reset_seed_ = seed;
  reset_impl(out);
  reset_seed_.reset();
  finish_view(out);
}

void MultiAgentEnv::check_action(const JointAction& action) const {
  if (needs_reset_)
    throw Error(spec_.id + ": step() called without a running episode; call reset() first");
  const auto a_count = static_cast<std::size_t>(num_agents());
  const auto width = static_cast<std::size_t>(max_action_dim_);
  const auto expected = a_count * width;
  auto check_size = [&](std::size_t got, const char* kind) {
    if (got != expected)
      throw Error(spec_.id + ": expected a joint action of " + std::to_string(expected) + " " +
                  kind + " values ([" + std::to_string(a_count) + " agents, " +
                  std::to_string(width) + " per agent]), got " + std::to_string(got));
  };
  if (has_discrete_) check_size(action.discrete.size(), "discrete");
  if (has_continuous_) check_size(action.continuous.size(), "continuous");

  for (int a = 0; a < num_agents(); ++a) {
    const Space& space = spec_.action_spaces[static_cast<std::size_t>(a)];
    const auto dim = static_cast<std::size_t>(space.flat_dim());
    const std::size_t row = static_cast<std::size_t>(a) * width;
    const bool active = active_[static_cast<std::size_t>(a)] != 0;
    if (space.is_discrete()) {
      const auto values = action.discrete.subspan(row, dim);
      if (!active) {
        for (std::size_t i = 0; i < dim; ++i)
          if (values[i] != kNoDiscreteAction)
            throw Error(spec_.id + ": " + agent_label(spec_, a) +
                        " is inactive; its action must be " + std::to_string(kNoDiscreteAction) +
                        " (no action), got " + std::to_string(values[i]) + " at component " +
                        std::to_string(i));
        continue;
      }
      if (!space.contains(values)) {
        std::string text;
        for (auto v : values) text += (text.empty() ? "" : ", ") + std::to_string(v);
        throw Error(spec_.id + ": action " + text + " of " + agent_label(spec_, a) +
                    " is outside " + space.describe());
      }
      continue;
    }
    const auto values = action.continuous.subspan(row, dim);
    for (std::size_t i = 0; i < dim; ++i) {
      if (!active && !std::isnan(values[i]))
        throw Error(spec_.id + ": " + agent_label(spec_, a) +
                    " is inactive; its action must be NaN (no action), got " +
                    format_number(values[i]) + " at component " + std::to_string(i));
      if (active && !std::isfinite(values[i]))
        throw Error(spec_.id + ": action component " + std::to_string(i) + " of " +
                    agent_label(spec_, a) + " is " + format_number(values[i]) +
                    "; actions of active agents must be finite");
    }
  }
}

MultiAgentStepResult MultiAgentEnv::step(const JointAction& action, const MultiAgentView& out,
                                         std::span<double> rewards) {
  check_action(action);
  check_view(out);
  if (rewards.size() != static_cast<std::size_t>(num_agents()))
    throw Error(spec_.id + ": the reward buffer holds " + std::to_string(rewards.size()) +
                " values; expected one per agent, " + std::to_string(num_agents()));
  return step_checked(action, out, rewards);
}

MultiAgentStepResult MultiAgentEnv::step_checked(const JointAction& action,
                                                 const MultiAgentView& out,
                                                 std::span<double> rewards) {
  std::copy(active_.begin(), active_.end(), out.active.begin());
  std::fill(rewards.begin(), rewards.end(), 0.0);
  MultiAgentStepResult r = step_impl(action, out, rewards);
  finish_view(out);
  ++elapsed_steps_;
  if (spec_.max_episode_steps > 0 && elapsed_steps_ >= spec_.max_episode_steps) r.truncated = true;
  if (r.terminated || r.truncated) needs_reset_ = true;
  return r;
}

void MultiAgentEnv::set_time_limit(int max_episode_steps) {
  spec_.max_episode_steps = max_episode_steps;
  if (spec_.single_agent) spec_.single_agent->max_episode_steps = max_episode_steps;
}

void MultiAgentEnv::set_state(std::span<const double> state, const MultiAgentView& out) {
  check_view(out);
  std::fill(out.active.begin(), out.active.end(), std::uint8_t{1});
  set_state_impl(state, out);
  finish_view(out);
}

void MultiAgentEnv::save(ByteWriter& out) const {
  out.put_vector(get_state());
  out.put(rng_.state());
  out.put<std::int32_t>(elapsed_steps_);
  out.put<std::uint8_t>(needs_reset_);
}

void MultiAgentEnv::load(ByteReader& in, const MultiAgentView& out) {
  const auto state = in.get_vector<double>();
  const auto rng_state = in.get<Rng::State>();
  const auto elapsed = in.get<std::int32_t>();
  const bool needs_reset = in.get<std::uint8_t>() != 0;
  set_state(state, out);
  rng_.set_state(rng_state);
  elapsed_steps_ = elapsed;
  needs_reset_ = needs_reset;
}

void MultiAgentEnv::restore_episode(int elapsed_steps, bool needs_reset,
                                    const MultiAgentView& out) {
  check_view(out);
  std::fill(out.active.begin(), out.active.end(), std::uint8_t{1});
  finish_view(out);
  elapsed_steps_ = elapsed_steps;
  needs_reset_ = needs_reset;
}

Frame MultiAgentEnv::render() const { throw Error(spec_.id + " cannot render itself"); }

}  // namespace trustrl::envs
