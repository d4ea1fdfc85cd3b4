#!/usr/bin/env bash
# Installs every Debian 12 package trustrl needs to build, test and run. Idempotent: packages
# already present are left alone, and apt-get runs only when something is missing.
set -euo pipefail

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
