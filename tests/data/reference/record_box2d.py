"""Records Box2D reference data from Gymnasium for tests/envs/box2d_reference_test.cpp.

Source: Gymnasium 1.4.0 (Farama-Foundation/Gymnasium commit
95a790e199c1ea7befa2fca03ac9fc42001c908d, "Update to v1.4.0") on pybox2d 2.3.10
(pybox2d/pybox2d tag 2.3.10, commit ed9d7b04f7099a15984c727dbce46c13abd64409, built from source
with swig 4.1.0; it bundles Box2D 2.3), numpy 1.24.2, Python 3.11.2. Neither is installed in CI:
to re-record, put Gymnasium's and pybox2d's build trees on PYTHONPATH (plus stand-ins for pygame
and farama_notifications, which the recorder never uses) and run
    python3 record_box2d.py OUT_DIR

The random draws. Gymnasium draws its terrain, initial push and engine dispersion from numpy's
PCG64, which trustrl does not reproduce. Here the env draws from trustrl's own generator instead
(TrustrlRng below re-implements core/rng.cpp: xoshiro256** seeded through splitmix64, uniform =
53 bits, integers by Lemire's method), installed as the env's np_random, so that trustrl's
make(id)->reset(k) builds the same world as this reset and the two can be compared step by step.
That also checks that trustrl draws in Gymnasium's order.

Protocol (also in each file's `protocol` field): episode k (k = 0, 1, 2) is reset() with np_random
= TrustrlRng(k); actions come from numpy.random.default_rng(30000 + k) (Discrete(n) ->
rng.integers(n), Box -> rng.uniform(low, high).astype(float32), the walkers' knee commands then made
negative: -|a|); 10 steps are recorded (fewer if the episode ends). Knee commands only bend the
knees because the knees start just below their upper limit, which Box2D 2.3 lets a joint overshoot
within a step (by 0.5 rad on the first step here) while 2.4 holds it: a solver difference, not a
port error, that would swamp the comparison. BipedalWalker-v3-free-knees.json keeps the knee
commands as drawn, for the test of that very overshoot (option joint_limits: box2d_2.3). Each
episode holds the first observation, each revolute joint's GetReferenceAngle() as Box2D reports it
after reset, and per step the action, observation, reward and flags.
"""
import json
import sys

import Box2D
import gymnasium as gym
import numpy as np

GYMNASIUM_COMMIT = "95a790e199c1ea7befa2fca03ac9fc42001c908d"
PYBOX2D_COMMIT = "ed9d7b04f7099a15984c727dbce46c13abd64409"
PETTINGZOO_COMMIT = "369c979fa"
EPISODES = 3
STEPS = 10
M64 = (1 << 64) - 1


class TrustrlRng:
    """core/rng.cpp in Python, with the numpy Generator methods the Box2D envs call."""

    def __init__(self, seed):
        x = seed & M64
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    def next_u64(self):
        s = self.s
        rotl = lambda v, k: ((v << k) | (v >> (64 - k))) & M64
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def _unit(self):
        return float(self.next_u64() >> 11) * 2.0**-53

    def _below(self, n):
        m = self.next_u64() * n
        low = m & M64
        if low < n:
            threshold = ((1 << 64) - n) % n
            while low < threshold:
                m = self.next_u64() * n
                low = m & M64
        return m >> 64

    def random(self):
        return self._unit()

    def uniform(self, low=0.0, high=1.0, size=None):
        if size is None:
            return low + (high - low) * self._unit()
        return np.array([low + (high - low) * self._unit() for _ in range(int(np.prod(size)))])

    def integers(self, low, high=None):
        if high is None:
            low, high = 0, low
        return int(low) + self._below(int(high) - int(low))


def joints_of(env):
    u = env.unwrapped
    if hasattr(u, "legs") and hasattr(u.legs[0], "joint"):  # LunarLander
        return [leg.joint for leg in u.legs]
    return list(u.joints)  # BipedalWalker: hip 0, knee 0, hip 1, knee 1


def sample(space, rng):
    if hasattr(space, "n"):
        return int(rng.integers(space.n))
    return rng.uniform(space.low, space.high).astype(np.float32)


def record(name, env_id, kwargs, bend_knees=True):
    episodes = []
    for k in range(EPISODES):
        env = gym.make(env_id, **kwargs)
        env.unwrapped._np_random = TrustrlRng(k)
        obs, _ = env.reset()  # no seed: keeps the generator installed above
        rng = np.random.default_rng(30000 + k)
        bend = "BipedalWalker" in env_id and bend_knees
        episode = {
            "seed": k,
            "initial_obs": obs.tolist(),
            "reference_angles": [j.GetReferenceAngle() for j in joints_of(env)],
            "steps": [],
        }
        for _ in range(STEPS):
            action = sample(env.action_space, rng)
            if bend:
                action[[1, 3]] = -np.abs(action[[1, 3]])  # knees bend (see the module comment)
            obs, reward, terminated, truncated, _ = env.step(action)
            episode["steps"].append({
                "action": action.tolist() if isinstance(action, np.ndarray) else action,
                "obs": obs.tolist(),
                "reward": float(reward),
                "terminated": bool(terminated),
                "truncated": bool(truncated),
            })
            if terminated or truncated:
                break
        episodes.append(episode)
    return {
        "name": name,
        "env_id": env_id,
        "kwargs": kwargs,
        "max_episode_steps": env.spec.max_episode_steps,
        "gymnasium_version": gym.__version__,
        "gymnasium_commit": GYMNASIUM_COMMIT,
        "box2d_version": Box2D.__version__,
        "pybox2d_commit": PYBOX2D_COMMIT,
        "numpy_version": np.__version__,
        "python": sys.version.split()[0],
        "protocol": "reset() with np_random = trustrl's Rng(k), k < 3; actions from "
                    "numpy.random.default_rng(30000+k): Discrete -> rng.integers(n), Box -> "
                    "rng.uniform(low, high).astype(float32), walkers' knee commands -|a|"
                    + ("" if bend_knees or "BipedalWalker" not in env_id else
                       " (not here: knee commands as drawn)") + "; 10 steps",
        "episodes": episodes,
    }


