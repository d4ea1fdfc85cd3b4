#!/usr/bin/env python3
"""Markdown tables from bench/results/*.csv, for docs/BENCHMARKS.md.

Usage: python3 bench/summarize.py [learning|trpo|marl|marl-trust]   (default: all of them)
       python3 bench/summarize.py sequential RUN_DIR...
       python3 bench/summarize.py critic RUN_DIR...
       python3 bench/summarize.py sb3-trpo
The last reads sequential (HAPPO / HATRPO) runs' metrics.csv: per third of the run, the mean KL
of the agent updated first, second, ... and the median of the largest weight M it was given (for a
simultaneous run, the update's KL), with the entropy and training return of the third's last 10
updates.
`critic` reads trustrl runs (metrics.csv) or bench/sb3_contrib_trpo.sh's (SB3's progress.csv): how
many updates' explained variance was within 0.01 of 0 (a critic predicting one constant) and the
env step of the first update above 0.2. `sb3-trpo` sets sb3-contrib's own TRPO
(bench/results/sb3_contrib_trpo.csv) beside trustrl's rows of the same configs and budgets.
"""
import csv
import os
import statistics
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))

# The bars and rl-baselines3-zoo's published PPO scores (benchmark.md, one seed).
TARGETS = {
    "ppo_cartpole": ("CartPole-v1", "100k", 475, "500.0"),
    "ppo_acrobot": ("Acrobot-v1", "1M", -100, "-73.5"),
    "ppo_mountaincar": ("MountainCar-v0", "1M", -115, "-110.4"),
    "ppo_pendulum": ("Pendulum-v1", "200k", -250, "-172.2 (100k, gSDE)"),
    "ppo_mountaincar_continuous": ("MountainCarContinuous-v0", "1M (20k used)", 90, "-"),
    "ppo_lunarlander": ("LunarLander-v3", "1M", 200, "242.1 (v2)"),
    "ppo_lunarlander_continuous": ("LunarLanderContinuous-v3", "1M", 200, "270.9 (v2)"),
    "ppo_bipedalwalker": ("BipedalWalker-v3", "5M", 250, "287.9"),
}
ORDER = list(TARGETS)


