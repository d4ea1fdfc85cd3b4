#!/usr/bin/env bash
# Start-up time and peak memory of the commands that never train (docs/BENCHMARKS.md, "Start-up
# and memory of the commands that never train"). For each command, one Markdown row:
#   command | start-up wall ms | start-up CPU ms | start-up RSS MB | real run | wall s | peak RSS MB
# start-up: the medians of 5 runs of `trustrl CMD --help` (loading every library and parsing: all
# that happens before the command's own work), and one such run's peak resident memory; real run:
# one run of the command doing its job, wall time and peak resident memory (/usr/bin/time -v).
#   envs        list every env (makes each one)
#   eval        5 episodes of tests/data/legacy_runs/ppo (CartPole-v1)
#   export      that policy to ONNX
#   plot        that run's metrics.csv to a PNG
#   env-server  serves CartPole-v1 to the check-env below, then SIGINT
#   check-env   the protocol checks and the conformance suite against that server
#   actor       acts for a `trustrl learner` (the same binary) for 8 CartPole updates
#
# Usage: bench/startup.sh [TRUSTRL_BINARY]   (default build/cli/trustrl)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/cli/trustrl}")
work=$(mktemp -d /tmp/trustrl_startup_bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
policy=tests/data/legacy_runs/ppo

# Median wall and CPU (user + system) milliseconds of 5 runs of the command line "$@", timed
# in-process without a shell. CPU time hardly depends on the machine's load; wall time does.
median_ms() {
  python3 - "$@" <<'PY'
import resource, statistics, subprocess, sys, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
walls, cpus = [], []
for _ in range(5):
    start, start_cpu = time.perf_counter(), cpu()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    walls.append((time.perf_counter() - start) * 1000)
    cpus.append((cpu() - start_cpu) * 1000)
print(f"{statistics.median(walls):.0f} | {statistics.median(cpus):.0f}")
PY
}

# "wall_s rss_MB" of a /usr/bin/time -v report.
report() {
  awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = t[n] + (n > 1 ? 60 * t[n-1] : 0)}
              /Maximum resident set size/ {rss = $2 / 1024}
              END {printf "%.2f %.1f\n", s, rss}' "$1"
}

row() {  # command, real-run description, time -v report of the real run
  local cmd=$1 what=$2 rep=$3
  local ms help_rss
  ms=$(median_ms "$bin" "$cmd" --help)
  /usr/bin/time -v -o "$work/help.txt" "$bin" "$cmd" --help > /dev/null
  help_rss=$(report "$work/help.txt" | cut -d' ' -f2)
  read -r wall rss < <(report "$rep")
  echo "| \`$cmd\` | $ms | $help_rss | $what | $wall | $rss |"
}

echo "| command | start-up wall ms | start-up CPU ms | start-up RSS MB | real run | wall s | peak RSS MB |"
echo "| --- | ---: | ---: | ---: | --- | ---: | ---: |"

/usr/bin/time -v -o "$work/envs.txt" "$bin" envs > /dev/null
row envs "\`envs\` (makes every env)" "$work/envs.txt"

/usr/bin/time -v -o "$work/eval.txt" "$bin" eval "$policy" --episodes 5 > /dev/null
row eval "5 CartPole episodes" "$work/eval.txt"

/usr/bin/time -v -o "$work/export.txt" "$bin" export "$policy" -o "$work/policy.onnx" > /dev/null
row export "CartPole policy to ONNX" "$work/export.txt"

/usr/bin/time -v -o "$work/plot.txt" "$bin" plot "$policy" -o "$work/curves.png" > /dev/null
row plot "one run to PNG" "$work/plot.txt"

# env-server under time -v; check-env against it; then SIGINT to the server (time's child).
/usr/bin/time -v -o "$work/server.txt" "$bin" env-server --env CartPole-v1 > "$work/server.out" \
  2> /dev/null &
timer=$!
for _ in $(seq 600); do grep -q "listening on" "$work/server.out" 2>/dev/null && break; sleep 0.05; done
address=$(sed -n 's/^listening on //p' "$work/server.out")
/usr/bin/time -v -o "$work/check.txt" "$bin" check-env "$address" > /dev/null
kill -INT "$(pgrep -P "$timer")"
wait "$timer" || true
row env-server "serving check-env" "$work/server.txt"
row check-env "checks CartPole-v1 over gRPC" "$work/check.txt"

cat > "$work/actor.yaml" <<'YAML'
total_steps: 1024
env: {id: CartPole-v1, num_envs: 2}
ppo: {num_steps: 64}
YAML
"$bin" learner "$work/actor.yaml" --run-dir "$work/run" --listen 127.0.0.1:0 \
  > "$work/learner.out" 2> "$work/learner.err" &
learner=$!
for _ in $(seq 600); do grep -q "listening on" "$work/learner.out" 2>/dev/null && break; sleep 0.05; done
address=$(sed -n 's/^listening on //p' "$work/learner.out")
/usr/bin/time -v -o "$work/actor.txt" "$bin" actor --learner "$address" 2> /dev/null
wait "$learner"
row actor "8 CartPole updates' rollouts" "$work/actor.txt"
