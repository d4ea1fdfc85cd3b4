#!/usr/bin/env bash
# The issue's learning targets: every single-agent config x seeds 0, 1, 2 x trust-region modes
# clip, kl_penalty, kl_bound, one run after another (bench/learn.sh appends each result to
# bench/results/learning.csv). Usage: bench/learning_targets.sh [config ...]
set -euo pipefail
cd "$(dirname "$0")/.."
configs=("$@")
if ((${#configs[@]} == 0)); then
  configs=(configs/ppo_cartpole.yaml configs/ppo_acrobot.yaml configs/ppo_mountaincar.yaml configs/ppo_pendulum.yaml
           configs/ppo_mountaincar_continuous.yaml configs/ppo_lunarlander.yaml configs/ppo_lunarlander_continuous.yaml
           configs/ppo_bipedalwalker.yaml)
fi
for config in "${configs[@]}"; do
  for mode in clip kl_penalty kl_bound; do
    for seed in 0 1 2; do
      bash bench/learn.sh "$config" "$mode" "$seed"
    done
  done
done
