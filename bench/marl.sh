#!/usr/bin/env bash
# One multi-agent learning-target run: train CONFIG (MAPPO, or independent PPO with
# `--set mappo.critic_input=observation`) with SEED, then evaluate the final policy over 100
# episodes, sampled and deterministic. Appends a CSV row to $TRUSTRL_RESULTS
# (default bench/results/marl.csv):
#   config,variant,seed,final_train_return,eval_sampled,eval_deterministic,env_steps,wall_seconds,sps
# final_train_return is the mean episodic return over the last 10 updates (what the MAPPO
# reference code reports as "average episode rewards").
# Usage: bench/marl.sh configs/mappo_simple_spread.yaml mappo|ippo|happo|hatrpo|simultaneous|unshared|shared|annealed SEED
#        [--set k=v ...]
# (happo and hatrpo run the config as written: pass configs/happo_*.yaml or configs/hatrpo_*.yaml)
set -euo pipefail
cd "$(dirname "$0")/.."
config=$1 variant=$2 seed=$3
shift 3
bin=${TRUSTRL_BIN:-./build/cli/trustrl}
results=${TRUSTRL_RESULTS:-bench/results/marl.csv}
case "$variant" in
  mappo | happo | hatrpo) args=() ;;
  ippo) args=(--set mappo.critic_input=observation) ;;
  # A sequential config's agents updated together (MAPPO's scheme) with everything else as it is:
  # the control that isolates the sequential scheme from the hyperparameters.
  simultaneous) args=(--set mappo.update=simultaneous) ;;
  # The config with a policy per agent (unshared) or with shared policies (shared), everything else
  # as it is: the control that isolates parameter sharing.
  unshared) args=(--set mappo.share_parameters=false) ;;
  shared) args=(--set mappo.share_parameters=true) ;;
  # The config with its KL bound annealed linearly to 0 (trust_region.kl_bound.anneal).
  annealed) args=(--set trust_region.kl_bound.anneal=true) ;;
  *) echo "unknown variant $variant (mappo, ippo, happo, hatrpo, simultaneous, unshared, shared, annealed)" >&2; exit 2 ;;
esac
name=$(basename "$config" .yaml)
run=runs/bench/$name-$variant-s$seed
mkdir -p "$(dirname "$results")"
# TRUSTRL_RESUME=1 finishes an interrupted run from its last checkpoint instead of starting over.
if [[ "${TRUSTRL_RESUME:-0}" == 1 && -n "$(ls "$run/checkpoints" 2>/dev/null)" ]]; then
  "$bin" train --resume "$run" --quiet > /dev/null
else
  rm -rf "$run"
  "$bin" train "$config" --seed "$seed" --run-dir "$run" --quiet "${args[@]}" "$@" > /dev/null
fi
# A run stopped by a signal ends by it (set -e stops here), but older binaries (TRUSTRL_BIN) exited
# 0 after a signal's clean stop: record only a run whose log says it reached its budget.
if ! tail -1 "$run/train.log" | grep -q "^done: "; then
  echo "$run did not finish ($(tail -1 "$run/train.log")); no row written" >&2
  exit 1
fi
final=$(python3 - "$run/metrics.csv" <<'PY'
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
vals = [float(r["charts/episodic_return"]) for r in rows[-10:] if r["charts/episodic_return"]]
print(f"{sum(vals) / len(vals):.2f}")
PY
)
sampled=$("$bin" eval "$run" --episodes 100 --seed 2024 | sed -E 's/.*return (-?[0-9.]+) \+-.*/\1/')
det=$("$bin" eval "$run" --episodes 100 --deterministic --seed 2024 | sed -E 's/.*return (-?[0-9.]+) \+-.*/\1/')
steps=$(tail -1 "$run/metrics.csv" | cut -d, -f1)
# Training wall-clock (the trainer keeps it across a resume), evaluation left out.
wall=$(python3 -c 'import csv,sys; print(list(csv.DictReader(open(sys.argv[1])))[-1]["time/elapsed_seconds"])' "$run/metrics.csv")
sps=$(echo "$steps / $wall" | bc -l)
printf '%s,%s,%s,%s,%s,%s,%s,%.1f,%.0f\n' "$name" "$variant" "$seed" "$final" "$sampled" "$det" "$steps" "$wall" "$sps" | tee -a "$results"
