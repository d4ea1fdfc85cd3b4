#!/usr/bin/env bash
# Set up, build and run every test: the README's command (b), and what CI runs.
#   scripts/test.sh             Release build in build/, every test
#   scripts/test.sh --sanitize  instead: ASan+UBSan (build-asan/) and TSan (build-tsan/) builds and
#                               their tests (scripts/sanitize.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  "") ;;
  --sanitize)
    bash scripts/setup.sh
    rc=0
    bash scripts/sanitize.sh asan || rc=1
    bash scripts/sanitize.sh tsan || rc=1
    exit $rc
    ;;
  *)
    echo "usage: scripts/test.sh [--sanitize]" >&2
    exit 2
    ;;
esac
bash scripts/setup.sh
bash scripts/build.sh
cd build
ctest --output-on-failure -j "${TRUSTRL_JOBS:-$(nproc)}"
