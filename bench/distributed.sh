#!/usr/bin/env bash
# Learner + actor processes against `trustrl train` in one process (docs/BENCHMARKS.md,
# "Distributed"). For each config: train alone, then `trustrl learner` with 1, 2 and 4
# `trustrl actor`s splitting the batch's copies (synchronous), with 2 actors asynchronous, and two
# data-parallel learners (c10d/Gloo) with one actor each.
# Prints one Markdown row per run:
#   config | setup | steady SPS | vs train | update s | rollout s | actor wait | bytes/publication | bytes/rollout
# steady SPS leaves out the first update (process start-up, the actors joining); "actor wait" is
# the share of the actors' wall time spent waiting for work, parameters or replies.
#
# Usage: bench/distributed.sh [CONFIG:STEPS ...]
#   default: configs/ppo_cartpole.yaml:51200 configs/ppo_lunarlander.yaml:81920
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${TRUSTRL_BIN:-./build/cli/trustrl}
work=$(mktemp -d /tmp/trustrl_distributed_bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(configs/ppo_cartpole.yaml:51200 configs/ppo_lunarlander.yaml:81920)

# steady SPS, mean update and rollout seconds, total actor wait seconds, wall seconds (first
# update left out) of a metrics.csv.
summarize() {
  python3 - "$1" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
first, last = rows[0], rows[-1]
steps = float(last["global_step"]) - float(first["global_step"])
wall = float(last["time/elapsed_seconds"]) - float(first["time/elapsed_seconds"])
mean = lambda k: sum(float(r[k]) for r in rows[1:]) / (len(rows) - 1)
wait = sum(float(r.get("time/actor_wait_seconds") or 0) for r in rows[1:])
print(f"{steps / wall:.0f} {mean('time/update_seconds'):.4f} {mean('time/rollout_seconds'):.4f} {wait:.3f} {wall:.3f}")
PY
}

for run in "${runs[@]}"; do
  config=${run%%:*}
  steps=${run##*:}
  name=$(basename "$config" .yaml)
  envs=$(sed -nE 's/.*num_envs: *([0-9]+).*/\1/p' "$config" | head -1)
  "$bin" train "$config" --set total_steps="$steps" --set run.tensorboard=false --run-dir "$work/$name-train" --quiet >/dev/null
  read -r base update rollout _ _ < <(summarize "$work/$name-train/metrics.csv")
  echo "| $name | train (1 process) | $base | 100% | $update | $rollout | - | - | - |"
  for setup in sync:1 sync:2 sync:4 async:2 dp:2; do
    mode=${setup%%:*}
    actors=${setup##*:}
    dir="$work/$name-$mode-$actors"
    pids=()
    rm -f "$work"/learner*.out  # a previous run's line must not be mistaken for this one's
    if [ "$mode" = dp ]; then
      # Two learners, each gathering half the batch from one actor of its own.
      port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
      "$bin" learner "$config" --set total_steps="$steps" --set run.tensorboard=false --run-dir "$dir" \
        --listen 127.0.0.1:0 --world-size 2 --rank 0 --master-port "$port" >"$work/learner.out" 2>"$work/learner.err" &
      learner=$!
      "$bin" learner --listen 127.0.0.1:0 --world-size 2 --rank 1 --master-port "$port" --quiet \
        >"$work/learner1.out" 2>"$work/learner1.err" &
      pids+=($!)
      for _ in $(seq 600); do grep -qs "listening on" "$work/learner1.out" && break; sleep 0.1; done
      "$bin" actor --learner "$(sed -n 's/listening on //p' "$work/learner1.out")" --id bench-r1 2>/dev/null &
      pids+=($!)
      actors=1
      mode="2 learners"
    else
      "$bin" learner "$config" --set total_steps="$steps" --set run.tensorboard=false \
        --set distributed.mode="$mode" --set distributed.actor_envs=$((envs / actors)) \
        --run-dir "$dir" --listen 127.0.0.1:0 >"$work/learner.out" 2>"$work/learner.err" &
      learner=$!
    fi
    for _ in $(seq 600); do grep -qs "listening on" "$work/learner.out" && break; sleep 0.1; done
    address=$(sed -n 's/listening on //p' "$work/learner.out")
    [ -n "$address" ] || { echo "the learner did not start: $(cat "$work/learner.err")" >&2; exit 1; }
    for i in $(seq "$actors"); do
      "$bin" actor --learner "$address" --id "bench-$i" 2>"$work/actor-$i.err" &
      pids+=($!)
    done
    wait "$learner"
    for p in "${pids[@]}"; do wait "$p"; done
    if [ "$mode" = "2 learners" ]; then actors=2; fi
    read -r sps update rollout wait wall < <(summarize "$dir/metrics.csv")
    share=$(python3 -c "print(f'{100 * $wait / ($actors * $wall):.0f}%')")
    ratio=$(python3 -c "print(f'{100 * $sps / $base:.0f}%')")
    policy=$(sed -nE 's/.*publishing the policy: ([0-9]+) bytes.*/\1/p' "$work/learner.err" | head -1)
    rollout_bytes=$(sed -nE 's/.*steps: ([0-9]+) bytes each.*/\1/p' "$work/learner.err" | head -1)
    echo "| $name | learner + $actors actor(s), $mode | $sps | $ratio | $update | $rollout | $share | $policy | $rollout_bytes |"
  done
done
