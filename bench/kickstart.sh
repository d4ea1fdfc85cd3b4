#!/usr/bin/env bash
# The kickstarting study of docs/DISTILLATION.md: LunarLander-v3 PPO from scratch against PPO
# kickstarted from a weak reference, seed for seed. The reference is seed 0's scratch run stopped
# at update 28 (458,752 steps; training return about 110, it hovers); it is trained first if
# missing. Each seed runs both ways, then 100 deterministic episodes of each final policy; the
# last step prints, per run, the first env step at which the training return reached 200.
# Usage: bench/kickstart.sh SEED... [-- --set trust_region.reference.beta=3.0 ...]
#   (defaults: beta 3, reverse KL, linear decay to 0 over the first 500k of the 1M steps)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${TRUSTRL_BIN:-./build/cli/trustrl}
out=${TRUSTRL_KICKSTART_DIR:-runs/kickstart}
seeds=()
while [[ $# -gt 0 && "$1" != "--" ]]; do seeds+=("$1"); shift; done
[[ $# -gt 0 ]] && shift
[[ ${#seeds[@]} -gt 0 ]] || { echo "usage: bench/kickstart.sh SEED... [-- --set k=v ...]" >&2; exit 2; }
config=configs/ppo_lunarlander.yaml
mkdir -p "$out"
ref=$out/weak/checkpoints/ckpt-000000028.bin
if [[ ! -f "$ref" ]]; then
  rm -rf "$out/weak"
  "$bin" train "$config" --seed 0 --run-dir "$out/weak" --quiet \
    --set run.checkpoint_every=1 --set run.keep_checkpoints=100 > /dev/null
fi
kick=(--set trust_region.reference.policy="$ref" --set trust_region.reference.beta=3.0
      --set trust_region.reference.direction=reverse --set trust_region.reference.schedule=linear
      --set trust_region.reference.decay_steps=500000 "$@")
for seed in "${seeds[@]}"; do
  for way in scratch kickstarted; do
    run=$out/$way-s$seed
    rm -rf "$run"
    if [[ $way == scratch ]]; then
      "$bin" train "$config" --seed "$seed" --run-dir "$run" --quiet > /dev/null
    else
      "$bin" train "$config" --seed "$seed" --run-dir "$run" --quiet "${kick[@]}" > /dev/null
    fi
    "$bin" eval "$run" --episodes 100 --deterministic --seed 2024 --json --out "$run/eval.json" \
      > /dev/null
  done
done
python3 - "$out" "${seeds[@]}" <<'PY'
import csv, json, sys
out, seeds = sys.argv[1], sys.argv[2:]
def first(run):
    for r in csv.DictReader(open(f"{run}/metrics.csv")):
        if r["charts/episodic_return"] and float(r["charts/episodic_return"]) >= 200:
            return int(r["global_step"])
    return None
print("seed,way,first_step_at_200,eval_mean,eval_std")
for s in seeds:
    for way in ("scratch", "kickstarted"):
        run = f"{out}/{way}-s{s}"
        e = json.load(open(f"{run}/eval.json"))["return"]
        f = first(run)
        print(f"{s},{way},{f if f else 'none'},{e['mean']:.1f},{e['std']:.1f}")
PY
