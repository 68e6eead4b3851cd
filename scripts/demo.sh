#!/usr/bin/env bash
# The main job: installs what is missing, builds, runs the quickstart suite on 4 MPI ranks with
# the CPU backend, validates the results file and prints the report table.
#   scripts/demo.sh [SUITE] [OUT.h5]
# Variables: MOEB_BUILD_DIR [build/release], MOEB_NP [4] (MPI ranks), MOEB_SKIP_SETUP=1 (use the
# build in MOEB_BUILD_DIR as it is: no package check, configure or build).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SUITE="${1:-$ROOT/suites/quickstart.toml}"
OUT="${2:-$ROOT/results/quickstart.h5}"
BUILD="${MOEB_BUILD_DIR:-$ROOT/build/release}"
NP="${MOEB_NP:-4}"

if [[ ${MOEB_SKIP_SETUP:-0} != 1 ]]; then
  "$ROOT/scripts/setup.sh" "$BUILD"
fi
source "$ROOT/scripts/mpi_env.sh"
mkdir -p "$(dirname "$OUT")"
BIN="$BUILD/bin/moebench"
echo "== mpirun -np $NP moebench run $SUITE -o $OUT --force"
mpirun -np "$NP" "$BIN" run "$SUITE" -o "$OUT" --force  # the demo rewrites its own file
echo "== moebench validate $OUT"
"$BIN" validate "$OUT"
echo "== moebench report $OUT"
"$BIN" report "$OUT"