def read(name):
    path = os.path.join(HERE, "results", name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [r for r in csv.reader(f) if r and not r[0].startswith("#")]


def seed_cells(seeds, seed_ids, bar):
    """A row's per-seed cells, whether every seed run meets the bar, mean wall s and mean SPS."""
    cells = [f"{seeds[s]['mean']:.1f} ± {seeds[s]['std']:.1f}" if s in seeds else "—"
             for s in seed_ids]
    done = [seeds[s] for s in seed_ids if s in seeds]
    if any(d["mean"] < bar for d in done):
        ok = "no"
    else:
        ok = "yes" if len(done) == len(seed_ids) else f"yes ({len(done)} of {len(seed_ids)} seeds run)"
    wall = sum(d["wall"] for d in done) / len(done)
    sps = sum(d["sps"] for d in done) / len(done)
    return cells, ok, wall, sps


def learning():
    rows = read("learning.csv")
    runs = defaultdict(dict)  # (config, mode) -> seed -> row
    for r in rows:
        config, mode, seed = r[0], r[1], int(r[2])
        runs[(config, mode)][seed] = dict(mean=float(r[3]), std=float(r[4]), steps=int(r[5]),
                                          wall=float(r[6]), sps=float(r[7]))
    print("| env | budget | bar | zoo PPO | mode | seed 0 | seed 1 | seed 2 | every seed >= bar | wall s (mean) | SPS (mean) |")
    print("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | :---: | ---: | ---: |")
    for config in ORDER:
        env, budget, bar, zoo = TARGETS[config]
        for mode in ("clip", "kl_penalty", "kl_bound"):
            seeds = runs.get((config, mode))
            if not seeds:
                continue
            cells, ok, wall, sps = seed_cells(seeds, (0, 1, 2), bar)
            print(f"| {env} | {budget} | {bar} | {zoo} | {mode} | {' | '.join(cells)} | {ok} | {wall:.0f} | {sps:,.0f} |")


# TRPO (trust_region.mode natural_gradient, configs/trpo_*.yaml): the bars at two budgets. The
# zoo's budget and sb3-contrib TRPO's score there (rl-baselines3-zoo benchmark.md, one seed, v2
# ids for the LunarLanders; its LunarLanderContinuous row was trained for 200k although trpo.yml
# now says 100k), and the budget and bar of the PPO table above.
TRPO_BARS = {
    "trpo_cartpole": [("CartPole-v1", 100_000, 500.0, "sb3-contrib")],
    "trpo_acrobot": [("Acrobot-v1", 100_000, -83.114, "sb3-contrib"),
                     ("Acrobot-v1", 1_000_000, -100, "issue bar")],
    "trpo_mountaincar": [("MountainCar-v0", 100_000, -107.278, "sb3-contrib"),
                         ("MountainCar-v0", 1_000_000, -115, "issue bar")],
    "trpo_pendulum": [("Pendulum-v1", 100_000, -174.631, "sb3-contrib"),
                      ("Pendulum-v1", 200_000, -250, "issue bar")],
    "trpo_mountaincar_continuous": [("MountainCarContinuous-v0", 50_000, 92.489, "sb3-contrib")],
    "trpo_lunarlander": [("LunarLander-v3", 200_000, 133.166, "sb3-contrib, v2"),
                         ("LunarLander-v3", 1_000_000, 200, "issue bar")],
    "trpo_lunarlander_continuous": [
        ("LunarLanderContinuous-v3", 100_000, 262.387, "sb3-contrib, v2, at 200k"),
        ("LunarLanderContinuous-v3", 200_000, 262.387, "sb3-contrib, v2"),
        ("LunarLanderContinuous-v3", 1_000_000, 200, "issue bar")],
    # The PPO table's 1M budget with 4x the zoo's batch and the bound annealed (the configs say why).
    "trpo_lunarlander_1m": [("LunarLander-v3", 1_000_000, 200, "issue bar")],
    "trpo_lunarlander_continuous_1m": [("LunarLanderContinuous-v3", 1_000_000, 200, "issue bar")],
    "trpo_bipedalwalker": [("BipedalWalker-v3", 1_000_000, 182.339, "sb3-contrib"),
                           ("BipedalWalker-v3", 5_000_000, 250, "issue bar")],
    # MuJoCo (issue 17): sb3-contrib's zoo rows are on the -v3 ids; trustrl runs -v4.
    "trpo_hopper": [("Hopper-v4", 1_000_000, 3618.386, "sb3-contrib, v3")],
    "trpo_walker2d": [("Walker2d-v4", 1_000_000, 4933.148, "sb3-contrib, v3")],
}


def budget_of(steps):
    """The budget a run was given, from the steps it took (a run stops at its last whole batch)."""
    for b in (50_000, 100_000, 200_000, 1_000_000, 5_000_000):
        if b * 0.95 <= steps <= b:
            return b
    return steps


def trpo_runs():
    """learning.csv's natural-gradient rows: (config, budget) -> seed -> its latest row."""
    runs = defaultdict(dict)
    for r in read("learning.csv"):
        if r[1] == "natural_gradient":
            runs[(r[0], budget_of(int(r[5])))][int(r[2])] = dict(
                mean=float(r[3]), std=float(r[4]), wall=float(r[6]), sps=float(r[7]))
    return runs


def trpo():
    runs = trpo_runs()
    print("| env | config | budget | bar (source) | seed 1 | seed 2 | seed 3 | every seed >= bar | wall s (mean) | SPS (mean) |")
    print("| --- | --- | --- | --- | ---: | ---: | ---: | :---: | ---: | ---: |")
    for config, bars in TRPO_BARS.items():
        for env, budget, bar, source in bars:
            seeds = runs.get((config, budget))
            if not seeds:
                continue
            cells, ok, wall, sps = seed_cells(seeds, (1, 2, 3), bar)
            label = f"{budget // 1000}k" if budget < 1_000_000 else f"{budget // 1_000_000}M"
            print(f"| {env} | {config} | {label} | {bar} ({source}) | {' | '.join(cells)} | {ok} | {wall:.0f} | {sps:,.0f} |")


def marl():
    rows = read("marl.csv")
    if not rows:
        return
    print("| config | variant | seed | last-10-update training return | eval 100 ep. (sampled) | eval 100 ep. (deterministic) | env steps | wall s | SPS |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in sorted(rows, key=lambda r: (r[0] != "mappo_simple_spread", r[0], r[1], int(r[2]))):
        print(f"| {r[0]} | {r[1]} | {r[2]} | {float(r[3]):.1f} | {float(r[4]):.1f} | {float(r[5]):.1f} | {int(r[6]):,} | {float(r[7]):.0f} | {float(r[8]):,.0f} |")


# The multi-agent trust regions at the budgets (issue 14): per env, MAPPO, HAPPO, HATRPO
# and the controls (a config with a policy per agent, or with shared policies), seeds 0-2; the
# latest row of each (config, variant, seed) at that budget.
MARL_TRUST = [
    ("speaker_listener", 6_000_000, [("mappo_speaker_listener", "mappo"),
                                     ("happo_speaker_listener", "happo"),
                                     ("hatrpo_speaker_listener", "hatrpo")]),
    ("simple_spread", 10_000_000, [("mappo_simple_spread", "mappo"),
                                   ("happo_simple_spread", "happo"),
                                   ("hatrpo_simple_spread", "hatrpo"),
                                   ("mappo_simple_spread", "unshared"),
                                   ("happo_simple_spread", "unshared"),
                                   ("hatrpo_simple_spread", "annealed")]),
    ("multiwalker", 6_000_000, [("mappo_multiwalker", "mappo"),
                                ("happo_multiwalker", "happo"),
                                ("hatrpo_multiwalker", "hatrpo"),
                                ("happo_multiwalker", "shared"),
                                ("hatrpo_multiwalker", "shared")]),
    ("halfcheetah_2x3", 10_000_000, [("mappo_halfcheetah_2x3", "mappo"),
                                     ("happo_halfcheetah_2x3", "happo"),
                                     ("hatrpo_halfcheetah_2x3", "hatrpo")]),
    ("walker2d_2x3", 10_000_000, [("mappo_walker2d_2x3", "mappo"),
                                  ("happo_walker2d_2x3", "happo"),
                                  ("hatrpo_walker2d_2x3", "hatrpo")]),
]


# MaMuJoCo's runs use seed 1 (its configs' seed).
SEEDS = {"halfcheetah_2x3": (1, 2, 3), "walker2d_2x3": (1, 2, 3)}


def marl_trust():
    budget_of = {config: budget for _, budget, runs in MARL_TRUST for config, _ in runs}
    latest = {}
    for r in read("marl.csv"):
        if r[0] in budget_of and int(r[6]) >= 0.99 * budget_of[r[0]]:
            latest[(r[0], r[1], int(r[2]))] = r
    print("| env, budget | config | variant | seeds | first | second | third | mean |")
    print("| --- | --- | --- | --- | ---: | ---: | ---: | ---: |")
    for env, budget, runs in MARL_TRUST:
        seeds = SEEDS.get(env, (0, 1, 2))
        for config, variant in runs:
            cells, vals = [], []
            for seed in seeds:
                r = latest.get((config, variant, seed))
                if r is None:
                    cells.append("not run")
                    continue
                vals.append(float(r[3]))
                cells.append(f"{float(r[3]):.2f} ({float(r[5]):.2f})")
            mean = f"{sum(vals) / len(vals):.2f}" if vals else ""
            print(f"| {env}, {budget // 1_000_000}M | {config} | {variant} | {seeds[0]}-{seeds[-1]} | {' | '.join(cells)} | {mean} |")


def sequential(run_dirs):
    print("| run | steps | KL of the agent updated 1st, 2nd, ... | median of max M, by position | entropy | training return |")
    print("| --- | --- | --- | --- | ---: | ---: |")
    for run in run_dirs:
        rows = list(csv.DictReader(open(os.path.join(run, "metrics.csv"))))
        agents = sum(1 for k in rows[0] if k.startswith("seq/order_"))
        n = len(rows)
        for third in range(3):
            part = rows[third * n // 3:(third + 1) * n // 3]
            kl = [[] for _ in range(max(agents, 1))]
            m_max = [[] for _ in range(agents)]
            for r in part:
                if not agents:  # a simultaneous run (MAPPO), for comparison: its update's KL
                    kl[0].append(float(r["kl/analytic"]))
                for pos in range(agents):
                    a = int(float(r[f"seq/order_{pos}"]))
                    kl[pos].append(float(r[f"kl/group_{a}"]))
                    m_max[pos].append(float(r[f"seq/factor_max_{a}"]))
            def last(key):
                vals = [float(r[key]) for r in part[-10:] if r[key]]
                return sum(vals) / len(vals) if vals else float("nan")
            median = lambda v: sorted(v)[len(v) // 2]
            steps = f"{int(float(part[0]['global_step'])) / 1e6:.1f}-{int(float(part[-1]['global_step'])) / 1e6:.1f}M"
            print(f"| {os.path.basename(run.rstrip('/'))} | {steps} | "
                  f"{' / '.join(f'{sum(v) / len(v):.4f}' for v in kl)} | "
                  f"{' / '.join(f'{median(v):.1f}' for v in m_max) or '-'} | "
                  f"{last('losses/entropy'):.2f} | {last('charts/episodic_return'):.1f} |")


def critic(run_dirs):
    print("| run | updates | explained variance within 0.01 of 0 | first above 0.2 at env step |")
    print("| --- | ---: | ---: | ---: |")
    for run in run_dirs:
        ours = os.path.exists(os.path.join(run, "metrics.csv"))
        path = os.path.join(run, "metrics.csv" if ours else "progress.csv")
        step, ev = (("global_step", "losses/explained_variance") if ours
                    else ("time/total_timesteps", "train/explained_variance"))
        with open(path) as f:
            rows = [r for r in csv.DictReader(f) if r.get(ev)]
        dead = sum(abs(float(r[ev])) < 0.01 for r in rows)
        alive = next((r[step] for r in rows if float(r[ev]) > 0.2), "never")
        print(f"| {os.path.basename(run.rstrip('/'))} | {len(rows)} | {dead} | {alive} |")


# sb3-contrib env id -> trustrl config, for the reference runs of bench/sb3_contrib_trpo.sh.
SB3_TRPO = {"LunarLander-v3": ("trpo_lunarlander", 133.166),
            "LunarLanderContinuous-v3": ("trpo_lunarlander_continuous", 262.387),
            "Acrobot-v1": ("trpo_acrobot", -83.114), "MountainCar-v0": ("trpo_mountaincar", -107.278)}


def sb3_trpo():
    ref = defaultdict(dict)
    for r in read("sb3_contrib_trpo.csv"):
        ref[(r[0], budget_of(int(r[2])))][int(r[1])] = float(r[3])
    ours = trpo_runs()
    print("| env, budget | zoo's score (one seed) | implementation | seeds | returns | mean | median | at or above the score |")
    print("| --- | ---: | --- | ---: | --- | ---: | ---: | ---: |")
    for (env, budget), seeds in sorted(ref.items()):
        config, bar = SB3_TRPO[env]
        label = f"{budget // 1000}k"
        trustrl = {seed: row["mean"] for seed, row in ours.get((config, budget), {}).items()}
        for name, runs in (("sb3-contrib", seeds), ("trustrl", trustrl)):
            vals = [runs[s] for s in sorted(runs)]
            if not vals:
                continue
            print(f"| {env}, {label} | {bar} | {name} | {min(runs)}-{max(runs)} | "
                  f"{' / '.join(f'{v:.1f}' for v in vals)} | {statistics.mean(vals):.1f} | {statistics.median(vals):.1f} | "
                  f"{sum(v >= bar for v in vals)} of {len(vals)} |")


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    if which == "sequential":
        sequential(sys.argv[2:])
        sys.exit(0)
    if which == "critic":
        critic(sys.argv[2:])
        sys.exit(0)
    if which == "sb3-trpo":
        sb3_trpo()
        sys.exit(0)
    if which in ("all", "learning"):
        learning()
        print()
    if which in ("all", "trpo"):
        trpo()
        print()
    if which in ("all", "marl"):
        marl()
        print()
    if which in ("all", "marl-trust"):
        marl_trust()
