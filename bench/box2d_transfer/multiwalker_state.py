"""PettingZoo's multiwalker_v9 with trustrl's global state, for docs/BOX2D.md's MultiWalker transfer
table: serve it with

    python3 -m trustrl_env.pettingzoo multiwalker_state --listen 127.0.0.1:5751 --num-envs 16

(bench/box2d_transfer on PYTHONPATH). PettingZoo's state() is N x 24 + 3 values (docs/MULTI_AGENT.md,
"What differs from PettingZoo" 5), trustrl's the N observations in agent order (31 N, removed walkers
0), so a MAPPO policy file, whose critic reads trustrl's, is refused on the plain env. The actor reads
only its own observation, so evaluation does not depend on the state; this wrapper only gives the
spec trustrl's shape. Everything else is PettingZoo's env, unchanged.
"""

import numpy as np
from gymnasium.spaces import Box
from pettingzoo.sisl import multiwalker_v9


class TrustrlState:
    """Forwards everything to the wrapped parallel env; state() concatenates the last observations."""

    def __init__(self, env):
        self.env = env
        self.possible_agents = list(env.possible_agents)
        self.metadata = env.metadata
        self._dims = [int(np.prod(env.observation_space(a).shape)) for a in self.possible_agents]
        self.state_space = Box(-np.inf, np.inf, (sum(self._dims),), dtype=np.float32)
        self._last = {}

    @property
    def agents(self):
        return self.env.agents

    def observation_space(self, agent):
        return self.env.observation_space(agent)

    def action_space(self, agent):
        return self.env.action_space(agent)

    def reset(self, seed=None, options=None):
        observations, infos = self.env.reset(seed=seed, options=options)
        self._last = observations
        return observations, infos

    def step(self, actions):
        result = self.env.step(actions)
        self._last = result[0]
        return result

    def state(self):
        rows = [np.asarray(self._last[a], dtype=np.float32).ravel() if a in self._last
                else np.zeros(d, dtype=np.float32) for a, d in zip(self.possible_agents, self._dims)]
        return np.concatenate(rows)

    def close(self):
        self.env.close()


def parallel_env(**kwargs):
    return TrustrlState(multiwalker_v9.parallel_env(**kwargs))
