#!/usr/bin/env bash
# moebench report end to end on HDF5 files written by the io writer (moeb_report_fixture):
# two system labels -> two column groups; a repetition; a file failing validation is named and
# skipped; an unknown schema version is refused with one line and exit 2; every format writes.
# usage: test_report_cli.sh MOEBENCH FIXTURE WORKDIR
set -u
MOEBENCH=$1 FIXTURE=$2 WORK=$3
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

"$FIXTURE" a.h5 --system clusterA || fail "fixture a.h5"
"$FIXTURE" a2.h5 --system clusterA --scale 1.2 || fail "fixture a2.h5"
"$FIXTURE" b.h5 --system clusterB --backend model || fail "fixture b.h5"
"$FIXTURE" bad.h5 --system clusterA --wrong-elements 3 || fail "fixture bad.h5"
"$FIXTURE" v2.h5 --schema-version 2 || fail "fixture v2.h5"

"$MOEBENCH" report a.h5 a2.h5 b.h5 bad.h5 >out.md 2>err.txt || fail "report exited $? ($(cat err.txt))"
cat out.md
grep -q 'clusterA: comm GB |' out.md || fail "no clusterA column group"
grep -q 'clusterB: comm GB |' out.md || fail "no clusterB column group"
grep -q 'clusterB: simulated' out.md || fail "clusterB not marked simulated"
grep -Eq 'clusterA: measured \(cpu, 4 ranks on 2 nodes, 2 files, config [0-9a-f]{8}\): a.h5 a2.h5' out.md \
  || fail "repetitions of clusterA not listed"
grep -q 'eplb on clusterA: skipped: needs slots_per_rank' out.md || fail "skip footnote missing"
grep -q 'skipping bad.h5: fails validation' err.txt || fail "bad.h5 not named on stderr: $(cat err.txt)"
grep -q 'bad.h5' out.md && fail "bad.h5 used in the table"
# baseline is the first row of the table
first_row=$(grep -A2 '^| strategy' out.md | tail -1)
[[ $first_row == "| baseline "* ]] || fail "first row is not baseline: $first_row"

"$MOEBENCH" report a.h5 v2.h5 >v2.out 2>v2.err
rc=$?
[ $rc -eq 2 ] || fail "schema version 2 gave exit $rc, expected 2"
[ "$(wc -l <v2.err)" -eq 1 ] || fail "expected one line, got: $(cat v2.err)"
grep -q 'v2.h5' v2.err && grep -q 'schema_version' v2.err || fail "line does not name v2.h5: $(cat v2.err)"
[ -s v2.out ] && fail "refused report still printed a table"

"$MOEBENCH" report a.h5 b.h5 --format latex -o table.tex || fail "latex"
grep -q '\\begin{tabular}' table.tex && grep -q '\\bottomrule' table.tex || fail "latex table"
"$MOEBENCH" report a.h5 b.h5 --format csv -o table.csv || fail "csv"
head -1 table.csv | grep -q '^suite,model,system,kind,strategy,status,layer,metric,unit,value,min,max,files,notes,lo,hi,config$' \
  || fail "csv header"
"$MOEBENCH" report a.h5 --format json --per-layer -o table.json || fail "json"
grep -q '"layer": "3"' table.json || fail "json per-layer rows"
"$MOEBENCH" report a.h5 --metrics comm_gb,bogus >/dev/null 2>m.err
[ $? -eq 2 ] || fail "unknown metric not exit 2"
grep -q "unknown metric 'bogus'" m.err || fail "unknown metric message: $(cat m.err)"
[ -e table.csv.tmp ] && fail "temporary output left behind"

# Like with like: another hidden size is its own column group, or a refusal with --strict.
"$FIXTURE" h.h5 --system clusterA --hidden 2048 || fail "fixture h.h5"
"$MOEBENCH" report a.h5 h.h5 >h.md 2>h.err || fail "report of two hidden sizes exited $?"
grep -q 'clusterA \[model.hidden=2048\]: comm GB' h.md || fail "no separate column group: $(cat h.md)"
grep -q 'differs from a.h5 in model.hidden (512 vs 2048)' h.md || fail "key not named: $(cat h.md)"
"$MOEBENCH" report a.h5 h.h5 --strict >hs.out 2>hs.err
[ $? -eq 2 ] || fail "--strict did not refuse with exit 2"
[ "$(wc -l <hs.err)" -eq 1 ] && grep -q 'model.hidden (512 vs 2048)' hs.err \
  || fail "--strict refusal does not name model.hidden: $(cat hs.err)"
[ -s hs.out ] && fail "refused report still printed a table"
"$MOEBENCH" report a.h5 a2.h5 --baseline round_robin --spread ci >ci.md || fail "--baseline/--spread"
grep -q 'are against round_robin in the same file' ci.md || fail "reference not named: $(cat ci.md)"
grep -q '95% bootstrap confidence interval' ci.md || fail "ci not described"
"$MOEBENCH" report a.h5 --baseline nonesuch >/dev/null 2>bn.err
[ $? -eq 2 ] && grep -q 'nonesuch' bn.err || fail "unknown --baseline: $(cat bn.err)"
echo "PASS"
