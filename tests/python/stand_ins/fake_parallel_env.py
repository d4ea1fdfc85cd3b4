"""A stand-in for a PettingZoo env module (not installed in CI): parallel_env() returns a
parallel-API wrapper whose raw env (`unwrapped`) holds max_cycles, as PettingZoo's do."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "python",
                                "examples"))
from coop_line_sim import CoopLine  # noqa: E402


class _Raw:
    def __init__(self, max_cycles):
        self.max_cycles = max_cycles


class _Parallel(CoopLine):
    max_episode_steps = None  # PettingZoo's envs keep the limit as max_cycles on the raw env

    def __init__(self, max_cycles):
        super().__init__()
        self._raw = _Raw(max_cycles)

    @property
    def unwrapped(self):
        return self._raw


def parallel_env(max_cycles=5):
    return _Parallel(max_cycles)
