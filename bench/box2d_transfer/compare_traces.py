"""Where two BipedalWalker traces (walker_gait.cpp / gymnasium_walker.py rows) part: for the first
steps, and then at a few checkpoints, the difference of each group of quantities (hull angle and
speeds, each joint's angle and speed, contacts, hull x), and the first step where each group
differs by more than a threshold.

    python3 compare_traces.py A.csv B.csv [--steps 12] [--threshold 0.05]
"""
import argparse
import csv

# Observation indices (envs/box2d/walker_body.h, Gymnasium's state order).
GROUPS = {
    "hull angle": [0], "hull ang.vel": [1], "hull vx,vy": [2, 3],
    "hip0 angle": [4], "hip0 speed": [5], "knee0 angle": [6], "knee0 speed": [7],
    "hip1 angle": [9], "hip1 speed": [10], "knee1 angle": [11], "knee1 speed": [12],
    "contacts": [8, 13],
}


def read(path):
    with open(path) as f:
        return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]


def diffs(ra, rb):
    out = {g: max(abs(ra[f"o{i}"] - rb[f"o{i}"]) for i in idx) for g, idx in GROUPS.items()}
    out["hull x"] = abs(ra["x"] - rb["x"])
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--threshold", type=float, default=0.05)
    args = p.parse_args()
    a, b = read(args.a), read(args.b)
    n = min(len(a), len(b))
    print(f"{args.a}: {len(a)} steps, {args.b}: {len(b)} steps")
    names = list(GROUPS) + ["hull x"]
    print("step " + " ".join(f"{g[:11]:>11}" for g in names))
    first = {}
    for t in range(n):
        d = diffs(a[t], b[t])
        for g in names:
            if g not in first and d[g] > args.threshold:
                first[g] = t
        if t < args.steps or t in (25, 50, 100, 200, 400, 800):
            print(f"{t:4d} " + " ".join(f"{d[g]:11.4f}" for g in names))
    print(f"first step over {args.threshold}: " +
          ", ".join(f"{g} {first.get(g, '-')}" for g in names))


if __name__ == "__main__":
    main()
