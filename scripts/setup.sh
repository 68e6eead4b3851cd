#!/usr/bin/env bash
# Installs what moebench needs on a Debian 12 machine (idempotent), then configures and builds.
#   scripts/setup.sh [BUILD_DIR]      default BUILD_DIR: build/release
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build/release}"
# Phase times for the CI log: one "setup: <phase> took N s" line each, and appended as
# "<phase> N" to $MOEB_PHASE_LOG when set (scripts/test.sh prints them all at the end).
phase_t0=$SECONDS
phase_done() {
  local s=$((SECONDS - phase_t0))
  echo "setup: $1 took $s s"
  if [[ -n ${MOEB_PHASE_LOG:-} ]]; then echo "$1 $s" >>"$MOEB_PHASE_LOG"; fi
  phase_t0=$SECONDS
}

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  openmpi-bin libopenmpi-dev
  libhdf5-dev hdf5-tools
  libopenblas-dev libxsmm-dev
  libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libeigen3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  slurmctld slurmd slurm-client munge
  libucx-dev ucx-utils
  python3 python3-h5py python3-matplotlib python3-numpy python3-pandas
  python3-venv python3-pip python3-setuptools python3-wheel
)
# TeX for the test that compiles `moebench report --format latex` (48 MB; opt-in).
if [[ ${MOEB_SETUP_FUZZ:-0} == 1 ]]; then
  PACKAGES+=(clang libclang-rt-14-dev)  # libFuzzer runtimes (scripts/fuzz.sh)
fi
if [[ ${MOEB_SETUP_TEX:-0} == 1 ]]; then
  PACKAGES+=(texlive-latex-base texlive-latex-recommended)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
phase_done packages

JOBS="$(nproc)"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release ${MOEB_CMAKE_ARGS:-}
phase_done configure
cmake --build "$BUILD" -j "$JOBS"
phase_done build
