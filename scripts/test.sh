#!/usr/bin/env bash
# Set up, build and run every test: the README's command (b), and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cd build
ctest --output-on-failure -j "${TRUSTRL_JOBS:-$(nproc)}"
