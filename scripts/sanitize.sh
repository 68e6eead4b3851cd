#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build and tests (docs/DEVELOPING.md, "Hostile input").
#   scripts/sanitize.sh              every unit (cpu) and MPI (mpi) test
#   scripts/sanitize.sh --ci         the CI subset below (builds only what it runs)
#   scripts/sanitize.sh [ctest args] those tests (e.g. -R Validate)
# Builds build/sanitize (or $MOEB_SANITIZE_BUILD_DIR) with -DMOEB_SANITIZE=address,undefined,
# CUDA and benchmarks off, then runs the tests under it. Any sanitizer report fails its test:
# UBSan stops at the first report (halt_on_error), ASan always does.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${MOEB_SANITIZE_BUILD_DIR:-$ROOT/build/sanitize}"
JOBS="${MOEB_JOBS:-$(nproc)}"  # MOEB_JOBS: build and test jobs on a shared machine

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DMOEB_SANITIZE=address,undefined -DMOEB_WITH_CUDA=OFF -DMOEB_BUILD_BENCHMARKS=OFF >/dev/null
# The CI subset: the readers of hostile input and the arithmetic on their sizes (suite loader,
# results reader/validate/resume, traces, importers, budgets, placement, evaluator), the fuzz
# seeds and reproducers, and the MPI runtime on 2 ranks (the harness end to end).
CI_TARGETS=(test_config test_results_io test_validate test_resume test_trace_file test_import
            test_strategies_budget test_eplb test_evaluator test_dispatch_plan test_workload
            test_mpi_runtime moeb_fuzzers)
CI_TESTS='^(Config|ResultsIo|Validate|Resume|ResumeFile|TraceFile|Import|StrategiesBudget|Eplb|Evaluator|DispatchPlan|PlanVsEvaluator|Workload|Fuzz)\.|^Runtime\..*\.np2$|^MpiTransport\.np2$'
ci=0
if [[ "${1:-}" == --ci ]]; then ci=1; shift; fi
if ((ci)); then
  cmake --build "$BUILD" -j "$JOBS" --target "${CI_TARGETS[@]}"
else
  cmake --build "$BUILD" -j "$JOBS"
fi

source "$ROOT/scripts/mpi_env.sh"
# Open MPI keeps its own allocations until exit: LeakSanitizer would report them in every MPI
# process, so leak detection is on for the unit tests and off for the MPI ones.
ASAN_BASE="abort_on_error=0:detect_stack_use_after_return=0:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
cd "$BUILD"
run() {  # run LEAKS(0/1) [ctest args]
  local leaks=$1; shift
  ASAN_OPTIONS="$ASAN_BASE:detect_leaks=$leaks" \
    ctest --output-on-failure --timeout 900 -j "$JOBS" "$@"
}
if ((ci)); then
  run 1 -L cpu -R "$CI_TESTS"
  run 0 -L mpi -R "$CI_TESTS"
elif (($#)); then
  run 0 "$@"
else
  run 1 -L cpu
  run 0 -L mpi
fi
