#!/usr/bin/env bash
# One row group of docs/BOX2D.md's "Transfer to Gymnasium (BipedalWalker-v3)" table: a run's
# policy evaluated over N episodes (seed 2024), deterministic and sampled, here and on Gymnasium
# 1.4.0's own BipedalWalker-v3 served by trustrl_env.gymnasium (16 copies).
# Usage: bench/box2d_transfer/transfer_table.sh RUN_DIR [EPISODES]
# Needs TRUSTRL (default build/cli/trustrl) and GYM_PYTHONPATH: Gymnasium's and pybox2d's source
# trees (docs/BOX2D.md); build/python (trustrl_python_proto) and python/ are added here.
set -euo pipefail
run=$1
episodes=${2:-100}
trustrl=${TRUSTRL:-build/cli/trustrl}
port=${PORT:-5741}
export PYTHONPATH="${GYM_PYTHONPATH:?set GYM_PYTHONPATH}:build/python:python"
/usr/bin/python3 -m trustrl_env.gymnasium BipedalWalker-v3 --listen 127.0.0.1:$port --num-envs 16 \
  2> /tmp/transfer_table_server.$$.log &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q listening /tmp/transfer_table_server.$$.log && break; sleep 0.2; done
for mode in --deterministic ""; do
  echo "here $mode: $($trustrl eval "$run" --episodes "$episodes" --seed 2024 $mode | tail -1)"
  echo "gymnasium $mode: $($trustrl eval "$run" --episodes "$episodes" --seed 2024 $mode \
    --env-server 127.0.0.1:$port | tail -1)"
done
