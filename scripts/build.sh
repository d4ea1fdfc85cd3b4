#!/usr/bin/env bash
# Configures and builds trustrl (Release) into build/. Usage: scripts/build.sh [cmake --build args]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${TRUSTRL_JOBS:-$(nproc)}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$jobs" "$@"
