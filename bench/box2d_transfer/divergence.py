"""Where trustrl's BipedalWalker and Gymnasium's part, in the same worlds, under one policy's
actions (docs/BOX2D.md, "Transfer to Gymnasium (BipedalWalker-v3)").

For each world K (the world trustrl's reset(K) builds; Gymnasium builds it from trustrl's draws,
gymnasium_walker.py), the policy plays one deterministic episode on one side and its actions are
replayed open loop on the other:
  gym->2.4   the policy on Gymnasium, replayed on trustrl (joint_limits box2d_2.4, the default)
  gym->2.3   the same actions replayed on trustrl with joint_limits box2d_2.3
  2.4->gym   the policy on trustrl (default), replayed on Gymnasium
  2.3->gym   the policy on trustrl with joint_limits box2d_2.3, replayed on Gymnasium
and prints, per pair, the first step where any observed quantity (compare_traces.py's groups)
differs by more than --threshold, the quantities that cross it first, both returns (lengths), and
on each side the number of steps that end with a hip or knee more than 0.05 rad past a limit.

    python3 divergence.py RUN_DIR --worlds 0-9 --out DIR
Run from the repository root with Gymnasium, pybox2d, build/python and python/ on PYTHONPATH;
needs build/bench/walker_gait and build/cli/trustrl.
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import compare_traces  # noqa: E402
import gymnasium_walker  # noqa: E402


def summary(rows):
    return sum(r["reward"] for r in rows), len(rows)


# Joint limits (envs/box2d/walker_body.cpp): observation index, offset, lower, upper.
LIMITS = [(4, 0.0, -0.8, 1.1), (9, 0.0, -0.8, 1.1), (6, -1.0, -1.6, -0.1), (11, -1.0, -1.6, -0.1)]


def past_limits(rows, by=0.05):
    """Steps that end with a hip or knee more than `by` rad past one of its limits."""
    n = 0
    for r in rows:
        angles = [(r[f"o{i}"] + off, lo, hi) for i, off, lo, hi in LIMITS]
        n += any(a < lo - by or a > hi + by for a, lo, hi in angles)
    return n


def first_split(a, b, threshold):
    for t in range(min(len(a), len(b))):
        d = compare_traces.diffs(a[t], b[t])
        over = [g for g, v in d.items() if v > threshold]
        if over:
            return t, over
    return None, []


def replay_on_gym(world, actions_csv, out_csv):
    args = argparse.Namespace(world=world, actions=actions_csv, out=out_csv)
    gymnasium_walker.replay(args, quiet=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("run")
    p.add_argument("--worlds", default="0-9")
    p.add_argument("--out", required=True)
    p.add_argument("--threshold", type=float, default=0.05)
    p.add_argument("--walker-gait", default="build/bench/walker_gait")
    p.add_argument("--trustrl", default="build/cli/trustrl")
    p.add_argument("--port", type=int, default=5751)
    args = p.parse_args()
    lo, _, hi = args.worlds.partition("-")
    worlds = range(int(lo), int(hi or lo) + 1)
    os.makedirs(args.out, exist_ok=True)
    gym_dir = os.path.join(args.out, "gym")
    os.makedirs(gym_dir, exist_ok=True)
    server = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "gymnasium_walker.py"),
                               "serve", "--listen", f"127.0.0.1:{args.port}", "--num-envs", "1",
                               "--trace-dir", gym_dir], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        server.stdout.readline()  # "listening on ..."
        quiet = dict(check=True, stdout=subprocess.DEVNULL)
        print("world  pair      first split  crossing first                     returns (lengths)"
              "            steps past a limit")
        for k in worlds:
            f = lambda name: os.path.join(args.out, f"{name}-{k}.csv")  # noqa: E731
            subprocess.run([args.trustrl, "eval", args.run, "--episodes", "1", "--num-envs", "1",
                            "--seed", str(k), "--deterministic", "--env-server",
                            f"127.0.0.1:{args.port}"], **quiet)
            gym_trace = os.path.join(gym_dir, f"world{k}-ep0.csv")
            for _ in range(50):  # the server writes the trace when the episode ends
                if os.path.exists(gym_trace):
                    break
                time.sleep(0.1)
            pairs = []
            for rule in ("box2d_2.4", "box2d_2.3"):
                subprocess.run([args.walker_gait, args.run, "--joint-limits", rule, "replay",
                                "--world", str(k), gym_trace, f(f"gym-on-{rule}")], **quiet)
                pairs.append((f"gym->{rule[-3:]}", gym_trace, f(f"gym-on-{rule}")))
                subprocess.run([args.walker_gait, args.run, "--joint-limits", rule, "trace",
                                "--world", str(k), f(f"trustrl-{rule}")], **quiet)
                replay_on_gym(k, f(f"trustrl-{rule}"), f(f"trustrl-{rule}-on-gym"))
                pairs.append((f"{rule[-3:]}->gym", f(f"trustrl-{rule}"), f(f"trustrl-{rule}-on-gym")))
            for name, src, dst in sorted(pairs):
                a, b = compare_traces.read(src), compare_traces.read(dst)
                t, over = first_split(a, b, args.threshold)
                (ra, la), (rb, lb) = summary(a), summary(b)
                print(f"{k:5d}  {name:9s} {str(t):>11s}  {', '.join(over)[:34]:34s} "
                      f"{ra:7.1f} ({la}) / {rb:7.1f} ({lb})  {past_limits(a)} / {past_limits(b)}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
