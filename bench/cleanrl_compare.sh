#!/usr/bin/env bash
# Issue 18's CleanRL comparison: PPO on CartPole-v1 with CleanRL's ppo.py settings, 100k steps,
# whole process, trustrl (each kernel path given) and CleanRL's own ppo.py run back to back and
# interleaved, RUNS times each; prints one line per run and the medians.
#
#   bench/cleanrl_compare.sh CLEANRL_PPO GYMNASIUM_DIR [RUNS]
#
# CLEANRL_PPO is cleanrl/ppo.py from a CleanRL checkout, GYMNASIUM_DIR a directory holding the
# `gymnasium` package it pins (0.29.1). Python needs python3-torch and python3-cloudpickle (Debian
# 12 packages); tyro and tensorboard are replaced by bench/cleanrl/ (see its files). CleanRL runs
# with one torch thread, as trustrl does.
set -euo pipefail
[[ $# -ge 2 ]] || { sed -n 2,12p "$0"; exit 2; }
ppo=$(realpath "$1"); gym=$(realpath "$2"); runs=${3:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
trustrl=$repo/build/cli/trustrl
[[ -x $trustrl ]] || { echo "build trustrl first (scripts/build.sh)" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# CleanRL's ppo.py needs a farama_notifications module (a notice printer); an empty one serves.
mkdir -p "$work/site/farama_notifications"; : > "$work/site/farama_notifications/__init__.py"
cp "$ppo" "$work/ppo.py"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores"
wall() { /usr/bin/time -f "%e" -o "$work/t" "$@" > "$work/out" 2>&1 || { cat "$work/out"; exit 1; }; cat "$work/t"; }
declare -A times
for ((r = 1; r <= runs; r++)); do
  for isa in avx512 avx2; do
    t=$(TRUSTRL_ISA=$isa wall "$trustrl" train "$repo/configs/ppo_cartpole_cleanrl.yaml" \
          --run-dir "$work/run_$isa$r" --quiet)
    blas=$(grep -m1 -o 'core [A-Za-z]*' "$work/run_$isa$r/train.log" || echo "core ?")
    echo "run $r trustrl $isa ($blas): $t s"; times[$isa]+="$t "
  done
  t=$(cd "$work" && OMP_NUM_THREADS=1 PYTHONPATH="$work/site:$gym:$repo/bench/cleanrl" \
        wall /usr/bin/python3 "$repo/bench/cleanrl/run_ppo.py" --seed 1 --total-timesteps 100000 \
        --cuda False)
  echo "run $r cleanrl ppo.py: $t s"; times[cleanrl]+="$t "
done
median() { tr ' ' '\n' <<< "$1" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
c=$(median "${times[cleanrl]}")
for isa in avx512 avx2; do
  m=$(median "${times[$isa]}")
  echo "median: trustrl $isa $m s, cleanrl $c s: $(awk -v a="$c" -v b="$m" 'BEGIN {printf "%.1fx", a / b}')"
done