class PushFromStream:
    """The walkers' generators. PettingZoo's reset builds new walkers, each with a generator of
    its own seeded with the env's last seed, so all would draw the same push; trustrl draws one
    push per walker from its one stream, after the terrain and clouds (docs/MULTI_AGENT.md keeps
    that difference, at most 5 N for one step). Here each walker's draw comes from the env's
    stream, as trustrl's does."""

    def __init__(self, env_rng):
        self.env_rng = env_rng

    def uniform(self, low, high):
        return self.env_rng.uniform(low, high)


def normal(rng):
    """trustrl's Rng::normal: Marsaglia's polar method, no cached second value."""
    while True:
        u = rng.uniform(-1.0, 1.0)
        v = rng.uniform(-1.0, 1.0)
        s = u * u + v * v
        if 0.0 < s < 1.0:
            return u * np.sqrt(-2.0 * np.log(s) / s)


TrustrlRng.normal = lambda self, loc=0.0, scale=1.0: loc + scale * normal(self)


def record_multiwalker():
    from pettingzoo.sisl import multiwalker_v9

    episodes = []
    for k in range(EPISODES):
        env = multiwalker_v9.parallel_env()
        base = env.unwrapped.env
        base.np_random = TrustrlRng(k)
        pushes = PushFromStream(base.np_random)
        setup = base.setup

        def setup_with_pushes_from_the_stream(setup=setup, base=base, pushes=pushes):
            walkers = setup()  # new walkers, each with a generator seeded with the env's seed
            for w in base.walkers:
                w.np_random = pushes
            return walkers

        base.setup = setup_with_pushes_from_the_stream
        obs, _ = env.reset()  # no seed: keeps the generators installed above
        agents = list(env.agents)
        rng = np.random.default_rng(30000 + k)
        episode = {
            "seed": k,
            "agents": agents,
            "initial_obs": {a: obs[a].tolist() for a in agents},
            "reference_angles": [j.GetReferenceAngle() for w in base.walkers for j in w.joints],
            "steps": [],
        }
        for _ in range(STEPS):
            actions = {}
            for a in agents:
                act = sample(env.action_space(a), rng)
                act[[1, 3]] = -np.abs(act[[1, 3]])  # knees bend, as for BipedalWalker
                actions[a] = act
            obs, rew, term, trunc, _ = env.step(actions)
            episode["steps"].append({
                "actions": {a: v.tolist() for a, v in actions.items()},
                "obs": {a: obs[a].tolist() for a in agents},
                "rewards": {a: float(rew[a]) for a in agents},
                "terminated": {a: bool(term[a]) for a in agents},
                "truncated": {a: bool(trunc[a]) for a in agents},
            })
            if not env.agents:
                break
        episodes.append(episode)
    return {
        "name": "multiwalker_v9",
        "pettingzoo_commit": PETTINGZOO_COMMIT,
        "box2d_version": Box2D.__version__,
        "pybox2d_commit": PYBOX2D_COMMIT,
        "numpy_version": np.__version__,
        "python": sys.version.split()[0],
        "protocol": "parallel_env() with the env's np_random = trustrl's Rng(k) and each walker's "
                    "push drawn from it, k < 3; actions from numpy.random.default_rng(30000+k)"
                    " agent by agent, rng.uniform(low, high).astype(float32) with knee commands "
                    "-|a|; 10 steps",
        "episodes": episodes,
    }


def main(out_dir):
    for name, env_id, kwargs in (
        ("LunarLander-v3", "LunarLander-v3", {}),
        ("LunarLanderContinuous-v3", "LunarLander-v3", {"continuous": True}),
        ("BipedalWalker-v3", "BipedalWalker-v3", {}),
        ("BipedalWalker-v3-hardcore", "BipedalWalker-v3", {"hardcore": True}),
        ("BipedalWalkerHardcore-v3", "BipedalWalkerHardcore-v3", {}),
    ):
        with open(f"{out_dir}/{name}.json", "w") as f:
            json.dump(record(name, env_id, kwargs), f, separators=(",", ":"))
    with open(f"{out_dir}/BipedalWalker-v3-free-knees.json", "w") as f:
        json.dump(record("BipedalWalker-v3-free-knees", "BipedalWalker-v3", {}, bend_knees=False), f,
                  separators=(",", ":"))
    with open(f"{out_dir}/multiwalker_v9.json", "w") as f:
        json.dump(record_multiwalker(), f, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
