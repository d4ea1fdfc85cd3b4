#!/usr/bin/env bash
# Installs every Debian 12 package trustrl needs to build, test and run. Idempotent: packages
# already present are left alone, and apt-get runs only when something is missing.
#   scripts/setup.sh               everything (build, test, train)
#   scripts/setup.sh --actor-host  only what a trustrl binary built elsewhere needs to run its
#                                  libtorch-free commands: actor, eval, export, plot, envs, bench,
#                                  env-server, check-env (docs/DEPLOY.md, "An actor host")
set -euo pipefail

# The shared libraries build/cli/trustrl links (readelf -d), by Debian package; apt brings their
# own dependencies; tests/cli/two_binaries_test.cpp checks that the list covers them.
# (`trustrl eval --record` also wants ffmpeg.)
actor_host_packages=(
  libgrpc++1.51 libgrpc29 libabsl20220623 libprotobuf32
  libbox2d2 libmujoco2.2.2
  libyaml-cpp0.7 libcairo2 libonnx1
)

packages=(
  # toolchain
  g++ cmake ninja-build ccache make pkg-config git clang-format bc
  # tensors and a fast BLAS for them (libtorch is ~5x faster with OpenBLAS than reference BLAS)
  libtorch-dev libopenblas0-pthread
  # physics
  libbox2d-dev libmujoco-dev
  # RPC
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  # multi-learner collectives
  libgloo-dev
  # config, CLI, JSON
  libyaml-cpp-dev libcli11-dev nlohmann-json3-dev
  # pictures and animations
  libcairo2-dev ffmpeg
  # tests and benchmarks (openssl makes the TLS tests' certificates)
  googletest libgtest-dev libgmock-dev libbenchmark-dev openssl
  # Python SDK for external simulators
  python3 python3-grpcio python3-protobuf python3-numpy
  # ONNX export (the protobuf schema), and the runtimes its tests check the files with
  libonnx-dev python3-onnx python3-opencv
)

case "${1:-}" in
  "") ;;
  --actor-host) packages=("${actor_host_packages[@]}") ;;
  *)
    echo "usage: scripts/setup.sh [--actor-host]" >&2
    exit 2
    ;;
esac

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: every package is installed"
fi
