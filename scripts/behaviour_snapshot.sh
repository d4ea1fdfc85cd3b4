#!/usr/bin/env bash
# Behaviour snapshot (issue 13, "Must not change"): same-seed metrics.csv files of seven short runs,
# recorded before a refactor and compared after it.
#   scripts/behaviour_snapshot.sh OUT_DIR                 record with build/cli/trustrl (or $TRUSTRL)
#   scripts/behaviour_snapshot.sh --compare DIR_A DIR_B   exit 1 naming the first differing cell
#
# Runs: CartPole, LunarLander, BipedalWalker (short), simple_spread, MultiWalker (short), CartPole
# on a `trustrl env-server` (env.remote) and a `trustrl learner` with one `trustrl actor`. Both
# update paths are covered: the fused minibatch step (cartpole, bipedalwalker with a kl_bound,
# simple_spread) and autograd (lunarlander and multiwalker with target_kl, remote with kl_penalty,
# learner with kl_penalty + kl_bound). A snapshot is only comparable with one taken on the same
# machine and kernel path: TRUSTRL_ISA is fixed (avx2 unless set) and recorded in OUT_DIR/SNAPSHOT
# with the kernel report, and every run uses one env thread and one libtorch/BLAS thread.
# --compare reads every metrics.csv column except the wall-clock ones (charts/SPS, time/*).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"

compare() {
  local a="$1" b="$2"
  python3 - "$a" "$b" <<'EOF'
import csv, os, sys

a_dir, b_dir = sys.argv[1], sys.argv[2]
RUNS = ["cartpole", "lunarlander", "bipedalwalker", "simple_spread", "multiwalker", "remote",
        "learner_actor"]

def clock(column):
    return column == "charts/SPS" or column.startswith("time/")

def fail(message):
    print("behaviour_snapshot: " + message)
    sys.exit(1)

def setting(directory, key):
    path = os.path.join(directory, "SNAPSHOT")
    if not os.path.exists(path):
        fail(f"{path} is missing (not a snapshot directory)")
    for line in open(path):
        k, _, v = line.rstrip("\n").partition("=")
        if k == key:
            return v
    return ""

for key in ("TRUSTRL_ISA", "kernels"):
    if setting(a_dir, key) != setting(b_dir, key):
        fail(f"the snapshots ran on different {key}: '{setting(a_dir, key)}' vs "
             f"'{setting(b_dir, key)}'; only snapshots of one machine and kernel path compare")

for run in RUNS:
    tables = []
    for d in (a_dir, b_dir):
        path = os.path.join(d, run, "metrics.csv")
        if not os.path.exists(path):
            fail(f"{path} is missing")
        with open(path, newline="") as f:
            tables.append(list(csv.reader(f)))
    (ha, *ra), (hb, *rb) = tables
    kept_a = [c for c in ha if not clock(c)]
    kept_b = [c for c in hb if not clock(c)]
    if kept_a != kept_b:
        fail(f"{run}: the columns differ: {sorted(set(kept_a) ^ set(kept_b))}")
    if len(ra) != len(rb):
        fail(f"{run}: {len(ra)} rows vs {len(rb)}")
    ia = {c: i for i, c in enumerate(ha)}
    ib = {c: i for i, c in enumerate(hb)}
    for r, (row_a, row_b) in enumerate(zip(ra, rb)):
        for c in kept_a:
            va, vb = row_a[ia[c]], row_b[ib[c]]
            if va != vb:
                fail(f"{run}: row {r + 1} (update {row_a[ia['update']] if 'update' in ia else '?'})"
                     f", column {c}: {va} vs {vb}")
    print(f"{run}: {len(ra)} rows x {len(kept_a)} columns identical")
print("behaviour_snapshot: identical")
EOF
}

