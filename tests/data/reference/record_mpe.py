"""Records MPE reference trajectories from PettingZoo for tests/envs/mpe_reference_test.cpp.

Source: PettingZoo commit 369c979fa (Farama-Foundation/PettingZoo, "Add deprecation warnings to MPE
environment...", #1280, the last commit with pettingzoo/mpe) over Gymnasium 1.4.0 (commit
95a790e199c1ea7befa2fca03ac9fc42001c908d, "Update to v1.4.0"), numpy 1.24.2, Python 3.11.2.
Neither is installed in CI: to re-record, put both source trees on PYTHONPATH (plus stand-ins for
pygame and farama_notifications, which the recorder never uses) and run
    python3 record_mpe.py OUT_DIR

Protocol (also in each file's `protocol` field): episode k is parallel_env(...).reset(seed=k),
k = 0, 1, 2, played to its truncation at 25 steps. Actions come from numpy.random.default_rng(
20000 + k), agent by agent in agent order: Discrete(n) -> rng.integers(n), Box -> rng.uniform(low,
high).astype(float32). Each file holds the world's full initial state (every agent's pos, vel and
utterance, every landmark's pos, the speaker's goal landmark) and, per step, the actions, every
agent's observation (float32), reward, termination and truncation. PettingZoo's random initial
states come from numpy's PCG64, so trustrl starts from the recorded state instead of the seed.
"""
import json
import sys

import numpy as np
import pettingzoo
from pettingzoo.mpe import simple_speaker_listener_v4, simple_spread_v3

PETTINGZOO_COMMIT = "369c979fa"
GYMNASIUM_COMMIT = "95a790e199c1ea7befa2fca03ac9fc42001c908d"
EPISODES = 3


def world_state(env):
    world = env.unwrapped.world
    state = {
        "agents": [
            {"name": a.name, "pos": a.state.p_pos.tolist(), "vel": a.state.p_vel.tolist(),
             "c": np.asarray(a.state.c, dtype=np.float64).tolist()}
            for a in world.agents
        ],
        "landmarks": [{"pos": l.state.p_pos.tolist()} for l in world.landmarks],
    }
    goal = getattr(world.agents[0], "goal_b", None)
    if goal is not None:
        state["goal"] = world.landmarks.index(goal)
    return state


def sample(space, rng):
    if hasattr(space, "n"):
        return int(rng.integers(space.n))
    return rng.uniform(space.low, space.high).astype(np.float32)


def record(module, name, continuous):
    episodes = []
    for k in range(EPISODES):
        env = module.parallel_env(continuous_actions=continuous)
        obs, _ = env.reset(seed=k)
        agents = list(env.agents)
        rng = np.random.default_rng(20000 + k)
        episode = {
            "seed": k,
            "agents": agents,
            "initial_state": world_state(env),
            "initial_obs": {a: obs[a].tolist() for a in agents},
            "steps": [],
        }
        while env.agents:
            actions = {a: sample(env.action_space(a), rng) for a in agents}
            obs, rew, term, trunc, _ = env.step(actions)
            episode["steps"].append({
                "actions": {a: (v.tolist() if isinstance(v, np.ndarray) else v)
                            for a, v in actions.items()},
                "obs": {a: obs[a].tolist() for a in agents},
                "rewards": {a: float(rew[a]) for a in agents},
                "terminated": {a: bool(term[a]) for a in agents},
                "truncated": {a: bool(trunc[a]) for a in agents},
                "state": world_state(env),
            })
        episodes.append(episode)
    return {
        "env_id": name,
        "continuous_actions": continuous,
        "pettingzoo_commit": PETTINGZOO_COMMIT,
        "gymnasium_commit": GYMNASIUM_COMMIT,
        "pettingzoo_version": pettingzoo.__version__,
        "numpy_version": np.__version__,
        "python": sys.version.split()[0],
        "protocol": "parallel_env(continuous_actions=...).reset(seed=k), k < 3, to truncation; "
                    "actions from numpy.random.default_rng(20000+k) agent by agent: Discrete -> "
                    "rng.integers(n), Box -> rng.uniform(low, high).astype(float32)",
        "episodes": episodes,
    }


def main(out_dir):
    for module, name in ((simple_spread_v3, "simple_spread_v3"),
                         (simple_speaker_listener_v4, "simple_speaker_listener_v4")):
        for continuous in (False, True):
            data = record(module, name, continuous)
            suffix = "-continuous" if continuous else ""
            with open(f"{out_dir}/{name}{suffix}.json", "w") as f:
                json.dump(data, f, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
