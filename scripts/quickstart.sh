#!/usr/bin/env bash
# Set up, build, train PPO on CartPole-v1, then evaluate the saved policy: the README's command (a).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh --target trustrl
run_dir=runs/ppo_cartpole-$(date +%Y%m%d-%H%M%S)
./build/cli/trustrl train configs/ppo_cartpole.yaml --run-dir "$run_dir"
./build/cli/trustrl eval "$run_dir" --episodes 20 --deterministic
