#!/usr/bin/env bash
# One row group of docs/BOX2D.md's transfer tables: a run's policy evaluated over N episodes (seed
# 2024), deterministic and sampled, here and on the reference library's own env served through the
# Python SDK (16 copies).
# Usage: bench/box2d_transfer/transfer_table.sh RUN_DIR [EPISODES]
#   SERVE   what serves the reference env: a trustrl_env module and its arguments (default
#           "trustrl_env.gymnasium BipedalWalker-v3"; e.g. "trustrl_env.pettingzoo
#           pettingzoo.sisl.multiwalker_v9")
#   HERE    the command that evaluates here (default "$TRUSTRL eval"; walker_gait's eval for the
#           BipedalWalker policy on the hardcore terrain), given RUN_DIR --episodes N --seed 2024
#           [--deterministic]
#   HERE_ARGS    more arguments of HERE (walker_gait: "--hardcore eval")
#   REMOTE_ARGS  more arguments of the remote eval (--allow-spec-mismatch for that policy)
# Needs TRUSTRL (default build/cli/trustrl) and GYM_PYTHONPATH: Gymnasium's and pybox2d's source
# trees, and PettingZoo's for MultiWalker (docs/BOX2D.md); build/python (trustrl_python_proto) and
# python/ are added here.
set -euo pipefail
run=$1
episodes=${2:-100}
trustrl=${TRUSTRL:-build/cli/trustrl}
serve=${SERVE:-trustrl_env.gymnasium BipedalWalker-v3}
here=${HERE:-$trustrl eval}
port=${PORT:-5741}
log=/tmp/transfer_table_server.$$.log
export PYTHONPATH="${GYM_PYTHONPATH:?set GYM_PYTHONPATH}:build/python:python"
# shellcheck disable=SC2086 # SERVE and HERE are word lists
/usr/bin/python3 -m $serve --listen 127.0.0.1:$port --num-envs 16 > "$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do grep -q listening "$log" && break; sleep 0.2; done
grep -q listening "$log" || { cat "$log" >&2; exit 1; }
echo "served: $(grep serving "$log")"
for mode in --deterministic ""; do
  # shellcheck disable=SC2086
  echo "here $mode: $($here "$run" ${HERE_ARGS:-} --episodes "$episodes" --seed 2024 $mode | tail -1)"
  # shellcheck disable=SC2086
  echo "reference $mode: $($trustrl eval "$run" --episodes "$episodes" --seed 2024 $mode \
    --env-server 127.0.0.1:$port ${REMOTE_ARGS:-} | tail -1)"
done
