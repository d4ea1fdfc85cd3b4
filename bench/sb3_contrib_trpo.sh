#!/usr/bin/env bash
# Issue 14's reference runs: sb3-contrib's own TRPO with rl-baselines3-zoo's tuned settings, on
# the seeds trustrl's TRPO rows use, evaluated the way bench/learn.sh evaluates trustrl's (100
# deterministic episodes, seed 2024). The zoo's benchmark.md gives one seed per env; these runs
# show how far its seeds spread. Appends to bench/results/sb3_contrib_trpo.csv:
#   env,seed,steps,return_mean,return_std,length_mean,train_seconds
#
#   bench/sb3_contrib_trpo.sh PYTHON_DIR ENV_ID SEED [STEPS]
#
# PYTHON_DIR holds the packages, from their sources (none is a Debian 12 package):
# stable_baselines3 (v2.4.1, the last to accept Debian's torch 1.13), sb3_contrib (v2.4.0),
# gymnasium (v1.0.0, LunarLander-v3), Box2D (pybox2d 2.3.10, `python3 setup.py build` with swig;
# copy its build/lib*/Box2D here) and an empty farama_notifications/__init__.py. Debian 12
# packages: python3-torch, python3-pandas, python3-cloudpickle, python3-pygame, swig, python3-dev.
set -euo pipefail
[[ $# -ge 3 ]] || { sed -n 2,14p "$0"; exit 2; }
dir=$(realpath "$1") env=$2 seed=$3 steps=${4:-}
repo=$(cd "$(dirname "$0")/.." && pwd)
results=${TRUSTRL_RESULTS:-$repo/bench/results/sb3_contrib_trpo.csv}
logs=$repo/runs/sb3_contrib/$env-s$seed
mkdir -p "$(dirname "$results")" "$logs"
OMP_NUM_THREADS=1 PYTHONPATH="$dir" /usr/bin/python3 "$repo/bench/sb3/run_trpo.py" \
  "$env" "$seed" "$logs" $steps | tee -a "$results"
