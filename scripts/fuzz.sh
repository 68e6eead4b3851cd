#!/usr/bin/env bash
# libFuzzer runs of the parsers (fuzz/README.md): builds build/fuzz with clang (coverage + ASan +
# UBSan), writes the HDF5 seeds, replays the crash reproducers of fuzz/regressions, then fuzzes
# each target for a fixed time and prints executions, executions/s and corpus size per target.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     default: 15 s, every target
#   MOEB_FUZZ_CORPUS=DIR   where the corpora grow (default build/fuzz/corpus; kept between runs)
#   MOEB_FUZZ_JOBS=N       parallel fuzz processes per target (default 1)
#   MOEB_FUZZ_PARALLEL=1   fuzz every target at the same time instead of one after the other
#   MOEB_FUZZ_FLAGS="..."  more libFuzzer flags, e.g. "-fork=1 -ignore_crashes=1" to go on after
#                          a crash inside libhdf5 (fuzz/README.md, "HDF5"); every crash input is kept
# Exit 1 when a target crashes, leaks, times out or exceeds its memory limit; the input is left
# under build/fuzz/artifacts/ (add it to fuzz/regressions/TARGET/ once fixed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${MOEB_FUZZ_BUILD_DIR:-$ROOT/build/fuzz}"
SECS="${1:-15}"
shift || true
ALL=(fuzz_suite fuzz_import_jsonl_topk fuzz_import_csv fuzz_import_coact_csv fuzz_trace fuzz_results)
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=("${ALL[@]}")
CORPUS="${MOEB_FUZZ_CORPUS:-$BUILD/corpus}"

if ! command -v clang++ >/dev/null || ! compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer*" >/dev/null; then
  echo "fuzz: installing clang and its libFuzzer runtime"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
fi

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DMOEB_BUILD_FUZZERS=ON -DMOEB_BUILD_TESTS=OFF \
  -DMOEB_BUILD_BENCHMARKS=OFF -DMOEB_WITH_CUDA=OFF >/dev/null
cmake --build "$BUILD" -j "${MOEB_JOBS:-$(nproc)}" --target moeb_fuzzers

SEEDS="$BUILD/seeds"
mkdir -p "$SEEDS/trace" "$SEEDS/results" "$BUILD/artifacts"
"$BUILD/fuzz/moeb_fuzz_seeds" "$SEEDS/trace" "$SEEDS/results"
seeds_of() {
  case "$1" in
    fuzz_suite) echo "$ROOT/suites $ROOT/tests/data/suites" ;;
    fuzz_import_jsonl_topk) echo "$ROOT/fuzz/seeds/jsonl-topk" ;;
    fuzz_import_csv) echo "$ROOT/fuzz/seeds/csv" ;;
    fuzz_import_coact_csv) echo "$ROOT/fuzz/seeds/coact-csv" ;;
    fuzz_trace) echo "$SEEDS/trace" ;;
    fuzz_results) echo "$SEEDS/results" ;;
  esac
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export MOEB_FUZZ_TMP="${MOEB_FUZZ_TMP:-$BUILD/tmp}"
mkdir -p "$MOEB_FUZZ_TMP"
# One target: replay its reproducers, fuzz it for SECS, write its table row to $BUILD/$t.row.
# Runs in its own directory (libFuzzer's -jobs writes fuzz-N.log into the working directory).
fuzz_one() {
  local t=$1 exe="$BUILD/fuzz/$1" log="$BUILD/$1.log" reg="$ROOT/fuzz/regressions/$1" work="$BUILD/work-$1"
  mkdir -p "$CORPUS/$t" "$work"
  cd "$work"
  rm -f fuzz-*.log
  # Reproducers of fixed crashes first: each must now pass.
  if [[ -d "$reg" ]] && compgen -G "$reg/*" >/dev/null; then
    if ! "$exe" -runs=0 "$reg"/* >"$log.regressions" 2>&1; then
      printf '%-24s %10s %9s %8s %10s  %s\n' "$t" - - - - "REGRESSION (log: $log.regressions)" >"$BUILD/$t.row"
      return 1
    fi
  fi
  local result=ok par=()
  if ((${MOEB_FUZZ_JOBS:-1} > 1)); then par=(-jobs="$MOEB_FUZZ_JOBS" -workers="$MOEB_FUZZ_JOBS"); fi
  # shellcheck disable=SC2046
  "$exe" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -max_len=65536 -print_final_stats=1 "${par[@]}" ${MOEB_FUZZ_FLAGS:-} -artifact_prefix="$BUILD/artifacts/$t-" \
    "$CORPUS/$t" $(seeds_of "$t") >"$log" 2>&1 || result="FAILED (log: $log)"
  local execs rate files bytes logs=("$log")
  # (grep finding nothing must not end the subshell under set -e: "|| true" throughout)
  for l in fuzz-*.log; do [[ -f $l ]] && logs+=("$l"); done
  execs=$({ grep -h 'stat::number_of_executed_units' "${logs[@]}" || true; } | awk '{s+=$2} END {print s+0}')
  rate=$({ grep -h 'stat::average_exec_per_sec' "${logs[@]}" || true; } | awk '{s+=$2} END {print s+0}')
  if [[ $execs == 0 ]]; then  # fork mode prints no final stats: its last status line instead
    execs=$({ grep -aoE '^#[0-9]+' "$log" || true; } | tail -1 | tr -d '#')
    rate=$({ grep -aoE 'exec/s:? [0-9]+' "$log" || true; } | tail -1 | grep -oE '[0-9]+$' || true)
    crashes=$(find "$BUILD/artifacts" -name "$t-crash-*" | wc -l)
    [[ $crashes == 0 ]] || result="$crashes crash inputs in $BUILD/artifacts (fork mode)"
  fi
  files=$(find "$CORPUS/$t" -type f | wc -l)
  bytes=$(du -sb "$CORPUS/$t" | cut -f1)
  printf '%-24s %10s %9s %8s %10s  %s\n' "$t" "$execs" "$rate" "$files" "$bytes" "$result" >"$BUILD/$t.row"
  [[ $result == ok ]]
}

for t in "${TARGETS[@]}"; do
  [[ -x "$BUILD/fuzz/$t" ]] || { echo "fuzz.sh: no target $t (known: ${ALL[*]})" >&2; exit 2; }
  rm -f "$BUILD/$t.row"
done
status=0
if [[ "${MOEB_FUZZ_PARALLEL:-0}" == 1 ]]; then
  # Every target at once (one process each; on a shared machine run under nice).
  pids=()
  for t in "${TARGETS[@]}"; do (fuzz_one "$t") & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
else
  for t in "${TARGETS[@]}"; do (fuzz_one "$t") || status=1; done
fi
printf '%-24s %10s %9s %8s %10s  %s\n' target execs exec/s corpus bytes result
for t in "${TARGETS[@]}"; do
  cat "$BUILD/$t.row" 2>/dev/null || echo "$t: no result"
  log="$BUILD/$t.log"
  if [[ -f "$log" ]] && ! grep -q "^$t .* ok\$" "$BUILD/$t.row" 2>/dev/null; then
    grep -E 'ERROR|SUMMARY|Test unit written|==[0-9]+==' "$log" | head -20
  fi
done
exit $status
