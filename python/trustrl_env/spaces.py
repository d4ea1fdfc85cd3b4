"""Tiny Box, Discrete and MultiDiscrete spaces with Gymnasium's meaning, so that a simulator can
describe itself without installing gymnasium. Gymnasium's own spaces work too: the SDK reads
spaces by their attributes (n/start, nvec, low/high/shape), not by their class."""

import numpy as np


class Discrete:
    """Integers start, ..., start + n - 1."""

    def __init__(self, n, start=0):
        if int(n) < 1:
            raise ValueError(f"Discrete needs n >= 1, got {n}")
        self.n = int(n)
        self.start = int(start)
        self.shape = ()
        self._rng = np.random.default_rng()

    def seed(self, seed=None):
        self._rng = np.random.default_rng(seed)

    def sample(self):
        return self.start + int(self._rng.integers(self.n))

    def contains(self, x):
        return isinstance(x, (int, np.integer)) and self.start <= int(x) < self.start + self.n

    def __repr__(self):
        return f"Discrete({self.n}" + (f", start={self.start})" if self.start else ")")


class MultiDiscrete:
    """Component i takes integers 0, ..., nvec[i] - 1."""

    def __init__(self, nvec):
        self.nvec = np.asarray(nvec, dtype=np.int64).reshape(-1)
        if self.nvec.size < 1 or (self.nvec < 1).any():
            raise ValueError(f"MultiDiscrete needs at least one component and every nvec >= 1, got {nvec}")
        self.shape = (int(self.nvec.size),)
        self._rng = np.random.default_rng()

    def seed(self, seed=None):
        self._rng = np.random.default_rng(seed)

    def sample(self):
        return (self._rng.random(self.nvec.size) * self.nvec).astype(np.int64)

    def contains(self, x):
        x = np.asarray(x)
        return x.shape == self.shape and ((0 <= x) & (x < self.nvec)).all()

    def __repr__(self):
        return f"MultiDiscrete({self.nvec.tolist()})"


class Box:
    """float32 values in [low, high] per component; bounds may be +-inf."""

    def __init__(self, low, high, shape=None, dtype=np.float32):
        if np.dtype(dtype) != np.float32:
            raise ValueError("trustrl Box spaces hold float32 values")
        if shape is None:
            shape = np.broadcast(np.asarray(low), np.asarray(high)).shape
        self.shape = tuple(int(d) for d in shape)
        self.low = np.broadcast_to(np.asarray(low, dtype=np.float32), self.shape).copy()
        self.high = np.broadcast_to(np.asarray(high, dtype=np.float32), self.shape).copy()
        if np.isnan(self.low).any() or np.isnan(self.high).any() or (self.low > self.high).any():
            raise ValueError("Box bounds must not be NaN and need low <= high")
        self.dtype = np.dtype(np.float32)
        self._rng = np.random.default_rng()

    def seed(self, seed=None):
        self._rng = np.random.default_rng(seed)

    def sample(self):
        low = np.where(np.isfinite(self.low), self.low, -1.0)
        high = np.where(np.isfinite(self.high), self.high, 1.0)
        return self._rng.uniform(low, high).astype(np.float32)

    def contains(self, x):
        x = np.asarray(x, dtype=np.float32)
        return x.shape == self.shape and bool(((self.low <= x) & (x <= self.high)).all())

    def __repr__(self):
        return f"Box({self.low.min()}, {self.high.max()}, {self.shape})"
