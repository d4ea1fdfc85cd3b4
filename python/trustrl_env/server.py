"""Serve any Python simulator over the trustrl env protocol (proto/trustrl/env/v1/env.proto).

The simulator is any object with Gymnasium's API, duck-typed:
    observation_space, action_space          (trustrl_env.spaces or gymnasium.spaces)
    reset(seed=None) -> (observation, info)
    step(action) -> (observation, reward, terminated, truncated, info)
and optionally `max_episode_steps` (or `spec.max_episode_steps`), the episode time limit.
An object with PettingZoo's parallel API (possible_agents or agents, observation_space(agent),
action_space(agent), dict-valued reset/step, optional state()) is served as a multi-agent env;
multi_agent.py has the details.

The SDK does what the C++ server does: N copies per session, copy i reset with seed + i,
same-step auto-reset (the copy is reset with seed=None, so its random stream carries on), the time
limit counted here (as Gymnasium's TimeLimit wrapper; the simulator need not count), every action
checked before any copy moves, every observation and reward the simulator returns checked before
it leaves, and every refusal a gRPC status whose message names the field and copy.
"""

import hmac
import math
import signal
import sys
import threading
import traceback
from concurrent import futures

import grpc
import numpy as np
from google.protobuf.message import DecodeError

from . import protocol
from .protocol import env_pb2

_SERVICE = "trustrl.env.v1.EnvService"
_Code = grpc.StatusCode


class _Refusal(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def _default_time_limit(env):
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


class _Served:
    """What every session of one server shares: the env maker, the spec, the limits."""

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
                                     else _default_time_limit(probe))
        threshold = getattr(gym_spec, "reward_threshold", None)
        if threshold is not None:
            spec.reward_threshold = float(threshold)
        spec.render_fps = int(getattr(probe, "metadata", {}).get("render_fps", 30) or 30)
        spec.autoreset_mode = env_pb2.AUTORESET_MODE_SAME_STEP
        close = getattr(probe, "close", None)
        if callable(close):
            close()
        self.make_env = make_env
        self.info = env_pb2.ServerInfo(
            protocol_version=protocol.PROTOCOL_VERSION,
            capabilities=[env_pb2.CAPABILITY_TIME_LIMIT_OVERRIDE],
            spec=spec,
            spec_hash=protocol.spec_hash(spec),
            num_envs=num_envs,
            server_name=server_name or f"trustrl_env (Python) serving {spec.id}")

    def new_session(self):
        return _Session(self)


