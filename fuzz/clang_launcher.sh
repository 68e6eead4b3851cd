#!/bin/sh
# Compiler and link launcher of the CI sanitizer targets (cmake/MoebSanitizedClang.cmake): CMake
# runs
#   clang_launcher.sh CLANGXX GCC_COMPILER ARGS...
# for their compile and link steps; this runs CLANGXX (through ccache when there is one) with the
# same ARGS instead, so that those files are instrumented by clang (libFuzzer's coverage, ASan,
# UBSan) inside an ordinary gcc build whose Release libraries link the rest (same libstdc++).
clangxx=$1
shift 2
if command -v ccache >/dev/null 2>&1; then
  exec ccache "$clangxx" -Wno-unknown-warning-option "$@"
fi
exec "$clangxx" -Wno-unknown-warning-option "$@"
