#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit (cpu), MPI (mpi), Slurm (slurm,
# brings up a two-node Slurm on loopback and tears it down), GPU (gpu, skipped without a device),
# and the parsers under ASan + UBSan with their fuzz seeds replayed and mutated (sanitize:
# cmake/MoebSanitizedParsers.cmake, built by the same build; docs/DEVELOPING.md "Hostile input").
#   scripts/test.sh [ctest args...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${MOEB_BUILD_DIR:-$ROOT/build/release}"

# Where the time goes, printed last (also when a step fails): packages, configure, build, ctest.
export MOEB_PHASE_LOG="$(mktemp)"
phase_summary() {
  local rc=$? line=""
  while read -r name s; do line+="$name $s s, "; done <"$MOEB_PHASE_LOG"
  echo "test.sh: ${line}total $SECONDS s (exit $rc)"
  rm -f "$MOEB_PHASE_LOG"
}
trap phase_summary EXIT

# No test runs a benchmark: their sources are compile-checked only (-fsyntax-only, no
# executables; bench/README.md), unless MOEB_CMAKE_ARGS says otherwise.
export MOEB_CMAKE_ARGS="-DMOEB_BUILD_BENCHMARKS=SYNTAX ${MOEB_CMAKE_ARGS:-}"
"$ROOT/scripts/setup.sh" "$BUILD"
source "$ROOT/scripts/mpi_env.sh"
cd "$BUILD"
ctest_t0=$SECONDS rc=0
ctest --output-on-failure --timeout 600 -j "$(nproc)" "$@" || rc=$?
echo "ctest $((SECONDS - ctest_t0))" >>"$MOEB_PHASE_LOG"
exit $rc