if [[ "${1:-}" == "--compare" ]]; then
  [[ $# -eq 3 ]] || {
    echo "usage: scripts/behaviour_snapshot.sh --compare DIR_A DIR_B" >&2
    exit 2
  }
  compare "$2" "$3"
  exit $?
fi
[[ $# -eq 1 && "$1" != -* ]] || {
  echo "usage: scripts/behaviour_snapshot.sh OUT_DIR | --compare DIR_A DIR_B" >&2
  exit 2
}

out="$1"
bin="${TRUSTRL:-$repo/build/cli/trustrl}"
[[ -x "$bin" ]] || {
  echo "behaviour_snapshot: no trustrl binary at $bin (build it, or set TRUSTRL)" >&2
  exit 2
}
if [[ -e "$out" && -n "$(ls -A "$out")" ]]; then
  echo "behaviour_snapshot: $out exists and is not empty; give a new directory" >&2
  exit 2
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"
export TRUSTRL_ISA="${TRUSTRL_ISA:-avx2}"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

children=()
cleanup() {
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# Waits (at most 60 s) for a child's "listening on ADDRESS" line in `file`; prints the address.
address_in() {
  local file="$1" i
  for ((i = 0; i < 600; ++i)); do
    if grep -q '^listening on ' "$file" 2>/dev/null; then
      sed -n 's/^listening on //p' "$file" | head -1
      return 0
    fi
    sleep 0.1
  done
  echo "behaviour_snapshot: no 'listening on' line in $file after 60 s:" >&2
  cat "$file" >&2
  return 1
}

train() {
  local name="$1" config="$2"
  shift 2
  echo "behaviour_snapshot: $name"
  "$bin" train "$repo/configs/$config" --run-dir "$out/$name" --quiet --set env.threads=1 \
    --set run.torch_threads=1 "$@" >"$out/$name.log" 2>&1 || {
    cat "$out/$name.log" >&2
    return 1
  }
}

start=$SECONDS
# Fused step (clip, no KL term), annealed LR and clip.
train cartpole ppo_cartpole.yaml --set total_steps=16384
# Autograd: target_kl reads the KL before each step, and stops some updates early.
train lunarlander ppo_lunarlander.yaml --set env.num_envs=8 --set ppo.num_steps=256 \
  --set total_steps=24576 --set trust_region.target_kl=0.0015
# Fused step with the kl_bound's backtracking after it; observation and reward normalization.
train bipedalwalker ppo_bipedalwalker.yaml --set env.num_envs=8 --set ppo.num_steps=256 \
  --set total_steps=16384 --set trust_region.kl_bound.delta=0.005
# MAPPO, fused (Huber value loss, value clipping, ValueNorm, state critic).
train simple_spread mappo_simple_spread.yaml --set env.num_envs=16 --set total_steps=6400
# MAPPO on Box actions, autograd: target_kl checked after each epoch, on the k3 estimate.
train multiwalker mappo_multiwalker.yaml --set env.num_envs=4 --set ppo.num_steps=128 \
  --set ppo.num_minibatches=8 --set total_steps=4096 --set trust_region.target_kl=0.003 \
  --set trust_region.target_kl_check=epoch --set trust_region.kl_measure=k3

"$bin" env-server --env CartPole-v1 --num-envs 8 --listen 127.0.0.1:0 \
  >"$out/env_server.out" 2>"$out/env_server.log" &
children+=($!)
server="$(address_in "$out/env_server.out")"
# Autograd: a KL penalty in the loss.
train remote ppo_cartpole.yaml --set total_steps=16384 --set env.remote="$server" \
  --set trust_region.kl_penalty.enabled=true --set trust_region.kl_penalty.beta=0.5 \
  --set trust_region.kl_measure=k2
kill "${children[0]}"
wait "${children[0]}" 2>/dev/null || true
children=()

# One learner, one actor (--min-actors 1: every batch is the one actor's); the config of
# tests/server/distributed_process_test.cpp, autograd with the KL bound.
echo "behaviour_snapshot: learner_actor"
cat >"$out/learner_actor.yaml" <<'EOF'
seed: 7
total_steps: 4096
env: {id: CartPole-v1, num_envs: 4, threads: 1}
ppo: {num_steps: 64, num_minibatches: 4, update_epochs: 3, learning_rate: 0.001}
trust_region:
  clip: 0.2
  clip_anneal: true
  kl_penalty: {enabled: true, beta: 0.5, target: 0.005}
  kl_bound: {delta: 0.05}
normalize: {observations: true, rewards: true}
run: {checkpoint_every: 5, tensorboard: false, torch_threads: 1}
EOF
"$bin" learner "$out/learner_actor.yaml" --run-dir "$out/learner_actor" --listen 127.0.0.1:0 \
  --min-actors 1 --quiet >"$out/learner.out" 2>"$out/learner.log" &
learner_pid=$!
children+=($learner_pid)
learner="$(address_in "$out/learner.out")"
"$bin" actor --learner "$learner" --id only >"$out/actor.log" 2>&1 || {
  cat "$out/actor.log" >&2
  exit 1
}
wait "$learner_pid" || {
  cat "$out/learner.log" >&2
  exit 1
}
children=()

{
  echo "TRUSTRL_ISA=$TRUSTRL_ISA"
  echo "kernels=$(sed -n 's/^kernels: //p' "$out/cartpole/train.log" | head -1 2>/dev/null || true)"
  echo "linux=$(uname -r)"
  echo "commit=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "dirty=$(git -C "$repo" status --porcelain 2>/dev/null | grep -c . || true)"
  echo "binary=$bin"
  echo "seconds=$((SECONDS - start))"
} >"$out/SNAPSHOT"
echo "behaviour_snapshot: recorded in $out ($((SECONDS - start)) s)"
