"""A small Python client of the trustrl env protocol: for tests, and for Python code that wants to
drive any trustrl env server (the C++ `trustrl env-server` included) as N copies at once."""

import collections
import queue

import grpc
import numpy as np

from . import protocol
from .protocol import env_pb2, env_pb2_grpc

StepResult = collections.namedtuple(
    "StepResult", "observations rewards terminated truncated final_observations episode_returns episode_lengths")


def _channel(address, root_certificates, max_message_bytes):
    options = protocol.channel_options(max_message_bytes)
    if root_certificates is None:
        return grpc.insecure_channel(address, options=options)
    return grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates), options=options)


def _metadata(token):
    return [(protocol.AUTH_METADATA_KEY, f"Bearer {token}")] if token else None


def get_server_info(address, token=None, timeout=10.0, root_certificates=None):
    """The server's ServerInfo (spec, hash, copies); raises grpc.RpcError on failure."""
    with _channel(address, root_certificates, protocol.DEFAULT_MAX_MESSAGE_BYTES) as channel:
        stub = env_pb2_grpc.EnvServiceStub(channel)
        return stub.GetSpec(env_pb2.GetSpecRequest(), metadata=_metadata(token), timeout=timeout).server


class Session:
    """One session: the handshake happens here; then reset(seed) and step(actions).

    A refused request raises grpc.RpcError (its .code() and .details() say why) and ends the
    session. `timeout` bounds the whole session, in seconds (None: no bound). reset() and step()
    read single-agent envs; a multi-agent env (capabilities=[env_pb2.CAPABILITY_MULTI_AGENT]) is
    driven with call() and the raw messages.
    """

    def __init__(self, address, token=None, num_envs=0, max_episode_steps=0, expected_spec=None,
                 root_certificates=None, timeout=None, client_name="trustrl_env client",
                 max_message_bytes=protocol.DEFAULT_MAX_MESSAGE_BYTES, capabilities=()):
        self._channel = _channel(address, root_certificates, max_message_bytes)
        self._requests = queue.Queue()
        stub = env_pb2_grpc.EnvServiceStub(self._channel)
        self._responses = stub.Session(iter(self._requests.get, None), metadata=_metadata(token),
                                       timeout=timeout)
        handshake = env_pb2.HandshakeRequest(protocol_version=protocol.PROTOCOL_VERSION,
                                             num_envs=num_envs, max_episode_steps=max_episode_steps,
                                             client_name=client_name, capabilities=capabilities)
        if expected_spec is not None:
            handshake.expected_spec.CopyFrom(expected_spec)
            handshake.spec_hash = protocol.spec_hash(expected_spec)
        self.info = self.call(env_pb2.SessionRequest(handshake=handshake)).handshake.server
        spec = self.info.spec
        self.num_envs = self.info.num_envs
        self.obs_dim = protocol.flat_dim(spec.observation_space)
        self.discrete = spec.action_space.kind != env_pb2.SPACE_KIND_BOX

    def call(self, request):
        """Sends one request and returns its response."""
        self._requests.put(request)
        return next(self._responses)

    def reset(self, seed):
        """Resets copy i with seed + i; returns the first observations, [N, obs_dim] float32."""
        response = self.call(env_pb2.SessionRequest(reset=env_pb2.ResetRequest(seed=seed)))
        return np.asarray(response.reset.observations, dtype=np.float32).reshape(self.num_envs, self.obs_dim)

    def step(self, actions):
        """Steps every copy with `actions` ([N, action_dim]); returns a StepResult of numpy arrays."""
        request = env_pb2.SessionRequest()
        flat = np.asarray(actions).ravel()
        if self.discrete:
            request.step.discrete_actions.extend(int(a) for a in flat)
        else:
            request.step.continuous_actions.extend(float(a) for a in flat)
        r = self.call(request).step
        n, d = self.num_envs, self.obs_dim
        return StepResult(
            np.asarray(r.observations, dtype=np.float32).reshape(n, d),
            np.asarray(r.rewards, dtype=np.float64),
            np.asarray(r.terminated, dtype=bool),
            np.asarray(r.truncated, dtype=bool),
            np.asarray(r.final_observations, dtype=np.float32).reshape(-1, d),
            np.asarray(r.episode_returns, dtype=np.float64),
            np.asarray(r.episode_lengths, dtype=np.int64))

    def close(self):
        """Half-closes the session and waits for the server's OK."""
        self._requests.put(None)
        for _ in self._responses:
            pass
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._requests.put(None)
        self._responses.cancel()
        self._channel.close()
