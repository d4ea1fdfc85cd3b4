#!/usr/bin/env bash
# clang-format every C++ source of the project (.clang-format at the root); --check changes
# nothing and fails, listing the files, when any file is not formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
if [[ -n "$mode" && "$mode" != "--check" ]]; then
  echo "usage: scripts/format.sh [--check]" >&2
  exit 2
fi
mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.cc' '*.hpp')
if [[ "$mode" == "--check" ]]; then
  bad=()
  for f in "${files[@]}"; do
    if ! clang-format --dry-run --Werror "$f" > /dev/null 2>&1; then bad+=("$f"); fi
  done
  if ((${#bad[@]} > 0)); then
    echo "format: ${#bad[@]} of ${#files[@]} files are not clang-formatted (run scripts/format.sh):" >&2
    printf '  %s\n' "${bad[@]}" >&2
    exit 1
  fi
  echo "format: all ${#files[@]} C++ files are clang-formatted"
else
  clang-format -i "${files[@]}"
  echo "format: formatted ${#files[@]} C++ files"
fi
