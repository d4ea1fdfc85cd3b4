#!/usr/bin/env bash
# One learning-target run: train CONFIG with a trust-region MODE and SEED, then evaluate the final
# policy over 100 deterministic episodes. Appends a CSV row to bench/results/learning.csv:
#   config,mode,seed,return_mean,return_std,env_steps,wall_seconds,sps
# Usage: bench/learn.sh configs/ppo_lunarlander.yaml clip|kl_penalty|kl_bound|natural_gradient SEED
#        [--set k=v ...]
set -euo pipefail
cd "$(dirname "$0")/.."
config=$1 mode=$2 seed=$3
bin=${TRUSTRL_BIN:-./build/cli/trustrl}
shift 3
case "$mode" in
  clip) mode_args=() ;;
  # The PPO paper's adaptive KL penalty alone (section 4: d_targ 0.01, initial beta 1).
  kl_penalty) mode_args=(--set trust_region.clip=null --set trust_region.clip_anneal=false
                         --set trust_region.kl_penalty.enabled=true --set trust_region.kl_penalty.target=0.01) ;;
  # The hard bound alone, with TRPO's usual delta (sb3-contrib TRPO target_kl 0.01).
  kl_bound) mode_args=(--set trust_region.clip=null --set trust_region.clip_anneal=false
                       --set trust_region.kl_bound.delta=0.01) ;;
  # TRPO's natural-gradient step (docs/TRUST_REGIONS.md); meant for the configs/trpo_*.yaml, which
  # already say so (on a ppo_*.yaml it keeps PPO's critic settings and entropy bonus).
  natural_gradient) mode_args=(--set trust_region.mode=natural_gradient --set trust_region.clip=null
                               --set trust_region.clip_anneal=false --set trust_region.kl_bound.delta=0.01) ;;
  *) echo "unknown mode $mode (clip, kl_penalty, kl_bound, natural_gradient)" >&2; exit 2 ;;
esac
name=$(basename "$config" .yaml)
run=runs/bench/$name-$mode-s$seed
results=${TRUSTRL_RESULTS:-bench/results/learning.csv}
mkdir -p "$(dirname "$results")"
# TRUSTRL_RESUME=1 finishes an interrupted run from its last checkpoint instead of starting over.
if [[ "${TRUSTRL_RESUME:-0}" == 1 && -n "$(ls "$run/checkpoints" 2>/dev/null)" ]]; then
  "$bin" train --resume "$run" --quiet > /dev/null
else
  rm -rf "$run"
  "$bin" train "$config" --seed "$seed" --run-dir "$run" --quiet "${mode_args[@]}" "$@" > /dev/null
fi
# A run stopped by a signal ends by it (set -e stops here), but older binaries (TRUSTRL_BIN) exited
# 0 after a signal's clean stop: record only a run whose log says it reached its budget.
if ! tail -1 "$run/train.log" | grep -q "^done: "; then
  echo "$run did not finish ($(tail -1 "$run/train.log")); no row written" >&2
  exit 1
fi
line=$("$bin" eval "$run" --episodes 100 --deterministic --seed 2024)
read -r mean std < <(echo "$line" | sed -E 's/.*return (-?[0-9.]+) \+- ([0-9.]+).*/\1 \2/')
steps=$(tail -1 "$run/metrics.csv" | cut -d, -f1)
# Training wall-clock (the trainer keeps it across a resume), evaluation left out.
wall=$(python3 -c 'import csv,sys; print(list(csv.DictReader(open(sys.argv[1])))[-1]["time/elapsed_seconds"])' "$run/metrics.csv")
sps=$(echo "$steps / $wall" | bc -l)
printf '%s,%s,%s,%s,%s,%s,%.1f,%.0f\n' "$name" "$mode" "$seed" "$mean" "$std" "$steps" "$wall" "$sps" | tee -a "$results"
