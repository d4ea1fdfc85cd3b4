"""Serve a simulator with Gymnasium's API (one agent) through the session loop in session.py.

The wire form is the single-agent one: no agent arrays, one observation row and reward per copy.
"""

import math

import numpy as np

from . import protocol
from .protocol import env_pb2
from .session import Code, Refusal, Session, close_env, default_time_limit, server_info


class SingleAgentServed:
    """What every session of one single-agent server shares: the env maker, the spec, the limits."""

    def __init__(self, make_env, num_envs, env_id, max_episode_steps, server_name, probe=None):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        probe = make_env() if probe is None else probe
        spec = env_pb2.EnvSpec()
        gym_spec = getattr(probe, "spec", None)
        spec.id = env_id or getattr(gym_spec, "id", None) or type(probe).__name__
        spec.observation_space.CopyFrom(protocol.space_to_wire(probe.observation_space))
        if spec.observation_space.kind != env_pb2.SPACE_KIND_BOX:
            raise TypeError(f"observations must be a float32 Box, got {probe.observation_space!r}")
        spec.action_space.CopyFrom(protocol.space_to_wire(probe.action_space))
        spec.max_episode_steps = int(max_episode_steps if max_episode_steps is not None
                                     else default_time_limit(probe))
        threshold = getattr(gym_spec, "reward_threshold", None)
        if threshold is not None:
            spec.reward_threshold = float(threshold)
        spec.render_fps = int(getattr(probe, "metadata", {}).get("render_fps", 30) or 30)
        spec.autoreset_mode = env_pb2.AUTORESET_MODE_SAME_STEP
        close_env(probe)
        self.make_env = make_env
        self.info = server_info(spec, num_envs, server_name)

    def new_session(self):
        return SingleAgentSession(self)


class SingleAgentSession(Session):
    """The session loop with one observation row, one action and one reward per copy."""

    def _setup(self, info):
        spec = info.spec
        self.obs_dim = protocol.flat_dim(spec.observation_space)
        self.obs_text = protocol.describe_space(spec.observation_space)
        self.action_space = spec.action_space
        self.action_dim = protocol.flat_dim(spec.action_space)
        self.action_text = protocol.describe_space(spec.action_space)
        self.observations = np.zeros((info.num_envs, self.obs_dim), dtype=np.float32)

    # -- the simulator's outputs, checked --------------------------------------------------

    def _store(self, rows, i, obs, what):
        """Writes copy i's observation into rows[i]; its values are checked by _check_finite."""
        try:
            row = np.asarray(obs, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise Refusal(Code.INTERNAL, f"the simulator's {what} for copy {i} is not an array of "
                                         f"numbers: {e}")
        if row.size != self.obs_dim:
            raise Refusal(Code.INTERNAL,
                          f"the simulator's {what} for copy {i} has shape {np.shape(obs)}; the "
                          f"observation space {self.obs_text} needs {self.obs_dim} values")
        rows[i] = row.ravel()

    def _check_finite(self, rows, copies, what):
        """One check for a whole batch (per-copy checks would cost more than the step itself)."""
        bad = ~np.isfinite(rows)
        if bad.any():
            r, k = (int(x[0]) for x in np.nonzero(bad))
            raise Refusal(Code.INTERNAL, f"the simulator's {what} for copy {copies[r]} has {rows[r, k]} "
                                         f"at index {k}; observations must be finite")

    def _store_reset(self, i, env, obs):
        self._store(self.observations, i, obs, "reset() observation")

    def _check_all(self, what):
        self._check_finite(self.observations, range(len(self.envs)), f"{what} observation")

    def _reset_fields(self, response):
        pass  # the single-agent reset carries observations only

    # -- actions and steps -----------------------------------------------------------------

    def _actions(self, request):
        """The per-copy actions, checked in full before any copy moves."""
        space, n, d = self.action_space, len(self.envs), self.action_dim
        discrete = space.kind != env_pb2.SPACE_KIND_BOX
        field, other = ("discrete_actions", "continuous_actions") if discrete else \
                       ("continuous_actions", "discrete_actions")
        values, stray = getattr(request, field), getattr(request, other)
        if len(stray):
            raise Refusal(Code.INVALID_ARGUMENT,
                          f"step: the action space {self.action_text} takes {field} "
                          f"({'int64' if discrete else 'float32'}); {other} must be empty, got "
                          f"{len(stray)} values")
        if len(values) != n * d:
            raise Refusal(Code.INVALID_ARGUMENT,
                          f"step: expected {n * d} values in {field} ({n} copies x {d} component(s) of "
                          f"{self.action_text}), got {len(values)}")
        array = np.asarray(values, dtype=np.int64 if discrete else np.float32).reshape(n, d)

        def where(k):
            return "step: " + (f"component {k % d} of " if d > 1 else "") + f"the action of copy {k // d}"

        if discrete:
            if space.kind == env_pb2.SPACE_KIND_DISCRETE:
                low, high = np.full(d, space.start), np.full(d, space.start + space.n - 1)
            else:
                low, high = np.zeros(d, dtype=np.int64), np.asarray(space.nvec, dtype=np.int64) - 1
            bad = np.flatnonzero(((array < low) | (array > high)).ravel())
            if bad.size:
                k = int(bad[0])
                raise Refusal(Code.INVALID_ARGUMENT,
                              f"{where(k)} is {array.ravel()[k]}, outside {self.action_text} (allowed "
                              f"{low[k % d]}..{high[k % d]})")
            if space.kind == env_pb2.SPACE_KIND_DISCRETE:
                return [int(a) for a in array[:, 0]]
            return list(array)
        bad = np.flatnonzero(~np.isfinite(array).ravel())
        if bad.size:
            k = int(bad[0])
            value = float(array.ravel()[k])
            raise Refusal(Code.INVALID_ARGUMENT, f"{where(k)} is {value}; actions must be finite")
        shape = tuple(space.shape)
        return [row.reshape(shape) for row in array]

    def _begin_step(self, n):
        self.rewards = [0.0] * n
        self.finals = np.empty((n, self.obs_dim), dtype=np.float32)

    def _absorb(self, i, env, result, slot):
        if not isinstance(result, tuple) or len(result) != 5:
            raise Refusal(Code.INTERNAL,
                          f"the simulator's step() for copy {i} must return (observation, reward, "
                          "terminated, truncated, info)")
        obs, reward, term, trunc, _ = result
        try:
            reward = float(reward)
        except (TypeError, ValueError):
            raise Refusal(Code.INTERNAL, f"the simulator's reward for copy {i} is {reward!r}, "
                                         "not a number")
        if not math.isfinite(reward):
            raise Refusal(Code.INTERNAL, f"the simulator's reward for copy {i} is {reward}; "
                                         "rewards must be finite")
        self.lengths[i] += 1
        self.returns[i] += reward
        self.rewards[i] = reward
        self.terminated[i] = bool(term)
        self.truncated[i] = bool(trunc) or self._at_limit(i)
        if self.terminated[i] or self.truncated[i]:
            self._store(self.finals, slot, obs, "step() observation")
            return True
        self._store(self.observations, i, obs, "step() observation")
        return False

    def _check_step(self, ended):
        self.finals = self.finals[:len(ended)]
        self._check_finite(self.finals, ended, "step() observation")

    def _step_fields(self, response, ended):
        response.rewards.extend(self.rewards)
        if ended:
            response.final_observations.extend(self.finals.ravel().tolist())
