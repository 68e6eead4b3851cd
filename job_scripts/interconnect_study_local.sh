#!/usr/bin/env bash
# A real interconnect comparison on one machine: the same suite on 4 MPI ranks under four
# transports of the MPI library, each recorded as its own "system" (the report's column), then
# `moebench report` over the four files.
#
#   ompi-shm  Open MPI ob1 + vader (shared memory):   --mca pml ob1 --mca btl self,vader
#   ompi-tcp  Open MPI ob1 + TCP over loopback:       --mca pml ob1 --mca btl self,tcp
#   ucx-shm   UCX, shared-memory transports only:     --mca pml ucx, UCX_TLS=shm
#   ucx-tcp   UCX, TCP only (loopback):               --mca pml ucx, UCX_TLS=tcp
#
# Open MPI 4.1 selects pml ucx on a machine without InfiniBand only when told that any UCX
# transport and device will do (--mca pml_ucx_tls any --mca pml_ucx_devices any).
#
#   job_scripts/interconnect_study_local.sh [SUITE] [OUT_DIR]
#
# Variables: MOEBENCH [build/release/bin/moebench], MOEB_NP [4], SYSTEM_MODEL [loopback] (the
# cost-model system each run predicts with: a preset or a `moebench calibrate` file; "" = none),
# ONLY (space-separated labels to run, default all four), REPORT_ARGS (extra report options).
# Exits 2 on bad arguments; a transport that fails is reported and the others still run.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SUITE="${1:-$ROOT/suites/quickstart.toml}"
OUT_DIR="${2:-$ROOT/results/interconnect_local}"
MOEBENCH="${MOEBENCH:-$ROOT/build/release/bin/moebench}"
NP="${MOEB_NP:-4}"
SYSTEM_MODEL="${SYSTEM_MODEL-loopback}"
ONLY="${ONLY:-ompi-shm ompi-tcp ucx-shm ucx-tcp}"

[[ -f "$SUITE" ]] || { echo "interconnect_study_local.sh: $SUITE: suite file not found" >&2; exit 2; }
[[ -x "$MOEBENCH" ]] || { echo "interconnect_study_local.sh: $MOEBENCH: moebench not built (set MOEBENCH)" >&2; exit 2; }
source "$ROOT/scripts/mpi_env.sh"
mkdir -p "$OUT_DIR"

UCX_ANY=(--mca pml ucx --mca pml_ucx_tls any --mca pml_ucx_devices any)
transport_args() {
  case "$1" in
    ompi-shm) echo "--mca pml ob1 --mca btl self,vader" ;;
    ompi-tcp) echo "--mca pml ob1 --mca btl self,tcp" ;;
    ucx-shm) echo "-x UCX_TLS=shm ${UCX_ANY[*]}" ;;
    ucx-tcp) echo "-x UCX_TLS=tcp ${UCX_ANY[*]}" ;;
    *) return 1 ;;
  esac
}

model_args=()
[[ -n "$SYSTEM_MODEL" ]] && model_args=(--system-model "$SYSTEM_MODEL")
files=()
failed=()
for label in $ONLY; do
  args="$(transport_args "$label")" || { echo "interconnect_study_local.sh: unknown label '$label'" >&2; exit 2; }
  out="$OUT_DIR/$label.h5"
  echo "== $label: mpirun -np $NP $args moebench run $SUITE --system $label -o $out --force"
  # shellcheck disable=SC2086  # $args holds several mpirun options on purpose
  if mpirun -np "$NP" $args "$MOEBENCH" run "$SUITE" --system "$label" "${model_args[@]}" -o "$out" --force; then
    files+=("$out")
  else
    echo "== $label: FAILED (exit $?); left out of the report" >&2
    failed+=("$label")
  fi
done
((${#files[@]} > 0)) || { echo "interconnect_study_local.sh: every transport failed" >&2; exit 1; }
echo "== moebench report ${files[*]}"
# shellcheck disable=SC2086
"$MOEBENCH" report ${REPORT_ARGS:-} "${files[@]}"
((${#failed[@]} == 0)) || { echo "failed transports: ${failed[*]}" >&2; exit 1; }