class _Session:
    """One session's protocol state machine: handshake, then reset, then steps."""

    def __init__(self, served):
        self.served = served
        self.info = None
        self.envs = None
        self.running = False

    def handle(self, request):
        kind = request.WhichOneof("payload")
        if kind is None:
            raise _Refusal(_Code.INVALID_ARGUMENT,
                           "the request has no payload: set one of handshake, reset, step (an unknown "
                           "request type from a newer protocol arrives like this; this server speaks "
                           f"version {protocol.PROTOCOL_VERSION})")
        if self.info is None and kind != "handshake":
            raise _Refusal(_Code.FAILED_PRECONDITION,
                           f"a {kind} request came before the handshake; the first request of a "
                           "session must be a handshake")
        if kind == "handshake":
            if self.info is not None:
                raise _Refusal(_Code.FAILED_PRECONDITION,
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
            raise _Refusal(_Code.FAILED_PRECONDITION,
                           f"handshake: the client speaks protocol version {h.protocol_version}{unset}, "
                           f"this server speaks version {protocol.PROTOCOL_VERSION}")
        if h.num_envs < 0:
            raise _Refusal(_Code.INVALID_ARGUMENT,
                           f"handshake: num_envs must be >= 0 (0 takes the server's), got {h.num_envs}")
        if h.num_envs not in (0, base.num_envs):
            raise _Refusal(_Code.FAILED_PRECONDITION,
                           f"handshake: the client expects {h.num_envs} copies per session, this server "
                           f"serves {base.num_envs} (start the server with that many copies, or ask for 0 "
                           "to take the server's)")
        if h.max_episode_steps < 0:
            raise _Refusal(_Code.INVALID_ARGUMENT,
                           "handshake: max_episode_steps must be >= 0 (0 keeps the env's limit), got "
                           f"{h.max_episode_steps}")
        if base.spec.num_agents > 0 and env_pb2.CAPABILITY_MULTI_AGENT not in h.capabilities:
            raise _Refusal(_Code.FAILED_PRECONDITION,
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
            raise _Refusal(_Code.FAILED_PRECONDITION,
                           "handshake: spec mismatch, the client expects another env than this server "
                           f"serves ({what}); client spec hash 0x{h.spec_hash:016x}, server "
                           f"0x{info.spec_hash:016x}")
        try:
            self.envs = [self.served.make_env() for _ in range(base.num_envs)]
        except Exception as e:  # the simulator's own failure, reported in its words
            raise _Refusal(_Code.INTERNAL, f"handshake: making the env failed: {type(e).__name__}: {e}")
        self.info = info
        self._setup(info)
        return env_pb2.HandshakeResponse(server=info)

    def _setup(self, info):
        """The session's arrays and the action space, once the handshake is accepted."""
        spec = info.spec
        self.limit = spec.max_episode_steps
        self.obs_shape = tuple(spec.observation_space.shape)
        self.obs_dim = protocol.flat_dim(spec.observation_space)
        self.obs_text = protocol.describe_space(spec.observation_space)
        self.action_space = spec.action_space
        self.action_dim = protocol.flat_dim(spec.action_space)
        self.action_text = protocol.describe_space(spec.action_space)
        n = info.num_envs
        self.observations = np.zeros((n, self.obs_dim), dtype=np.float32)
        self.returns = np.zeros(n)
        self.lengths = np.zeros(n, dtype=np.int64)

    # -- the simulator's outputs, checked --------------------------------------------------

    def _store(self, rows, i, obs, what):
        """Writes copy i's observation into rows[i]; its values are checked by _check_finite."""
        try:
            row = np.asarray(obs, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise _Refusal(_Code.INTERNAL, f"the simulator's {what} for copy {i} is not an array of "
                                           f"numbers: {e}")
        if row.size != self.obs_dim:
            raise _Refusal(_Code.INTERNAL,
                           f"the simulator's {what} for copy {i} has shape {np.shape(obs)}; the "
                           f"observation space {self.obs_text} needs {self.obs_dim} values")
        rows[i] = row.ravel()

    def _check_finite(self, rows, copies, what):
        """One check for a whole batch (per-copy checks would cost more than the step itself)."""
        bad = ~np.isfinite(rows)
        if bad.any():
            r, k = (int(x[0]) for x in np.nonzero(bad))
            raise _Refusal(_Code.INTERNAL, f"the simulator's {what} for copy {copies[r]} has {rows[r, k]} "
                                           f"at index {k}; observations must be finite")

    def _failed(self, what, i, e):
        traceback.print_exc(file=sys.stderr)
        return _Refusal(_Code.INTERNAL, f"the simulator's {what} raised {type(e).__name__} for copy {i}: {e}")

    # -- reset and step ---------------------------------------------------------------------

    def _reset(self, seed):
        for i, env in enumerate(self.envs):
            try:
                obs, _ = env.reset(seed=(seed + i) % (1 << 64))
            except Exception as e:
                raise self._failed("reset()", i, e)
            self._store(self.observations, i, obs, "reset() observation")
        self._check_finite(self.observations, range(len(self.envs)), "reset() observation")
        self.returns[:] = 0
        self.lengths[:] = 0
        self.running = True
        response = env_pb2.ResetResponse()
        response.observations.extend(self.observations.ravel().tolist())
        return response

    def _actions(self, request):
        """The per-copy actions, checked in full before any copy moves."""
        space, n, d = self.action_space, len(self.envs), self.action_dim
        discrete = space.kind != env_pb2.SPACE_KIND_BOX
        field, other = ("discrete_actions", "continuous_actions") if discrete else \
                       ("continuous_actions", "discrete_actions")
        values, stray = getattr(request, field), getattr(request, other)
        if len(stray):
            raise _Refusal(_Code.INVALID_ARGUMENT,
                           f"step: the action space {self.action_text} takes {field} "
                           f"({'int64' if discrete else 'float32'}); {other} must be empty, got "
                           f"{len(stray)} values")
        if len(values) != n * d:
            raise _Refusal(_Code.INVALID_ARGUMENT,
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
                raise _Refusal(_Code.INVALID_ARGUMENT,
                               f"{where(k)} is {array.ravel()[k]}, outside {self.action_text} (allowed "
                               f"{low[k % d]}..{high[k % d]})")
            if space.kind == env_pb2.SPACE_KIND_DISCRETE:
                return [int(a) for a in array[:, 0]]
            return list(array)
        bad = np.flatnonzero(~np.isfinite(array).ravel())
        if bad.size:
            k = int(bad[0])
            value = float(array.ravel()[k])
            raise _Refusal(_Code.INVALID_ARGUMENT, f"{where(k)} is {value}; actions must be finite")
        shape = tuple(space.shape)
        return [row.reshape(shape) for row in array]

    def _step(self, request):
        if not self.running:
            raise _Refusal(_Code.FAILED_PRECONDITION,
                           "a step request came before any reset: the copies have no running episode; "
                           "send a reset request first")
        actions = self._actions(request)
        n = len(self.envs)
        rewards, terminated, truncated = [0.0] * n, [False] * n, [False] * n
        finals = np.empty((n, self.obs_dim), dtype=np.float32)
        ended = []  # copies whose episode ended, in copy order
        lengths, returns, limit = self.lengths, self.returns, self.limit
        for i, env in enumerate(self.envs):
            try:
                result = env.step(actions[i])
            except Exception as e:
                raise self._failed("step()", i, e)
            if not isinstance(result, tuple) or len(result) != 5:
                raise _Refusal(_Code.INTERNAL,
                               f"the simulator's step() for copy {i} must return (observation, reward, "
                               "terminated, truncated, info)")
            obs, reward, term, trunc, _ = result
            try:
                reward = float(reward)
            except (TypeError, ValueError):
                raise _Refusal(_Code.INTERNAL, f"the simulator's reward for copy {i} is {reward!r}, "
                                               "not a number")
            if not math.isfinite(reward):
                raise _Refusal(_Code.INTERNAL, f"the simulator's reward for copy {i} is {reward}; "
                                               "rewards must be finite")
            lengths[i] += 1
            returns[i] += reward
            rewards[i] = reward
            terminated[i] = bool(term)
            # The time limit is counted here, as Gymnasium's TimeLimit wrapper does.
            truncated[i] = bool(trunc) or bool(limit > 0 and lengths[i] >= limit)
            if terminated[i] or truncated[i]:
                self._store(finals, len(ended), obs, "step() observation")
                ended.append(i)
                try:
                    obs, _ = env.reset()
                except Exception as e:
                    raise self._failed("reset()", i, e)
                self._store(self.observations, i, obs, "reset() observation")
            else:
                self._store(self.observations, i, obs, "step() observation")
        finals = finals[:len(ended)]
        self._check_finite(finals, ended, "step() observation")
        self._check_finite(self.observations, range(n), "step() or reset() observation")
        response = env_pb2.StepResponse()
        response.observations.extend(self.observations.ravel().tolist())
        response.rewards.extend(rewards)
        response.terminated.extend(terminated)
        response.truncated.extend(truncated)
        if ended:
            response.final_observations.extend(finals.ravel().tolist())
            response.episode_returns.extend(returns[ended].tolist())
            response.episode_lengths.extend(lengths[ended].tolist())
            returns[ended] = 0
            lengths[ended] = 0
        return response

    def close(self):
        for env in self.envs or []:
            close = getattr(env, "close", None)
            if callable(close):
                close()


class EnvServer:
    """A running server. `address` holds the real port ("127.0.0.1:43211")."""

    def __init__(self, grpc_server, address, info):
        self._server = grpc_server
        self.address = address
        self.port = int(address.rsplit(":", 1)[1]) if not address.startswith("unix") else 0
        self.info = info

    def stop(self, grace=2.0):
        """Stops accepting sessions, lets open ones run for `grace` seconds, then cancels them."""
        self._server.stop(grace).wait()

    def wait(self):
        self._server.wait_for_termination()


def start_server(make_env, address="127.0.0.1:0", num_envs=1, token=None, max_episode_steps=None,
                 env_id=None, tls_cert=None, tls_key=None, max_sessions=16,
                 max_message_bytes=protocol.DEFAULT_MAX_MESSAGE_BYTES, server_name=None, log=None):
    """Starts serving `make_env` (a callable returning a new env) and returns an EnvServer.

    address: where to listen; port 0 picks a free one. An address reachable from other machines
        needs a token. num_envs: copies per session. token: shared secret every call must carry
        ("authorization: Bearer <token>"). max_episode_steps: the time limit (default: the env's
        `max_episode_steps` or `spec.max_episode_steps`, else none). tls_cert/tls_key: PEM files.
    log: called with one line per session that ended with an error (default: print to stderr).
    """
    if not protocol.is_loopback_address(address) and not token:
        raise ValueError(f"refusing to listen on {address} without a token: anyone who reaches it could "
                         "drive the env. Pass token= (and preferably tls_cert/tls_key), or listen on "
                         "127.0.0.1")
    if (tls_cert is None) != (tls_key is None):
        raise ValueError("TLS needs both a certificate (tls_cert) and its private key (tls_key)")
    from . import multi_agent  # here: it builds on this module's session

    if num_envs < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}")
    probe = make_env()
    if multi_agent.is_parallel_env(probe):
        served = multi_agent.MultiAgentServed(make_env, probe, num_envs, env_id, max_episode_steps,
                                              server_name)
    else:
        served = _Served(make_env, num_envs, env_id, max_episode_steps, server_name, probe=probe)
    log = log or (lambda line: print(f"trustrl_env: {line}", file=sys.stderr, flush=True))
    expected_auth = f"Bearer {token}" if token else None
    lock = threading.Lock()
    open_sessions = [0]

    def check_token(context):
        if expected_auth is None:
            return
        got = dict(context.invocation_metadata()).get(protocol.AUTH_METADATA_KEY)
        if got is None:
            context.abort(_Code.UNAUTHENTICATED, 'this server needs a token: send metadata '
                                                 '"authorization: Bearer <token>" (trustrl: --token)')
        if not hmac.compare_digest(got.encode(), expected_auth.encode()):
            context.abort(_Code.UNAUTHENTICATED, 'wrong token in "authorization: Bearer <token>" metadata')

    def get_spec(request, context):
        check_token(context)
        return env_pb2.GetSpecResponse(server=served.info)

    def session(request_iterator, context):
        check_token(context)
        with lock:
            full = open_sessions[0] >= max_sessions
            if not full:
                open_sessions[0] += 1
        if full:
            context.abort(_Code.RESOURCE_EXHAUSTED, f"this server already serves its maximum of "
                                                    f"{max_sessions} sessions; close one or raise the limit")
        state = served.new_session()
        counted = [True]

        def release():
            if counted[0]:
                counted[0] = False
                with lock:
                    open_sessions[0] -= 1
                state.close()

        try:
            for count, raw in enumerate(request_iterator, start=1):
                request = env_pb2.SessionRequest()
                try:
                    request.ParseFromString(raw)
                except DecodeError:
                    raise _Refusal(_Code.INVALID_ARGUMENT,
                                   f"request {count} ({len(raw)} bytes) is not a valid "
                                   "trustrl.env.v1.SessionRequest message; check the client's "
                                   "serialization against proto/trustrl/env/v1/env.proto")
                yield state.handle(request).SerializeToString()
        except _Refusal as r:
            log(f"session from {context.peer()} ended: {r.code.name}: {r.message}")
            release()  # stop counting before the status goes out
            context.abort(r.code, r.message)
        finally:
            release()

    handler = grpc.method_handlers_generic_handler(_SERVICE, {
        "GetSpec": grpc.unary_unary_rpc_method_handler(
            get_spec, request_deserializer=env_pb2.GetSpecRequest.FromString,
            response_serializer=env_pb2.GetSpecResponse.SerializeToString),
        # Raw bytes: a malformed request is answered with INVALID_ARGUMENT naming it, rather than
        # left to gRPC's generic deserialization error.
        "Session": grpc.stream_stream_rpc_method_handler(session),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_sessions + 4),
                         handlers=(handler,), options=protocol.channel_options(max_message_bytes),
                         maximum_concurrent_rpcs=max_sessions + 4)
    try:
        if tls_cert is not None:
            with open(tls_key, "rb") as k, open(tls_cert, "rb") as c:
                credentials = grpc.ssl_server_credentials([(k.read(), c.read())])
            port = server.add_secure_port(address, credentials)
        else:
            port = server.add_insecure_port(address)
    except RuntimeError as e:
        raise RuntimeError(f"cannot listen on {address} ({e}): is the port taken?") from e
    if port == 0 and not address.startswith("unix"):
        raise RuntimeError(f"cannot listen on {address}: is the port taken?")
    server.start()
    return EnvServer(server, protocol.with_port(address, port), served.info)


def serve(make_env, address="127.0.0.1:0", num_envs=1, token=None, **options):
    """Serves `make_env` until SIGINT or SIGTERM; prints "listening on HOST:PORT" once ready.

    Takes the arguments of start_server().
    """
    server = start_server(make_env, address, num_envs=num_envs, token=token, **options)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    info = server.info
    print(f"trustrl_env: serving {info.spec.id} ({protocol.describe_spec(info.spec)}), {info.num_envs} "
          f"copies per session, spec hash 0x{info.spec_hash:016x}", file=sys.stderr, flush=True)
    # Scripts and tests wait for this line: keep its wording.
    print(f"listening on {server.address}", flush=True)
    while not stop.wait(3600):
        pass
    print("trustrl_env: shutting down (open sessions get 2 s to finish)", file=sys.stderr, flush=True)
    server.stop(2.0)
