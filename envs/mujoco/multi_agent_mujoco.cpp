#include "envs/mujoco/multi_agent_mujoco.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "core/error.h"

namespace trustrl::envs {

namespace {

std::string mamujoco_id(const JointGraph& graph) { return "mamujoco_v1/" + graph.robot; }

const std::vector<std::vector<int>>& read_partition(EnvOptions& options, const JointGraph& graph) {
  const std::string conf = options.text("agent_conf", graph.default_conf);
  try {
    return graph.partition(conf);
  } catch (const Error& e) {
    throw Error(mamujoco_id(graph) + ": option " + e.what());
  }
}

// agent_obsk, or nullopt when every agent observes the global state (agent_observation: global).
std::optional<int> read_depth(EnvOptions& options, const JointGraph& graph) {
  const std::string observation = options.text("agent_observation", "local");
  if (observation == "global") {
    if (options.has("agent_obsk"))
      throw Error(mamujoco_id(graph) +
                  ": option 'agent_obsk' has no meaning with agent_observation: global (every "
                  "agent observes the whole state)");
    return std::nullopt;
  }
  if (observation != "local")
    throw Error(mamujoco_id(graph) + ": option 'agent_observation' must be local or global, got '" +
                observation + "'");
  const std::int64_t k = options.integer("agent_obsk", 1, Bounds::at_least(0));
  // Beyond the graph's diameter every further level is empty: the same observation.
  return static_cast<int>(std::min<std::int64_t>(k, static_cast<std::int64_t>(graph.nodes.size())));
}

void check_model(const JointGraph& graph, const MujocoSim& sim) {
  if (sim.nq() == graph.nq && sim.nv() == graph.nv && sim.nu() == graph.nu &&
      sim.nbody() == graph.nbody)
    return;
  const auto sizes = [](int nq, int nv, int nu, int nbody) {
    return "nq " + std::to_string(nq) + ", nv " + std::to_string(nv) + ", nu " +
           std::to_string(nu) + ", nbody " + std::to_string(nbody);
  };
  throw Error(mamujoco_id(graph) + ": the model has " +
              sizes(sim.nq(), sim.nv(), sim.nu(), sim.nbody()) + "; the " + graph.robot +
              " joint graph needs " + sizes(graph.nq, graph.nv, graph.nu, graph.nbody));
}

MultiAgentSpec mamujoco_spec(const JointGraph& graph, const EnvSpec& single, const MujocoSim& sim,
                             const std::vector<std::vector<int>>& partition, std::optional<int> k) {
  check_model(graph, sim);
  MultiAgentSpec s;
  s.id = mamujoco_id(graph);
  const Space& actions = single.action_space;
  for (std::size_t a = 0; a < partition.size(); ++a) {
    s.agent_names.push_back("agent_" + std::to_string(a));
    const std::int64_t obs_dim =
        k ? static_cast<std::int64_t>(agent_observation(graph, partition[a], *k).size())
          : single.observation_space.flat_dim();
    s.observation_spaces.push_back(Space::box(-std::numeric_limits<float>::infinity(),
                                              std::numeric_limits<float>::infinity(), {obs_dim}));
    std::vector<float> low, high;
    for (int n : partition[a]) {
      const auto i = static_cast<std::size_t>(graph.nodes[static_cast<std::size_t>(n)].actuator);
      low.push_back(actions.low[i]);
      high.push_back(actions.high[i]);
    }
    s.action_spaces.push_back(Space::box(std::move(low), std::move(high)));
  }
  s.state_space = single.observation_space;
  s.max_episode_steps = single.max_episode_steps;
  s.render_fps = single.render_fps;
  return s;
}

}  // namespace

MultiAgentMujoco::MultiAgentMujoco(EnvOptions& options, const JointGraph& graph,
                                   std::unique_ptr<Env> env, const MujocoSim& sim, Forces cfrc_ext)
    : MultiAgentMujoco(graph, std::move(env), sim, std::move(cfrc_ext),
                       read_partition(options, graph), read_depth(options, graph)) {}

MultiAgentMujoco::MultiAgentMujoco(const JointGraph& graph, std::unique_ptr<Env> env,
                                   const MujocoSim& sim, Forces cfrc_ext,
                                   const std::vector<std::vector<int>>& partition,
                                   std::optional<int> k)
    : MultiAgentEnv(mamujoco_spec(graph, env->spec(), sim, partition, k)),
      graph_(graph),
      env_(std::move(env)),
      sim_(sim),
      cfrc_ext_(cfrc_ext ? std::move(cfrc_ext) : Forces([&sim] { return sim.cfrc_ext(); })),
      partition_(partition),
      action_(static_cast<std::size_t>(sim.nu()), 0.0f) {
  if (k)
    for (const auto& agent : partition_) layouts_.push_back(agent_observation(graph_, agent, *k));
  // This env counts steps and truncates (its spec copied the limit); the wrapped env must not
  // end an episode on its own clock.
  env_->set_time_limit(0);
}

void MultiAgentMujoco::write_observations(const MultiAgentView& out) const {
  const auto width = static_cast<std::size_t>(spec().max_obs_dim());
  if (layouts_.empty()) {  // agent_observation: global
    for (std::size_t a = 0; a < partition_.size(); ++a)
      std::copy(out.state.begin(), out.state.end(),
                out.observations.begin() + static_cast<std::ptrdiff_t>(a * width));
    return;
  }
  const auto qpos = sim_.qpos(), qvel = sim_.qvel(), cfrc_ext = cfrc_ext_();
  for (std::size_t a = 0; a < layouts_.size(); ++a) {
    float* row = out.observations.data() + a * width;
    for (const ObservedValue& v : layouts_[a]) {
      const auto i = static_cast<std::size_t>(v.index);
      const double x = v.source == JointSource::kQpos   ? qpos[i]
                       : v.source == JointSource::kQvel ? qvel[i]
                                                        : cfrc_ext[i];
      *row++ = static_cast<float>(std::clamp(x, -v.clip, v.clip));
    }
  }
}

void MultiAgentMujoco::reset_impl(const MultiAgentView& out) {
  // The seed goes to the wrapped env's RNG, which draws the reset noise as the plain env does.
  env_->reset(reset_seed(), out.state);
  write_observations(out);
}

MultiAgentStepResult MultiAgentMujoco::step_impl(const JointAction& action,
                                                 const MultiAgentView& out,
                                                 std::span<double> rewards) {
  const auto width = static_cast<std::size_t>(spec().max_action_dim());
  for (std::size_t a = 0; a < partition_.size(); ++a)
    for (std::size_t j = 0; j < partition_[a].size(); ++j) {
      const JointNode& node = graph_.nodes[static_cast<std::size_t>(partition_[a][j])];
      action_[static_cast<std::size_t>(node.actuator)] = action.continuous[a * width + j];
    }
  // MultiAgentEnv checked every component (finite, right count); the wrapped env clips.
  const StepResult r = env_->step_checked({{}, action_}, out.state);
  std::fill(rewards.begin(), rewards.end(), r.reward);
  write_observations(out);
  // An ended episode leaves the agents active: the episode's flags say it (MaMuJoCo ends all
  // agents together).
  return {r.terminated, r.truncated};
}

void MultiAgentMujoco::set_state_impl(std::span<const double> state, const MultiAgentView& out) {
  env_->set_state(state, out.state);
  write_observations(out);
}

void MultiAgentMujoco::load(ByteReader& in, const MultiAgentView& out) {
  const auto agents = static_cast<std::size_t>(num_agents());
  if (out.observations.size() != agents * static_cast<std::size_t>(spec().max_obs_dim()) ||
      out.state.size() != static_cast<std::size_t>(spec().state_dim()) ||
      out.active.size() != agents)
    throw Error(spec().id + ": load() needs buffers of " +
                std::to_string(agents * static_cast<std::size_t>(spec().max_obs_dim())) +
                " observation, " + std::to_string(spec().state_dim()) + " state and " +
                std::to_string(agents) + " active values");
  env_->load(in, out.state);
  write_observations(out);
  // The wrapped env does not see this env's time limit, which may have ended the episode.
  const int limit = spec().max_episode_steps;
  const bool cut = limit > 0 && env_->elapsed_steps() >= limit;
  restore_episode(env_->elapsed_steps(), env_->needs_reset() || cut, out);
}

}  // namespace trustrl::envs
