"""trustrl_env: serve any Python simulator to trustrl over gRPC, or drive a trustrl env server.

    import trustrl_env
    from trustrl_env import spaces

    class MySim:
        observation_space = spaces.Box(-1.0, 1.0, shape=(3,))
        action_space = spaces.Discrete(2)
        max_episode_steps = 200
        def reset(self, seed=None): ...   # -> (observation, info)
        def step(self, action): ...       # -> (observation, reward, terminated, truncated, info)

    trustrl_env.serve(MySim, "127.0.0.1:50051", num_envs=8)

A Gymnasium env or a PettingZoo parallel env is served with its spec (time limit included) by
trustrl_env.gymnasium and trustrl_env.pettingzoo:

    python3 -m trustrl_env.gymnasium LunarLander-v3 --listen 127.0.0.1:5000
    python3 -m trustrl_env.pettingzoo pettingzoo.mpe.simple_spread_v3 --listen 127.0.0.1:5000

The protocol is proto/trustrl/env/v1/env.proto; docs/REMOTE_ENVS.md explains its rules.
"""

from . import spaces
from .client import Session, StepResult, get_server_info
from .protocol import PROTOCOL_VERSION, spec_hash
from .server import EnvServer, serve, start_server

__all__ = ["EnvServer", "PROTOCOL_VERSION", "Session", "StepResult", "get_server_info", "serve",
           "spaces", "spec_hash", "start_server"]
