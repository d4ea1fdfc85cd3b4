"""A stand-in for gymnasium (not installed in CI), duck-typed as Gymnasium 1.x is where the SDK
looks: make() by id or by EnvSpec, a TimeLimit wrapper that holds the limit, and an unwrapped env
whose spec has no max_episode_steps. It registers one env, Drift-v0."""

import numpy as np

from trustrl_env import spaces


class EnvSpec:
    def __init__(self, id, entry_point, max_episode_steps, kwargs):
        self.id = id
        self.entry_point = entry_point
        self.max_episode_steps = max_episode_steps
        self.kwargs = dict(kwargs)


class Drift:
    """obs [x]; action 0/1 moves x by -speed/+speed; never ends by itself."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 25}

    def __init__(self, speed=1.0, render_mode=None):
        self.speed = float(speed)
        self.render_mode = render_mode
        self.observation_space = spaces.Box(-100.0, 100.0, shape=(1,))
        self.action_space = spaces.Discrete(2)
        self.x = 0.0

    def reset(self, seed=None, options=None):
        self.x = 0.0 if seed is None else float(seed % 3)
        return np.array([self.x], dtype=np.float32), {}

    def step(self, action):
        self.x += self.speed if int(action) == 1 else -self.speed
        return np.array([self.x], dtype=np.float32), 1.0, False, False, {}

    @property
    def unwrapped(self):
        return self


class TimeLimit:
    """Gymnasium 1.x: the limit lives in the wrapper (`_max_episode_steps`), not in the env."""

    def __init__(self, env, max_episode_steps):
        self.env = env
        self._max_episode_steps = max_episode_steps
        self._elapsed = 0
        self.spec = EnvSpec(env.spec.id, env.spec.entry_point, max_episode_steps, env.spec.kwargs)

    def __getattr__(self, name):  # spaces, metadata, render_mode
        return getattr(self.env, name)

    @property
    def unwrapped(self):
        return self.env.unwrapped

    def reset(self, seed=None, options=None):
        self._elapsed = 0
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._elapsed += 1
        return obs, reward, terminated, truncated or self._elapsed >= self._max_episode_steps, info


registry = {"Drift-v0": (Drift, 7)}
made = []  # (id, kwargs) of every make() call, for the tests


def make(id, **kwargs):
    if isinstance(id, EnvSpec):
        spec = id
        kwargs = dict(spec.kwargs, **kwargs)
        entry, limit = spec.entry_point, spec.max_episode_steps
    else:
        entry, limit = registry[id]
        spec = EnvSpec(id, entry, limit, kwargs)
    made.append((spec.id, dict(kwargs)))
    env = entry(**kwargs)
    env.spec = EnvSpec(spec.id, entry, None, kwargs)  # as Gymnasium sets unwrapped.spec
    return TimeLimit(env, limit) if limit else env
