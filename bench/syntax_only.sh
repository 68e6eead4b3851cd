#!/bin/sh
# Compiler launcher of MOEB_BUILD_BENCHMARKS=SYNTAX (bench/CMakeLists.txt): runs the compile
# command with -fsyntax-only, then leaves an empty object file so that the build system counts
# the source as checked until it or a header changes.
out="" prev=""
for a in "$@"; do
  [ "$prev" = "-o" ] && out="$a"
  prev="$a"
done
"$@" -fsyntax-only || exit
[ -z "$out" ] || : >"$out"
