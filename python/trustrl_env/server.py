"""Serve any Python simulator over the trustrl env protocol (proto/trustrl/env/v1/env.proto).

The simulator is any object with Gymnasium's API, duck-typed:
    observation_space, action_space          (trustrl_env.spaces or gymnasium.spaces)
    reset(seed=None) -> (observation, info)
    step(action) -> (observation, reward, terminated, truncated, info)
and optionally `max_episode_steps` (or `spec.max_episode_steps`), the episode time limit.
An object with PettingZoo's parallel API (possible_agents or agents, observation_space(agent),
action_space(agent), dict-valued reset/step, optional state()) is served as a multi-agent env;
multi_agent.py has the details; session.py holds the one session loop both use.

The SDK does what the C++ server does: N copies per session, copy i reset with seed + i,
same-step auto-reset (the copy is reset with seed=None, so its random stream carries on), the time
limit counted here (as Gymnasium's TimeLimit wrapper; the simulator need not count), every action
checked before any copy moves, every observation and reward the simulator returns checked before
it leaves, and every refusal a gRPC status whose message names the field and copy.
"""

import hmac
import signal
import sys
import threading
from concurrent import futures

import grpc
from google.protobuf.message import DecodeError

from . import protocol
from .multi_agent import MultiAgentServed, is_parallel_env
from .protocol import env_pb2
from .session import Code as _Code
from .session import Refusal as _Refusal
from .single_agent import SingleAgentServed as _Served

_SERVICE = "trustrl.env.v1.EnvService"


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
    if num_envs < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}")
    probe = make_env()
    if is_parallel_env(probe):
        served = MultiAgentServed(make_env, probe, num_envs, env_id, max_episode_steps,
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
