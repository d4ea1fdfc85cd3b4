#!/usr/bin/env bash
# Builds trustrl with sanitizers, each into its own folder (build/ is left alone), and runs tests.
#   scripts/sanitize.sh asan [unit]  AddressSanitizer + UBSan in build-asan/: the unit and
#                                    integration tests, or with `unit` only the unit tests (CI)
#   scripts/sanitize.sh tsan         ThreadSanitizer in build-tsan/: the threaded tests off gRPC
# ASan and TSan reports, from a test or from a process it starts (a trustrl server a test kills
# would hide its own), go to <build>/sanitizer-reports/; any report there fails the run, and the
# reports are printed. UBSan reports go to stderr (in an ASan build UBSan has no log_path) and end
# the process (halt_on_error). Suppressions (third-party code only) are in scripts/sanitizers/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
supp=$root/scripts/sanitizers
jobs=${TRUSTRL_JOBS:-$(nproc)}

usage() {
  echo "usage: scripts/sanitize.sh asan [unit] | tsan" >&2
  exit 2
}

kind=${1:-}
scope=${2:-all}
case "$kind" in
  asan)
    dir=build-asan
    sanitize=address,undefined
    targets=(core_tests envs_tests agents_tests support_tests)
    labels=unit
    if [[ $scope == all ]]; then
      # The integration tests spawn the trustrl binary and the Python SDK with generated stubs.
      targets+=(server_tests distributed_tests trustrl trustrl_python_proto)
      labels='^(unit|integration)$'
    elif [[ $scope != unit ]]; then
      usage
    fi
    # learning: minutes of training each, too slow instrumented (they run in the normal build).
    ;;
  tsan)
    [[ $# -le 1 ]] || usage
    dir=build-tsan
    sanitize=thread
    targets=(core_tests envs_tests agents_tests server_tests support_tests)
    labels='^(unit|integration)$'
    # The thread pool, the env server's worker pool, local vector envs on the pool, the trainer
    # (with threaded envs: Trainer.EnvThreadsDoNotChangeTheRun), MAPPO, and every test whose name
    # says it runs threads; the fault proxy's thread and the descriptor-shortage tests'.
    # Excluded: tests over gRPC (remote vector envs, env server sessions, learner service, actor
    # loop). Debian's libgrpc and abseil are not instrumented and order their threads with their
    # own futexes and atomics, which TSan cannot see: the 14 LearnerService tests gave 2,046
    # reports and 13 of them failed (10 at their first Join). Only 219 reports lie wholly inside
    # gRPC/protobuf/abseil; the other 1,827 have trustrl's code (its sources, or library headers
    # compiled into it) in an access stack, since its reactors run on gRPC's threads. No
    # suppression confined to third-party frames covers them; they need happens-before
    # annotations at trustrl's gRPC hand-offs first (not done).
    include='^(ThreadPool|WorkerPool|VectorEnv|MultiAgentVectorEnv|Trainer|Mappo|FaultProxy|DescriptorShortage)\.|Thread|DescriptorExhaustion'
    ;;
  *) usage ;;
esac

reports=$root/$dir/sanitizer-reports
mkdir -p "$dir"
rm -rf "$reports"
mkdir -p "$reports"

# Set for the build too: gtest_discover_tests runs each test binary when it is linked.
# detect_leaks: on; the few leaks libtorch, gRPC and protobuf keep on purpose are in lsan.supp.
export ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1:strict_init_order=1:log_path=$reports/asan"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp:log_path=$reports/ubsan"
export TSAN_OPTIONS="suppressions=$supp/tsan.supp:second_deadlock_stack=1:history_size=4:log_path=$reports/tsan"
# libtorch's and OpenBLAS's own thread pools are not instrumented; one thread keeps them out of it.
export OMP_NUM_THREADS=1

start=$(date +%s)
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DTRUSTRL_SANITIZE="$sanitize" \
  -DTRUSTRL_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir" -j "$jobs" --target "${targets[@]}"
built=$(date +%s)

ctest_args=(--test-dir "$dir" --output-on-failure -j "$jobs" -L "$labels")
if [[ $kind == tsan ]]; then
  ctest_args+=(-R "$include")
fi
rc=0
if [[ $kind == tsan ]] && command -v setarch >/dev/null; then
  # TSan's shadow layout needs a fixed address space on kernels with 32 bits of mmap randomness.
  setarch "$(uname -m)" -R ctest "${ctest_args[@]}" || rc=$?
else
  ctest "${ctest_args[@]}" || rc=$?
fi
done_at=$(date +%s)

shopt -s nullglob
found=("$reports"/*)
for f in "${found[@]}"; do
  echo "==== $f"
  cat "$f"
done
echo "sanitize $kind ${scope}: build $((built - start)) s, tests $((done_at - built)) s," \
  "ctest rc=$rc, ${#found[@]} sanitizer report(s) in $reports"
if ((rc != 0 || ${#found[@]} > 0)); then exit 1; fi
