"""The one session loop of the env protocol, for single-agent and multi-agent simulators alike.

A Session is the protocol's state machine (handshake, then reset, then steps) and the loop over
the N copies: copy i reset with seed + i, same-step auto-reset with reset(seed=None), the episode
returns and lengths counted here. What differs between a Gymnasium-style env and a PettingZoo
parallel env (how actions are read, how one copy's step result is checked and stored, which
response fields it fills) lives in the subclasses in single_agent.py and multi_agent.py.
"""

import sys
import traceback

import grpc
import numpy as np

from . import protocol
from .protocol import env_pb2

Code = grpc.StatusCode


class Refusal(Exception):
    """A request or a simulator output the session refuses: the gRPC status the session ends with."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def default_time_limit(env):
    """`max_episode_steps` of the env or of its `spec`, else of a wrapper it sits in: Gymnasium's
    TimeLimit keeps it in `_max_episode_steps` (an env from gymnasium.make has a spec that says
    it; its `unwrapped` env has neither)."""
    limit = getattr(env, "max_episode_steps", None)
    if limit is None:
        limit = getattr(getattr(env, "spec", None), "max_episode_steps", None)
    wrapper = env
    while limit is None and wrapper is not None:
        limit = getattr(wrapper, "_max_episode_steps", None)
        inner = getattr(wrapper, "env", None)
        wrapper = inner if inner is not wrapper else None
    return int(limit or 0)


def close_env(env):
    close = getattr(env, "close", None)
    if callable(close):
        close()


def server_info(spec, num_envs, server_name):
    """The ServerInfo every session of one server starts from."""
    return env_pb2.ServerInfo(
        protocol_version=protocol.PROTOCOL_VERSION,
        capabilities=[env_pb2.CAPABILITY_TIME_LIMIT_OVERRIDE],
        spec=spec,
        spec_hash=protocol.spec_hash(spec),
        num_envs=num_envs,
        server_name=server_name or f"trustrl_env (Python) serving {spec.id}")


class Session:
    """One session: handshake, then reset, then steps, over the copies of one served env.

    Subclasses fill in: _setup(info), _store_reset(i, env, observation), _check_all(what),
    _reset_fields(response), _actions(request), _begin_step(n), _absorb(i, env, result, slot)
    (stores copy i's step result, returns whether its episode ended), _check_step(ended) and
    _step_fields(response, ended).
    """

    def __init__(self, served):
        self.served = served
        self.info = None
        self.envs = None
        self.running = False

    def handle(self, request):
        kind = request.WhichOneof("payload")
        if kind is None:
            raise Refusal(Code.INVALID_ARGUMENT,
                          "the request has no payload: set one of handshake, reset, step (an unknown "
                          "request type from a newer protocol arrives like this; this server speaks "
                          f"version {protocol.PROTOCOL_VERSION})")
        if self.info is None and kind != "handshake":
            raise Refusal(Code.FAILED_PRECONDITION,
                          f"a {kind} request came before the handshake; the first request of a "
                          "session must be a handshake")
        if kind == "handshake":
            if self.info is not None:
                raise Refusal(Code.FAILED_PRECONDITION,
                              "a second handshake in one session; open a new session instead")
            return env_pb2.SessionResponse(handshake=self._handshake(request.handshake))
        if kind == "reset":
            return env_pb2.SessionResponse(reset=self._reset(request.reset.seed))
        return env_pb2.SessionResponse(step=self._step(request.step))

    # -- handshake --------------------------------------------------------------------------

    def _handshake(self, h):
        base = self.served.info
        if h.protocol_version != protocol.PROTOCOL_VERSION:
            unset = " (protocol_version unset)" if h.protocol_version == 0 else ""
            raise Refusal(Code.FAILED_PRECONDITION,
                          f"handshake: the client speaks protocol version {h.protocol_version}{unset}, "
                          f"this server speaks version {protocol.PROTOCOL_VERSION}")
        if h.num_envs < 0:
            raise Refusal(Code.INVALID_ARGUMENT,
                          f"handshake: num_envs must be >= 0 (0 takes the server's), got {h.num_envs}")
        if h.num_envs not in (0, base.num_envs):
            raise Refusal(Code.FAILED_PRECONDITION,
                          f"handshake: the client expects {h.num_envs} copies per session, this server "
                          f"serves {base.num_envs} (start the server with that many copies, or ask for 0 "
                          "to take the server's)")
        if h.max_episode_steps < 0:
            raise Refusal(Code.INVALID_ARGUMENT,
                          "handshake: max_episode_steps must be >= 0 (0 keeps the env's limit), got "
                          f"{h.max_episode_steps}")
        if base.spec.num_agents > 0 and env_pb2.CAPABILITY_MULTI_AGENT not in h.capabilities:
            raise Refusal(Code.FAILED_PRECONDITION,
                          f"handshake: this server serves a multi-agent env ({base.spec.num_agents} "
                          "agents) and the client did not declare CAPABILITY_MULTI_AGENT")
        info = env_pb2.ServerInfo()
        info.CopyFrom(base)
        if h.max_episode_steps > 0:
            info.spec.max_episode_steps = h.max_episode_steps
        info.spec_hash = protocol.spec_hash(info.spec)
        if h.spec_hash not in (0, info.spec_hash):
            what = protocol.spec_difference(h.expected_spec, info.spec) if h.HasField("expected_spec") else ""
            if not what:
                what = f"the server serves {info.spec.id}: {protocol.describe_spec(info.spec)}"
                if not h.HasField("expected_spec"):
                    what += "; send expected_spec to see which field differs"
            raise Refusal(Code.FAILED_PRECONDITION,
                          "handshake: spec mismatch, the client expects another env than this server "
                          f"serves ({what}); client spec hash 0x{h.spec_hash:016x}, server "
                          f"0x{info.spec_hash:016x}")
        try:
            self.envs = [self.served.make_env() for _ in range(base.num_envs)]
        except Exception as e:  # the simulator's own failure, reported in its words
            raise Refusal(Code.INTERNAL, f"handshake: making the env failed: {type(e).__name__}: {e}")
        self.info = info
        self.limit = info.spec.max_episode_steps
        self.returns = np.zeros(info.num_envs)
        self.lengths = np.zeros(info.num_envs, dtype=np.int64)
        self._setup(info)
        return env_pb2.HandshakeResponse(server=info)

    def _failed(self, what, i, e):
        traceback.print_exc(file=sys.stderr)
        return Refusal(Code.INTERNAL, f"the simulator's {what} raised {type(e).__name__} for copy {i}: {e}")

    def _at_limit(self, i):
        """Whether copy i reached the time limit, counted here as Gymnasium's TimeLimit wrapper does."""
        return bool(self.limit > 0 and self.lengths[i] >= self.limit)

    # -- the loop over the copies ------------------------------------------------------------

    def _reset(self, seed):
        for i, env in enumerate(self.envs):
            try:
                observation, _ = env.reset(seed=(seed + i) % (1 << 64))
            except Exception as e:
                raise self._failed("reset()", i, e)
            self._store_reset(i, env, observation)
        self._check_all("reset()")
        self.returns[:] = 0
        self.lengths[:] = 0
        self.running = True
        response = env_pb2.ResetResponse()
        response.observations.extend(self.observations.ravel().tolist())
        self._reset_fields(response)
        return response

    def _step(self, request):
        if not self.running:
            raise Refusal(Code.FAILED_PRECONDITION,
                          "a step request came before any reset: the copies have no running episode; "
                          "send a reset request first")
        actions = self._actions(request)
        n = len(self.envs)
        self.terminated, self.truncated = [False] * n, [False] * n
        self._begin_step(n)
        ended = []  # copies whose episode ended, in copy order
        for i, env in enumerate(self.envs):
            try:
                result = env.step(actions[i])
            except Exception as e:
                raise self._failed("step()", i, e)
            if self._absorb(i, env, result, len(ended)):
                ended.append(i)
                try:
                    observation, _ = env.reset()
                except Exception as e:
                    raise self._failed("reset()", i, e)
                self._store_reset(i, env, observation)
        self._check_step(ended)
        self._check_all("step() or reset()")
        response = env_pb2.StepResponse()
        response.observations.extend(self.observations.ravel().tolist())
        response.terminated.extend(self.terminated)
        response.truncated.extend(self.truncated)
        self._step_fields(response, ended)
        if ended:
            response.episode_returns.extend(self.returns[ended].tolist())
            response.episode_lengths.extend(self.lengths[ended].tolist())
            self.returns[ended] = 0
            self.lengths[ended] = 0
        return response

    def close(self):
        for env in self.envs or []:
            close_env(env)
