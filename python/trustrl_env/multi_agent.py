"""Serve a multi-agent simulator with PettingZoo's parallel API over the trustrl env protocol.

The simulator is any object with, duck-typed:
    possible_agents (or agents)               the agent names; their order is the agent axis
    observation_space(agent), action_space(agent)
    reset(seed=None) -> (observations, infos)                  dicts keyed by agent
    step(actions) -> (observations, rewards, terminations, truncations, infos)
and optionally `agents` (the agents still acting, as PettingZoo keeps it), `state()` with
`state_space` (the global state; without `state_space` its shape is learned from one reset),
`max_episode_steps` (the time limit, counted here) and `metadata["name"]`.

How PettingZoo's dicts become the protocol's fixed-shape arrays (docs/REMOTE_ENVS.md, multi-agent):
- an agent acts while it is live (in `agents`, not terminated or truncated); once done it stays in
  its slot with agent_active 0 and gets no action, no reward and a zero observation;
- the episode ends when no agent is live (or at the time limit). It is `truncated` if some agent
  was truncated in its last step (or the time limit hit), `terminated` if the agents that ended it
  were all terminated; both may be set;
- final_agent_active marks the agents a learner should bootstrap: those live in the last step and
  not terminated. An agent truncated on its own while others go on becomes inactive like a
  terminated one (the fixed-shape arrays have no other place for it);
- the SDK resets every copy itself (same-step auto-reset, reset(seed=None) for the next episode)
  and checks every joint action (sizes, values, the no-action sentinels -1 / NaN of inactive
  agents) before any copy moves, and every observation, state and reward before it leaves.
"""

import math

import numpy as np

from . import protocol
from .protocol import env_pb2
from .session import Code, Refusal, Session, close_env, default_time_limit, server_info


def is_parallel_env(env):
    """Whether `env` follows PettingZoo's parallel API (spaces are methods taking an agent)."""
    has_agents = hasattr(env, "possible_agents") or hasattr(env, "agents")
    return has_agents and callable(getattr(env, "observation_space", None)) and \
        callable(getattr(env, "action_space", None))


def _space_of(space, what):
    try:
        return protocol.space_to_wire(space)
    except TypeError as e:
        raise TypeError(f"{what}: {e}") from None


class MultiAgentServed:
    """What every session of one multi-agent server shares: the env maker, the spec, the limits."""

    def __init__(self, make_env, probe, num_envs, env_id, max_episode_steps, server_name):
        agents = list(getattr(probe, "possible_agents", None) or getattr(probe, "agents", None) or [])
        if not agents:
            raise ValueError("the multi-agent env lists no agents (possible_agents or agents)")
        if len(set(map(str, agents))) != len(agents):
            raise ValueError(f"agent names must be unique, got {agents}")
        metadata = getattr(probe, "metadata", None) or {}
        spec = env_pb2.EnvSpec()
        spec.id = env_id or metadata.get("name") or type(probe).__name__
        spec.num_agents = len(agents)
        for agent in agents:
            wire = spec.agents.add()
            wire.name = str(agent)
            wire.observation_space.CopyFrom(
                _space_of(probe.observation_space(agent), f"observation_space({agent!r})"))
            if wire.observation_space.kind != env_pb2.SPACE_KIND_BOX:
                raise TypeError(f"observations must be float32 Boxes; agent {agent!r} has "
                                f"{probe.observation_space(agent)!r}")
            wire.action_space.CopyFrom(_space_of(probe.action_space(agent), f"action_space({agent!r})"))
            a = wire.action_space
            if a.kind == env_pb2.SPACE_KIND_DISCRETE and a.start <= -1 < a.start + a.n:
                raise ValueError(f"the action space of agent {agent!r} contains -1, the no-action "
                                 "sentinel of inactive agents; start it at 0 or above")
        if callable(getattr(probe, "state", None)):
            space = getattr(probe, "state_space", None)
            if space is None:  # learn the width from one state
                probe.reset(seed=0)
                width = int(np.asarray(probe.state(), dtype=np.float32).size)
                space = _Box(width)
            spec.state_space.CopyFrom(_space_of(space, "state_space"))
            if spec.state_space.kind != env_pb2.SPACE_KIND_BOX:
                raise TypeError(f"the state space must be a float32 Box, got {space!r}")
        spec.max_episode_steps = int(max_episode_steps if max_episode_steps is not None
                                     else default_time_limit(probe))
        spec.render_fps = int(metadata.get("render_fps", 30) or 30)
        spec.autoreset_mode = env_pb2.AUTORESET_MODE_SAME_STEP
        close_env(probe)
        self.make_env = make_env
        self.agents = agents
        self.has_state = spec.HasField("state_space")
        self.info = server_info(spec, num_envs, server_name)

    def new_session(self):
        return MultiAgentSession(self)


