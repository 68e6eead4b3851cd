#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit (cpu), MPI (mpi), Slurm (slurm,
# brings up a two-node Slurm on loopback and tears it down), GPU (gpu, skipped without a device),
# and the parsers under ASan + UBSan with their fuzz seeds replayed and mutated (sanitize:
# cmake/MoebSanitizedParsers.cmake, built by the same build; docs/DEVELOPING.md "Hostile input").
#   scripts/test.sh [ctest args...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${MOEB_BUILD_DIR:-$ROOT/build/release}"

"$ROOT/scripts/setup.sh" "$BUILD"
source "$ROOT/scripts/mpi_env.sh"
cd "$BUILD"
ctest --output-on-failure --timeout 600 -j "$(nproc)" "$@"
