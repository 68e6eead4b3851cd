#!/usr/bin/env bash
# tools/moebench_plot.py writes non-empty PNG and PDF figures from a quickstart-shaped results
# file written by the io writer. Skips (exit 77) when the Python has no h5py / matplotlib.
# usage: test_plot.sh PYTHON PLOT_SCRIPT FIXTURE WORKDIR
set -u
PY=$1 PLOT=$2 FIXTURE=$3 WORK=$4
HERE=$(cd "$(dirname "$0")" && pwd)
fail() { echo "FAIL: $*"; exit 1; }
if ! "$PY" -c 'import h5py, matplotlib, numpy' 2>/dev/null; then
  echo "SKIP: $PY lacks h5py/matplotlib/numpy (Debian: apt-get install python3-h5py python3-matplotlib)"
  exit 77
fi
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
"$FIXTURE" q.h5 --system loopback || fail "fixture"
"$FIXTURE" q2.h5 --system other --scale 1.3 || fail "fixture"
"$PY" "$PLOT" --help | grep -q 'heatmap' || fail "--help does not document heatmap"

"$PY" "$PLOT" all q.h5 q2.h5 --out-dir figs || fail "plot all"
"$PY" "$PLOT" bars q.h5 q2.h5 -o figs/bars.pdf || fail "bars as PDF"
for f in figs/bars.png figs/0_loopback_load_baseline.png figs/0_loopback_traffic_baseline_layer0.png \
         figs/measured_vs_predicted.png figs/bars.pdf; do
  [ -s "$f" ] || fail "$f missing or empty"
done
for f in figs/*.png; do
  [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$f is not a PNG"
done
head -c 5 figs/bars.pdf | grep -q '%PDF-' || fail "bars.pdf is not a PDF"
"$PY" "$PLOT" traffic q.h5 --strategy round_robin --layer 3 -o one.png || fail "traffic"
[ -s one.png ] || fail "one.png empty"
"$PY" "$PLOT" traffic q.h5 --layer 9 -o bad.png 2>err.txt
[ $? -eq 2 ] || fail "out-of-range layer not exit 2"
grep -q 'layer 9 out of range' err.txt || fail "message: $(cat err.txt)"
[ -e bad.png ] && fail "figure written despite the error"
# SVG, and `all -o DIR` as well as --out-dir.
"$PY" "$PLOT" bars q.h5 q2.h5 -o figs/bars.svg || fail "bars as SVG"
grep -q '<svg' figs/bars.svg || fail "bars.svg is not SVG"
"$PY" "$PLOT" all q.h5 -o figs2 --formats svg >/dev/null || fail "all -o DIR"
ls figs2/*.svg >/dev/null 2>&1 || fail "all -o wrote no SVG"
# Distinguishable series, error bars, units, and aggregated views at 128 ranks.
"$FIXTURE" many.h5 --system many --strategies 12 || fail "fixture many"
"$FIXTURE" big.h5 --system big --nodes 16 --ranks-per-node 8 || fail "fixture big"
"$PY" "$HERE/test_plot_styles.py" "$PLOT" many.h5 q2.h5 big.h5 . || fail "styles"
echo "PASS ($(ls figs | wc -l) figures)"
