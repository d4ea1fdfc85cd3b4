"""What both ends of a trustrl env session agree on: the generated messages, transport options
(the same keepalive as the C++ side, server/transport/transport.h), space and spec conversion, and the spec
hash (docs/REMOTE_ENVS.md, "Spec hash")."""

import os
import struct
import sys

import numpy as np

try:
    from trustrl.env.v1 import env_pb2, env_pb2_grpc  # generated at build time
except ImportError:
    # Not on PYTHONPATH: try the default build dir of this checkout (build/python).
    _stubs = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "python")
    if os.path.isdir(os.path.join(_stubs, "trustrl")):
        sys.path.append(_stubs)
try:
    from trustrl.env.v1 import env_pb2, env_pb2_grpc  # noqa: F811
except ImportError as e:  # pragma: no cover - a setup problem, reported in words
    raise ImportError(
        "trustrl_env needs the generated protocol stubs: build them with "
        "`cmake --build build --target trustrl_python_proto` and put build/python and python/ on "
        "PYTHONPATH (export PYTHONPATH=build/python:python)") from e

PROTOCOL_VERSION = 1
DEFAULT_MAX_MESSAGE_BYTES = 64 << 20
AUTH_METADATA_KEY = "authorization"

# Identical to keepalive_arguments() in server/transport/transport.cpp: a client that pings more often than
# its server allows is cut off with GOAWAY, so both sides use one list.
KEEPALIVE_OPTIONS = [
    ("grpc.keepalive_time_ms", 20000),
    ("grpc.keepalive_timeout_ms", 10000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.http2.min_ping_interval_without_data_ms", 10000),
]


def channel_options(max_message_bytes=DEFAULT_MAX_MESSAGE_BYTES):
    return KEEPALIVE_OPTIONS + [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
    ]


def is_loopback_address(address):
    """Whether a listen address reaches only this machine (as is_loopback_address in C++)."""
    if address.startswith("unix:") or address.startswith("unix-abstract:"):
        return True
    host = address
    for scheme in ("ipv4:", "ipv6:", "dns:///", "dns:"):
        if host.startswith(scheme):
            host = host[len(scheme):]
    if host.startswith("["):
        host = host[1:host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":")[0]
    if host in ("localhost", "::1"):
        return True
    return host.startswith("127.") and all(c.isdigit() or c == "." for c in host)


def with_port(address, port):
    if address.startswith("unix"):
        return address
    colon = address.rfind(":")
    if colon < 0 or ("]" in address and colon < address.rfind("]")):
        return f"{address}:{port}"
    return f"{address[:colon + 1]}{port}"


# --------------------------------------------------------------------------------------------
# Spaces

def flat_dim(space):
    """Scalars in one element of a wire Space: 1 for Discrete, len(nvec), or prod(shape)."""
    if space.kind == env_pb2.SPACE_KIND_DISCRETE:
        return 1
    if space.kind == env_pb2.SPACE_KIND_MULTI_DISCRETE:
        return len(space.nvec)
    return len(space.low)


def space_to_wire(space):
    """A wire Space from a trustrl_env.spaces (or Gymnasium) space, read by its attributes."""
    out = env_pb2.Space()
    if hasattr(space, "nvec"):
        nvec = np.asarray(space.nvec, dtype=np.int64).reshape(-1)
        out.kind = env_pb2.SPACE_KIND_MULTI_DISCRETE
        out.shape.append(int(nvec.size))
        out.nvec.extend(int(k) for k in nvec)
    elif hasattr(space, "n"):
        out.kind = env_pb2.SPACE_KIND_DISCRETE
        out.n = int(space.n)
        out.start = int(getattr(space, "start", 0))
    elif hasattr(space, "low") and hasattr(space, "high"):
        shape = tuple(int(d) for d in space.shape)
        out.kind = env_pb2.SPACE_KIND_BOX
        out.shape.extend(shape)
        out.low.extend(np.broadcast_to(np.asarray(space.low, dtype=np.float32), shape).ravel().tolist())
        out.high.extend(np.broadcast_to(np.asarray(space.high, dtype=np.float32), shape).ravel().tolist())
    else:
        raise TypeError(f"cannot describe space {space!r}: expected a Box, Discrete or MultiDiscrete "
                        "(attributes low/high/shape, n/start or nvec)")
    return out


def describe_space(space):
    if space.kind == env_pb2.SPACE_KIND_DISCRETE:
        return f"Discrete({space.n}" + (f", start={space.start})" if space.start else ")")
    if space.kind == env_pb2.SPACE_KIND_MULTI_DISCRETE:
        return f"MultiDiscrete({list(space.nvec)})"
    if space.kind == env_pb2.SPACE_KIND_BOX:
        low, high = list(space.low), list(space.high)
        shape = "(" + ", ".join(str(d) for d in space.shape) + ("," if len(space.shape) == 1 else "") + ")"
        if low and len(set(low)) == 1 and len(set(high)) == 1:
            return f"Box({np.float32(low[0])}, {np.float32(high[0])}, {shape})"
        text = lambda values: "[" + ", ".join(str(np.float32(x)) for x in values) + "]"  # noqa: E731
        return f"Box({text(low)}, {text(high)}, {shape})"
    return "(unset space)"


# --------------------------------------------------------------------------------------------
# Spec hash: FNV-1a 64 over the byte encoding of docs/REMOTE_ENVS.md (same as server/env_protocol/spec_hash.cpp)

def _encode_space(space):
    def floats(values):
        return struct.pack("<Q", len(values)) + b"".join(
            struct.pack("<f", 0.0 if x == 0.0 else x) for x in values)

    def ints(values):
        return struct.pack("<Q", len(values)) + b"".join(struct.pack("<q", int(x)) for x in values)

    return (struct.pack("<I", int(space.kind)) + ints(space.shape) + floats(space.low) +
            floats(space.high) + struct.pack("<qq", int(space.n), int(space.start)) + ints(space.nvec))


def spec_hash_bytes(spec):
    tag = b"trustrl.env.v1.EnvSpec"
    out = struct.pack("<Q", len(tag)) + tag
    out += struct.pack("<Iii", int(spec.autoreset_mode), int(spec.num_agents), int(spec.max_episode_steps))
    out += _encode_space(spec.observation_space) + _encode_space(spec.action_space)
    out += struct.pack("<Q", len(spec.agents))
    for agent in spec.agents:
        out += _encode_space(agent.observation_space) + _encode_space(agent.action_space)
    out += _encode_space(spec.state_space)
    return out


def spec_hash(spec):
    h = 0xCBF29CE484222325
    for byte in spec_hash_bytes(spec):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def spec_difference(expected, actual):
    """The hashed fields that differ, as 'field: expected X, got Y; ...' (empty if none)."""
    out = []
    for field in ("autoreset_mode", "num_agents", "max_episode_steps"):
        if getattr(expected, field) != getattr(actual, field):
            out.append(f"{field}: expected {getattr(expected, field)}, got {getattr(actual, field)}")
    for field in ("observation_space", "action_space"):
        a, b = getattr(expected, field), getattr(actual, field)
        if _encode_space(a) != _encode_space(b):
            out.append(f"{field}: expected {describe_space(a)}, got {describe_space(b)}")
    if len(expected.agents) != len(actual.agents):
        out.append(f"agents: expected {len(expected.agents)} agents, got {len(actual.agents)}")
    else:
        for i, (a, b) in enumerate(zip(expected.agents, actual.agents)):
            for field in ("observation_space", "action_space"):
                if _encode_space(getattr(a, field)) != _encode_space(getattr(b, field)):
                    out.append(f"agents[{i}].{field}: expected {describe_space(getattr(a, field))}, "
                               f"got {describe_space(getattr(b, field))}")
    if _encode_space(expected.state_space) != _encode_space(actual.state_space):
        out.append(f"state_space: expected {describe_space(expected.state_space)}, "
                   f"got {describe_space(actual.state_space)}")
    return "; ".join(out)


def describe_spec(spec):
    if spec.num_agents > 0:
        text = f"{spec.num_agents} agents"
        if spec.agents:
            first = spec.agents[0]
            text += (f" (agent 0: {describe_space(first.observation_space)} -> "
                     f"{describe_space(first.action_space)})")
    else:
        text = f"{describe_space(spec.observation_space)} -> {describe_space(spec.action_space)}"
    limit = spec.max_episode_steps
    return text + (f", limit {limit} steps" if limit > 0 else ", no time limit")
