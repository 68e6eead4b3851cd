#!/usr/bin/env bash
# One short libFuzzer run of a CI fuzz target (ctest Sanitize.LibFuzzer.TARGET, label sanitize):
#   run_libfuzzer.sh EXE SECONDS WORK_DIR SEED_DIR...
# Fuzzes for SECONDS with a fixed seed (-seed=1), from a fresh corpus in WORK_DIR/corpus and the
# seed directories, and prints executions, executions/s and the corpus size. A crash, a leak, a
# sanitizer report, a timeout (10 s per input) or more than 2 GiB fails the test; its input is
# kept under WORK_DIR/artifacts (printed), to become a regression seed in
# fuzz/regressions/TARGET/ once fixed (fuzz/README.md).
set -u
exe=$1 secs=$2 work=$3
shift 3
t=$(basename "$exe")  # fuzz/libfuzzer/TARGET
rm -rf "$work/corpus"
mkdir -p "$work/corpus" "$work/artifacts"
seeds=()
for d in "$@"; do [[ -d $d ]] && seeds+=("$d"); done
"$exe" -seed=1 -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
  -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" \
  "$work/corpus" "${seeds[@]}" >"$work/log" 2>&1
rc=$?
execs=$(grep -a 'stat::number_of_executed_units' "$work/log" | awk '{print $2}')
rate=$(grep -a 'stat::average_exec_per_sec' "$work/log" | awk '{print $2}')
echo "$t: ${execs:-?} executions, ${rate:-?} exec/s, $(find "$work/corpus" -type f | wc -l) new corpus files in ${secs} s (log: $work/log)"
if ((rc != 0)); then
  grep -aE 'ERROR|SUMMARY|==[0-9]+==|#[0-9]+ 0x|Test unit written' "$work/log" | head -60
  echo "$t: libFuzzer exit $rc; reproducer(s) kept:"
  ls -1 "$work/artifacts"/* 2>/dev/null
  echo "replay: $exe FILE; once fixed, copy it to fuzz/regressions/$t/"
fi
exit $rc
