#!/usr/bin/env python3
"""Figures from moebench results files: a thin shim over the moebench Python package
(python/moebench/plot.py), so that a checkout runs `python3 tools/moebench_plot.py ...` without
installing anything. `pip install ./python` installs the same code as the `moebench-plot`
command. Usage: `python3 tools/moebench_plot.py --help`; docs: tools/README.md, docs/PYTHON.md."""
import os
import sys

# This checkout's package first, so the script always runs the code next to it.
_PKG = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "python")
if os.path.isdir(os.path.join(_PKG, "moebench")):
    sys.path.insert(0, os.path.normpath(_PKG))

from moebench import plot as _impl  # noqa: E402
from moebench.plot import *  # noqa: E402,F401,F403  (Results, plot_bars, ... for importers)
from moebench.plot import main  # noqa: E402,F401

if __name__ == "__main__":
    sys.exit(main())