class _Box:
    """An unbounded float32 Box of `width` components, for a state without a declared space."""

    def __init__(self, width):
        self.shape = (width,)
        self.low = np.full(width, -np.inf, dtype=np.float32)
        self.high = np.full(width, np.inf, dtype=np.float32)


class MultiAgentSession(Session):
    """The session loop with agent-axis arrays: observations, actions, rewards and flags per agent."""

    def _setup(self, info):
        spec = info.spec
        self.names = list(self.served.agents)  # the simulator's own keys, in agent order
        self.labels = [f"agent {a} ({spec.agents[a].name})" for a in range(spec.num_agents)]
        self.obs_dims = [protocol.flat_dim(agent.observation_space) for agent in spec.agents]
        self.obs_offsets = np.concatenate([[0], np.cumsum(self.obs_dims)]).astype(int)
        self.action_spaces = [agent.action_space for agent in spec.agents]
        self.action_dims = [protocol.flat_dim(s) for s in self.action_spaces]
        self.discrete = [s.kind != env_pb2.SPACE_KIND_BOX for s in self.action_spaces]
        self.action_offsets, widths = [], [0, 0]  # offsets in the discrete / continuous rows
        for d, dim in zip(self.discrete, self.action_dims):
            self.action_offsets.append(widths[0 if d else 1])
            widths[0 if d else 1] += dim
        self.discrete_width, self.continuous_width = widths
        self.state_dim = protocol.flat_dim(spec.state_space) if self.served.has_state else 0
        n, agents = info.num_envs, spec.num_agents
        self.observations = np.zeros((n, int(self.obs_offsets[-1])), dtype=np.float32)
        self.states = np.zeros((n, self.state_dim), dtype=np.float32)
        self.active = np.zeros((n, agents), dtype=bool)

    # -- the simulator's outputs, checked --------------------------------------------------

    def _store_view(self, obs_row, state_row, i, env, observations, what):
        """Copy i's observations (a dict; absent agents get zeros) and state into the rows."""
        if not isinstance(observations, dict):
            raise Refusal(Code.INTERNAL, f"the simulator's {what} for copy {i} must be a dict of "
                                           f"observations keyed by agent, got {type(observations).__name__}")
        obs_row[:] = 0.0
        for a, name in enumerate(self.names):
            if name not in observations:
                continue
            try:
                values = np.asarray(observations[name], dtype=np.float32).ravel()
            except (TypeError, ValueError) as e:
                raise Refusal(Code.INTERNAL, f"the simulator's {what} of {self.labels[a]} for copy {i} "
                                               f"is not an array of numbers: {e}")
            if values.size != self.obs_dims[a]:
                raise Refusal(Code.INTERNAL,
                               f"the simulator's {what} of {self.labels[a]} for copy {i} has "
                               f"{values.size} values; its observation space needs {self.obs_dims[a]}")
            obs_row[self.obs_offsets[a]:self.obs_offsets[a + 1]] = values
        if self.state_dim:
            try:
                state = np.asarray(env.state(), dtype=np.float32).ravel()
            except Exception as e:
                raise self._failed("state()", i, e)
            if state.size != self.state_dim:
                raise Refusal(Code.INTERNAL, f"the simulator's state() for copy {i} has {state.size} "
                                               f"values; the state space needs {self.state_dim}")
            state_row[:] = state

    def _live(self, env, observations):
        """The agents acting next: the env's `agents` if it keeps them, else those observed."""
        live = getattr(env, "agents", None)
        live = set(live) if live is not None else set(observations)
        return np.array([name in live for name in self.names], dtype=bool)

    def _check_views(self, rows, states, copies, what):
        for array, kind in ((rows, "observation"), (states, "state")):
            bad = ~np.isfinite(array)
            if bad.any():
                r, k = (int(x[0]) for x in np.nonzero(bad))
                raise Refusal(Code.INTERNAL, f"the simulator's {what} {kind} for copy {copies[r]} has "
                                               f"{array[r, k]} at index {k}; values must be finite")

    def _store_reset(self, i, env, observations):
        self._store_view(self.observations[i], self.states[i], i, env, observations,
                         "reset() observation")
        self.active[i] = self._live(env, observations)

    def _check_all(self, what):
        self._check_views(self.observations, self.states, range(len(self.envs)), what)

    def _reset_fields(self, response):
        response.states.extend(self.states.ravel().tolist())
        response.agent_active.extend(self.active.ravel().tolist())

    # -- actions and steps -----------------------------------------------------------------

    def _actions(self, request):
        """Each copy's action dict for its live agents, the whole batch checked first."""
        n = len(self.envs)
        for field, width, kind in (("discrete_actions", self.discrete_width, "discrete"),
                                   ("continuous_actions", self.continuous_width, "continuous")):
            got = len(getattr(request, field))
            if width == 0 and got:
                raise Refusal(Code.INVALID_ARGUMENT,
                               f"step: no agent of this env takes {kind} actions; {field} must be "
                               f"empty, got {got} values")
            if got != n * width:
                raise Refusal(Code.INVALID_ARGUMENT,
                               f"step: expected {n * width} values in {field} ({n} copies x {width} "
                               f"{kind} component(s) of the agents' action spaces, in agent order), "
                               f"got {got}")
        discrete = np.asarray(request.discrete_actions, dtype=np.int64).reshape(n, self.discrete_width)
        continuous = np.asarray(request.continuous_actions, dtype=np.float32).reshape(
            n, self.continuous_width)
        batch = []
        for i in range(n):
            actions = {}
            for a, name in enumerate(self.names):
                start, dim, space = self.action_offsets[a], self.action_dims[a], self.action_spaces[a]
                who = f"step: copy {i}, {self.labels[a]}"
                values = (discrete if self.discrete[a] else continuous)[i, start:start + dim]
                at = lambda c: f" at component {c}" if dim > 1 else ""  # noqa: E731
                if not self.active[i, a]:
                    sentinel = values == -1 if self.discrete[a] else np.isnan(values)
                    if not sentinel.all():
                        c = int(np.flatnonzero(~sentinel)[0])
                        raise Refusal(Code.INVALID_ARGUMENT,
                                       f"{who} is inactive; its action must be "
                                       f"{'-1' if self.discrete[a] else 'NaN'} (no action), got "
                                       f"{values[c]}{at(c)}")
                    continue
                if self.discrete[a]:
                    if space.kind == env_pb2.SPACE_KIND_DISCRETE:
                        low, high = np.array([space.start]), np.array([space.start + space.n - 1])
                    else:
                        low, high = np.zeros(dim, dtype=np.int64), np.asarray(space.nvec) - 1
                    bad = np.flatnonzero((values < low) | (values > high))
                    if bad.size:
                        c = int(bad[0])
                        raise Refusal(Code.INVALID_ARGUMENT,
                                       f"{who}: discrete action {values[c]}{at(c)} is outside "
                                       f"{protocol.describe_space(space)} (allowed {low[c]}..{high[c]})")
                    actions[name] = int(values[0]) if space.kind == env_pb2.SPACE_KIND_DISCRETE \
                        else values.copy()
                else:
                    bad = np.flatnonzero(~np.isfinite(values))
                    if bad.size:
                        c = int(bad[0])
                        raise Refusal(Code.INVALID_ARGUMENT,
                                       f"{who}: continuous action {values[c]}{at(c)} is not finite; "
                                       "actions of active agents must be finite")
                    actions[name] = values.reshape(tuple(space.shape)).copy()
            batch.append(actions)
        return batch

    def _begin_step(self, n):
        agents = len(self.names)
        self.agent_rewards = np.zeros((n, agents))
        self.finals = np.zeros((n, self.observations.shape[1]), dtype=np.float32)
        self.final_states = np.zeros((n, self.state_dim), dtype=np.float32)
        self.final_active = np.zeros((n, agents), dtype=bool)

    def _absorb(self, i, env, result, slot):
        if not isinstance(result, tuple) or len(result) != 5 or \
                not all(isinstance(x, dict) for x in result[:4]):
            raise Refusal(Code.INTERNAL,
                          f"the simulator's step() for copy {i} must return five dicts keyed by "
                          "agent: (observations, rewards, terminations, truncations, infos)")
        observations, rewards, terms, truncs, _ = result
        agents = len(self.names)
        before = self.active[i].copy()
        term = np.zeros(agents, dtype=bool)
        trunc = np.zeros(agents, dtype=bool)
        for a, name in enumerate(self.names):
            if not before[a]:
                continue  # inactive before the step: reward 0, no flags
            try:
                reward = float(rewards.get(name, 0.0))
            except (TypeError, ValueError):
                raise Refusal(Code.INTERNAL, f"the simulator's reward of {self.labels[a]} for copy "
                                             f"{i} is {rewards.get(name)!r}, not a number")
            if not math.isfinite(reward):
                raise Refusal(Code.INTERNAL, f"the simulator's reward of {self.labels[a]} for copy "
                                             f"{i} is {reward}; rewards must be finite")
            self.agent_rewards[i, a] = reward
            term[a] = bool(terms.get(name, False))
            trunc[a] = bool(truncs.get(name, False))
        self.lengths[i] += 1
        self.returns[i] += self.agent_rewards[i].sum()
        live = before & ~term & ~trunc & self._live(env, observations)
        over = not live.any()
        self.truncated[i] = bool((over and (trunc & before).any()) or self._at_limit(i))
        self.terminated[i] = bool(over and not (trunc & before).any())
        self._store_view(self.observations[i], self.states[i], i, env, observations,
                         "step() observation")
        if self.terminated[i] or self.truncated[i]:
            self.finals[slot] = self.observations[i]
            self.final_states[slot] = self.states[i]
            self.final_active[slot] = before & ~term
            return True  # the loop resets the copy; _store_reset sets its live agents
        # Observations of agents that went inactive are zeros from now on.
        for a in np.flatnonzero(~live):
            self.observations[i, self.obs_offsets[a]:self.obs_offsets[a + 1]] = 0.0
        self.active[i] = live
        return False

    def _check_step(self, ended):
        k = len(ended)
        self._check_views(self.finals[:k], self.final_states[:k], ended, "step() final")

    def _step_fields(self, response, ended):
        k = len(ended)
        response.rewards.extend(self.agent_rewards.sum(axis=1).tolist())
        response.agent_rewards.extend(self.agent_rewards.ravel().tolist())
        response.agent_active.extend(self.active.ravel().tolist())
        response.states.extend(self.states.ravel().tolist())
        if ended:
            response.final_observations.extend(self.finals[:k].ravel().tolist())
            response.final_states.extend(self.final_states[:k].ravel().tolist())
            response.final_agent_active.extend(self.final_active[:k].ravel().tolist())
