#!/usr/bin/env bash
# The moebench Python package installs with pip into a fresh venv and works from there: the
# venv is made with --system-site-packages (Debian's python3-h5py, -numpy, -pandas,
# -matplotlib, -setuptools, -wheel), and pip installs offline (--no-deps --no-index
# --no-build-isolation), so CI needs no network. Then, outside the checkout: `import moebench`
# loads a results file and gives the report's comm bytes, and `moebench-plot` draws a figure.
# Skips (exit 77) when the interpreter lacks venv, setuptools, pandas or h5py.
# usage: test_venv_install.sh PYTHON REPO_ROOT FIXTURE MOEBENCH WORKDIR
set -u
PY=$1 ROOT=$2 FIXTURE=$3 MOEBENCH=$4 WORK=$5
fail() { echo "FAIL: $*"; exit 1; }
missing=$("$PY" - <<'PYEOF'
import importlib.util as u
need = ["venv", "ensurepip", "setuptools", "wheel", "pip", "h5py", "numpy", "pandas", "matplotlib"]
print(" ".join(m for m in need if u.find_spec(m) is None))
PYEOF
)
if [[ -n $missing ]]; then
  echo "SKIP: $PY lacks: $missing (Debian: apt-get install python3-venv python3-pip" \
       "python3-setuptools python3-wheel python3-pandas python3-h5py python3-matplotlib;" \
       "scripts/setup.sh installs them)"
  exit 77
fi
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
# pip builds in the source folder: install from a copy so the checkout stays clean.
cp -r "$ROOT/python" src || fail "copy python/"
# --without-pip: the venv's own copy of pip (ensurepip, about 7 CPU-s) is left out; Debian's pip,
# seen through --system-site-packages, installs into the venv all the same. The documented
# `.venv/bin/pip install` (docs/PYTHON.md) runs in the docs test (ctest -L docs).
"$PY" -m venv --system-site-packages --without-pip venv || fail "python3 -m venv"
venv/bin/python -m pip install --no-deps --no-index --no-build-isolation -q ./src \
  || fail "pip install ./python"
venv/bin/python -m pip show moebench >show.txt 2>&1 && grep -q "^Version: " show.txt || fail "pip show moebench"
[[ -x venv/bin/moebench-plot ]] || fail "no moebench-plot entry point in venv/bin"
mkdir run && cd run || exit 1
"$FIXTURE" q.h5 --system loopback >/dev/null || fail "fixture"
want=$("$MOEBENCH" report q.h5 --format csv --metrics comm_gb,inter_gb |
       awk -F, '$5=="baseline" && $8=="comm_gb" {print $10}')
[[ -n $want ]] || fail "no comm_gb in the report"
PYTHONPATH= ../venv/bin/python - "$want" <<'PYEOF' || fail "reader in the venv"
import sys, moebench
assert "/venv/" in moebench.__file__, moebench.__file__  # the installed copy, not the checkout
r = moebench.load("q.h5")
got = r.figures().set_index("strategy").loc["baseline", "comm_gb"]
want = float(sys.argv[1])
assert abs(got - want) <= 1e-9 * want, (got, want)
m = r.measures
assert abs((m[m.strategy == "baseline"].groupby(["iteration", "layer"])[
    ["bytes_sent_intra", "bytes_sent_inter", "bytes_sent_intra_combine",
     "bytes_sent_inter_combine"]].sum().sum(axis=1).groupby("layer").median().sum() / 1e9)
           - want) <= 1e-9 * want
print("reader: baseline comm_gb", got)
PYEOF
../venv/bin/moebench-plot --help | grep -q '^usage: moebench-plot' || fail "moebench-plot --help"
../venv/bin/moebench-plot bars q.h5 -o bars.svg || fail "moebench-plot bars"
grep -q '<svg' bars.svg || fail "bars.svg is not SVG"
../venv/bin/moebench-plot traffic q.h5 --layer 9 -o bad.png 2>err.txt
[[ $? -eq 2 ]] || fail "bad layer not exit 2"
grep -q '^moebench-plot: error: .*layer 9 out of range' err.txt || fail "message: $(cat err.txt)"
echo "PASS: pip install into a fresh venv, reader and moebench-plot work"
