#!/usr/bin/env bash
# As a new user would: run the quickstart (shortened to 2 iterations) under two system labels
# with mpirun, print `moebench report` of both files, and draw the figures from them.
# Skips (exit 77) without mpirun or without h5py/matplotlib in PYTHON.
# usage: test_quickstart_figures.sh MOEBENCH PYTHON PLOT_SCRIPT SUITE WORKDIR
set -u
MOEBENCH=$1 PY=$2 PLOT=$3 SUITE=$4 WORK=$5
fail() { echo "FAIL: $*"; exit 1; }
command -v mpirun >/dev/null || { echo "SKIP: mpirun not found"; exit 77; }
if ! "$PY" -c 'import h5py, matplotlib, numpy' 2>/dev/null; then
  echo "SKIP: $PY lacks h5py/matplotlib/numpy (Debian: apt-get install python3-h5py python3-matplotlib)"
  exit 77
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
for sys in clusterA clusterB; do
  mpirun --oversubscribe -np 4 "$MOEBENCH" run "$SUITE" --system "$sys" --iterations 2 \
    --strategies baseline,round_robin,eplb,grace \
    --warmup 0 -o "$sys.h5" >"$sys.log" 2>&1 || fail "moebench run ($sys): $(tail -3 "$sys.log")"
done
"$MOEBENCH" report clusterA.h5 clusterB.h5 | tee report.md || fail "moebench report"
grep -q 'clusterA: comm GB |' report.md && grep -q 'clusterB: comm GB |' report.md \
  || fail "two column groups expected"
grep -q '^| baseline ' report.md || fail "baseline row missing"
"$PY" "$PLOT" all clusterA.h5 clusterB.h5 --out-dir figs || fail "plot all"
for f in figs/bars.png figs/0_clusterA_load_baseline.png figs/0_clusterA_traffic_baseline_layer0.png \
         figs/measured_vs_predicted.png; do
  [ -s "$f" ] || fail "$f missing or empty"
done
echo "PASS"
