#!/usr/bin/env bash
# Runs test_reader.py with this checkout's python/ package; skips (77) without pandas/h5py.
# usage: run_reader_test.sh PYTHON REPO_ROOT MOEBENCH FIXTURE WORKDIR
PY=$1 ROOT=$2
if ! "$PY" -c 'import h5py, numpy, pandas' 2>/dev/null; then
  echo "SKIP: $PY lacks h5py/numpy/pandas (Debian: apt-get install python3-h5py python3-pandas;" \
       "scripts/setup.sh installs them)"
  exit 77
fi
PYTHONPATH="$ROOT/python" exec "$PY" "$(dirname "$0")/test_reader.py" "$3" "$4" "$5"
