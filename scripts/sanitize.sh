#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build and tests (docs/DEVELOPING.md, "Sanitizers").
#   scripts/sanitize.sh [ctest args...]     default: the unit (cpu) and MPI (mpi) labels
# Builds build/sanitize (or $MOEB_SANITIZE_BUILD_DIR) with -DMOEB_SANITIZE=address,undefined,
# CUDA and benchmarks off, then runs the tests under it. Any sanitizer report fails its test:
# UBSan stops at the first report (halt_on_error), ASan always does.
#   MOEB_SANITIZE_TESTS=<ctest -R regex>   run a subset (CI uses the default set below)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${MOEB_SANITIZE_BUILD_DIR:-$ROOT/build/sanitize}"
JOBS="$(nproc)"

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DMOEB_SANITIZE=address,undefined -DMOEB_WITH_CUDA=OFF -DMOEB_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$BUILD" -j "$JOBS"

source "$ROOT/scripts/mpi_env.sh"
# Open MPI keeps its own allocations until exit: LeakSanitizer would report them in every MPI
# process, so leak detection is on for the unit tests and off for the MPI ones.
ASAN_BASE="abort_on_error=0:detect_stack_use_after_return=0:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
cd "$BUILD"
if (($#)); then
  ASAN_OPTIONS="$ASAN_BASE:detect_leaks=0" ctest --output-on-failure --timeout 900 -j "$JOBS" "$@"
  exit
fi
ASAN_OPTIONS="$ASAN_BASE:detect_leaks=1" \
  ctest --output-on-failure --timeout 900 -j "$JOBS" -L cpu ${MOEB_SANITIZE_TESTS:+-R "$MOEB_SANITIZE_TESTS"}
ASAN_OPTIONS="$ASAN_BASE:detect_leaks=0" \
  ctest --output-on-failure --timeout 900 -j "$JOBS" -L mpi ${MOEB_SANITIZE_TESTS:+-R "$MOEB_SANITIZE_TESTS"}
