#!/usr/bin/env bash
# moebench report --format latex compiles with pdflatex and fits the page: four systems (36
# data columns), per-layer tables, a transposed and a long table, spreads, a ratio column and
# names full of LaTeX specials, in an article with booktabs and graphicx; the log must have no
# error and no overfull box. Skipped (exit 77) when pdflatex or booktabs is not installed.
# usage: test_report_latex.sh MOEBENCH FIXTURE WORKDIR
set -u
MOEBENCH=$1 FIXTURE=$2 WORK=$3
if ! command -v pdflatex >/dev/null || ! kpsewhich booktabs.sty >/dev/null 2>&1; then
  echo "SKIP: pdflatex with booktabs is not installed (Debian: texlive-latex-base texlive-latex-recommended)"
  exit 77
fi
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

for s in clusterA clusterB 'cluster_C & co' clusterD; do
  "$FIXTURE" "$(echo "$s" | tr -cd 'A-Za-z').h5" --system "$s" || fail "fixture $s"
done
"$FIXTURE" clusterA2.h5 --system clusterA --scale 1.3 || fail "fixture repetition"
files=(clusterA.h5 clusterA2.h5 clusterB.h5 clusterCco.h5 clusterD.h5)

"$MOEBENCH" report "${files[@]}" --format latex --per-layer --spread minmax -o wide.tex || fail "wide"
"$MOEBENCH" report "${files[@]}" --format latex --layout transposed -o transposed.tex || fail "transposed"
"$MOEBENCH" report clusterA.h5 clusterB.h5 --format latex --layout long -o long.tex || fail "long"
"$MOEBENCH" report clusterA.h5 clusterB.h5 --format latex --ratio clusterB/clusterA \
  --metrics throughput,p99_ms,algbw_gbps,busbw_gbps -o ratio.tex || fail "ratio"
"$MOEBENCH" report "${files[@]}" --format latex --spread ci --latex-max-columns 30 \
  -o resized.tex || fail "resized"

cat >doc.tex <<'TEX'
\documentclass{article}
\usepackage[T1]{fontenc}
\usepackage{booktabs}
\usepackage{graphicx}
\begin{document}
\input{wide.tex}
\input{transposed.tex}
\input{long.tex}
\input{ratio.tex}
\input{resized.tex}
\end{document}
TEX
pdflatex -interaction=nonstopmode -halt-on-error doc.tex >pdflatex.out 2>&1 || {
  tail -30 pdflatex.out; fail "pdflatex failed"; }
[ -s doc.pdf ] || fail "no PDF"
grep -n 'Overfull \\hbox' doc.log && fail "a table is wider than the text"
grep -q '^!' doc.log && fail "LaTeX errors in the log"
echo "PASS ($(grep -c 'begin{tabular}' wide.tex transposed.tex long.tex ratio.tex resized.tex | tr '\n' ' '))"
