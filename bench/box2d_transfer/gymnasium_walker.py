"""Gymnasium's BipedalWalker-v3 in trustrl's worlds, for the transfer study of docs/BOX2D.md
("Transfer to Gymnasium (BipedalWalker-v3)").

Gymnasium draws its terrain and push from numpy's PCG64; here every copy draws from trustrl's own
generator instead (TrustrlRng of tests/data/reference/record_box2d.py, installed as np_random
when the copy is reset with a seed), so Gymnasium's reset(seed=K) builds the world trustrl's
reset(K) builds, and the two sides can be compared episode by episode and step by step.

    serve --listen ADDR [--num-envs N] [--trace-dir DIR]
        serves the env (its TimeLimit kept, trustrl's spec hash) to `trustrl eval --env-server`;
        copy i of a session is reset with seed + i as trustrl's local copies are, so eval plays
        the same worlds on both sides. With --trace-dir, each episode of each copy is written to
        DIR/world{K}-ep{j}.csv (K: the seed of the copy's last seeded reset, j: episodes since).
    replay --world K ACTIONS.csv OUT.csv
        plays the actions of a trace (columns a0..a3, from either side) in world K.

Trace rows (the format of walker_gait.cpp's): step, a0..a3, reward, hull x and y, the 24
observation values. Needs Gymnasium and pybox2d on PYTHONPATH (docs/BOX2D.md has the command).
"""
import argparse
import csv
import os
import sys

import gymnasium
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "reference"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from record_box2d import TrustrlRng  # noqa: E402  (trustrl's generator, in Python)

HEADER = ["step", "a0", "a1", "a2", "a3", "reward", "x", "y"] + [f"o{i}" for i in range(24)]


class TrustrlWorlds(gymnasium.Wrapper):
    """reset(seed=K) draws the world from trustrl's Rng(K); reset() carries that stream on, as
    trustrl's auto-reset does. Optionally writes every episode as a trace."""

    def __init__(self, env, trace_dir=None):
        super().__init__(env)
        self.trace_dir = trace_dir
        self.world, self.episode, self.rows, self.last_rows = None, -1, [], []

    def reset(self, *, seed=None, options=None):
        self._flush()
        if seed is not None:
            self.env.unwrapped._np_random = TrustrlRng(seed)
            self.world, self.episode = seed, -1
        self.episode += 1
        return self.env.reset(options=options)  # no seed: keeps the generator installed above

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        hull = self.env.unwrapped.hull.position
        self.rows.append([len(self.rows)] + [float(a) for a in action] +
                         [float(reward), hull[0], hull[1]] + [float(o) for o in obs])
        if terminated or truncated:
            self._flush()
        return obs, reward, terminated, truncated, info

    def _flush(self):
        if self.trace_dir and self.rows:
            name = f"world{self.world}-ep{self.episode}.csv"
            write_trace(os.path.join(self.trace_dir, name), self.rows)
        if self.rows:
            self.last_rows = self.rows
        self.rows = []


def write_trace(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for r in rows:
            w.writerow([r[0]] + [repr(float(v)) for v in r[1:]])


def read_actions(path):
    with open(path) as f:
        return [np.array([float(r[f"a{j}"]) for j in range(4)], dtype=np.float32)
                for r in csv.DictReader(f)]


def serve(args):
    from trustrl_env import server

    def make():
        return TrustrlWorlds(gymnasium.make("BipedalWalker-v3"), args.trace_dir)

    server.serve(make, args.listen, num_envs=args.num_envs)


def replay(args, quiet=False):
    env = TrustrlWorlds(gymnasium.make("BipedalWalker-v3"))
    env.reset(seed=args.world)
    total = 0.0
    for a in read_actions(args.actions):
        _, reward, terminated, truncated, _ = env.step(a)
        total += reward
        if terminated or truncated:
            break
    rows = env.rows or env.last_rows
    write_trace(args.out, rows)
    if not quiet:
        print(f"world {args.world}: return {total:.2f}, {len(rows)} steps -> {args.out}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--listen", default="127.0.0.1:0")
    s.add_argument("--num-envs", type=int, default=16)
    s.add_argument("--trace-dir", default=None)
    r = sub.add_parser("replay")
    r.add_argument("--world", type=int, required=True)
    r.add_argument("actions")
    r.add_argument("out")
    args = p.parse_args()
    serve(args) if args.mode == "serve" else replay(args)


if __name__ == "__main__":
    main()
