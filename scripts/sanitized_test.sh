#!/usr/bin/env bash
# A test under the sanitizers that fails on any report of any process it starts (ctest label
# sanitize, cmake/MoebSanitizedParsers.cmake):
#   scripts/sanitized_test.sh REPORT_DIR NAME COMMAND...
# AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer write their reports to files
# under REPORT_DIR/NAME (log_path), whatever the command does with the output of the processes
# it starts (mpirun ranks, a test script capturing stderr); after COMMAND, any such file is
# printed and the test fails. MOEB_SANITIZE_LEAKS=0 turns LeakSanitizer off (MPI runs: Open MPI
# keeps its allocations until exit). Otherwise the exit code is COMMAND's.
set -u
dir="$1/$2"
shift 2
rm -rf "$dir"
mkdir -p "$dir"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$dir/asan:detect_leaks=${MOEB_SANITIZE_LEAKS:-1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$dir/ubsan"
"$@"
rc=$?
shopt -s nullglob
reports=("$dir"/*)
if ((${#reports[@]})); then
  echo "sanitized_test: ${#reports[@]} sanitizer report(s) (exit $rc):"
  for r in "${reports[@]}"; do
    echo "--- $r"
    head -c 20000 "$r"
  done
  exit 1
fi
exit $rc
