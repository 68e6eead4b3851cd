"""Read moebench results files (results_schema/README.md, schema version 1) into pandas.

    r = moebench.load("results/quickstart.h5")
    r.measures      one row per (strategy, iteration, layer, rank) with every measured quantity
    r.summary       one row per strategy: the file's /summary attributes (whole batch)
    r.layer_summary one row per (strategy, layer): the /summary datasets and /predicted times
    r.strategies    one row per strategy (or variant) in run order: base_strategy, status,
                    reason, options, check totals
    r.placement     one row per (strategy, layer, expert, replica): the rank holding it
    r.provenance    dict: root attributes and /provenance (hostnames, rank_node, env as a dict)
    r.config        dict: the resolved configuration (config_toml parsed)
    r.figures()     one row per strategy with the columns of `moebench report`, recomputed
                    here from the measured cubes with the definitions of docs/REPORT.md

Several files: moebench.load([a, b]) gives the same frames with `file` and `system` columns.
A sweep file (suites/README.md "Sweeps"): a row per (cell, strategy), `strategy` is the group
name `NAME@cellI`, with columns `cell`, `sweep.KEY` (the cell's axis values) and
`base_strategy`; figures() compares each row with the baseline of its own cell.
Errors (missing file, not HDF5, another schema version, a broken layout) raise BadResults with
one line naming the file and what was expected.
"""

import os

import numpy as np
import pandas as pd

SCHEMA_VERSION = 1
# Strategy group attributes that, where a file has them, identify a row next to `strategy` (the
# group's name): `cell`, the sweep cell (results_schema/README.md "Sweep cells"): its group is
# `NAME@CELL`, and the cell's axis values are columns `sweep.KEY`.
ID_ATTRIBUTES = ("cell",)
# Attributes of /strategies/<name> with a fixed meaning (results_schema/README.md).
STRATEGY_ATTRIBUTES = ("status", "skip_reason", "description", "options", "replica_policy",
                       "route_transform", "routing_deviation", "placement_time_s", "oracle",
                       "checked_elements", "wrong_elements", "max_abs_err")


class BadResults(ValueError):
    """A results file this reader cannot use; the message is one line naming the file."""


def _py(value):
    """An HDF5 attribute value as plain Python (str, int, float, list)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [_py(v) for v in value.tolist()] if value.ndim else _py(value.item())
    if isinstance(value, np.generic):
        return _py(value.item())
    if isinstance(value, list):
        return [_py(v) for v in value]
    return value


def _parse_toml(text):
    try:
        import tomllib  # Python 3.11+
    except ImportError:
        try:
            import tomli as tomllib
        except ImportError:
            return None
    try:
        return tomllib.loads(text)
    except Exception:  # a config the parser cannot read is still kept as text
        return None


class _Strategy:
    """The raw arrays of one /strategies/<name> group."""

    def __init__(self, name, g):
        self.name = name
        self.attrs = {k: _py(v) for k, v in g.attrs.items()}
        self.notes = ({k: _py(v) for k, v in g["notes"].attrs.items()} if "notes" in g else {})
        self.measured = self._arrays(g, "measured")
        self.placement = self._arrays(g, "placement")
        self.summary_layers = self._arrays(g, "summary")
        self.summary = ({k: _py(v) for k, v in g["summary"].attrs.items() if k != "units"}
                        if "summary" in g else {})
        self.predicted = self._arrays(g, "predicted")
        self.system_model = (_py(g["predicted"].attrs.get("system_model", ""))
                             if "predicted" in g else "")

    @staticmethod
    def _arrays(g, sub):
        if sub not in g:
            return {}
        return {k: np.asarray(d[...]) for k, d in g[sub].items() if hasattr(d, "shape")}

    def cube_shape(self):
        """(I, L, R) of the measured cubes, or None without measurements."""
        t = self.measured.get("tokens_owned", self.measured.get("t_layer"))
        return tuple(t.shape) if t is not None and t.ndim == 3 else None


def _read_file(path):
    import h5py

    if not os.path.exists(path):
        raise BadResults("%s: no such file" % path)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise BadResults("%s: not an HDF5 file (%s)" % (path, e))
    with f:
        attrs = {k: _py(v) for k, v in f.attrs.items()}
        version = attrs.get("schema_version")
        if version is None:
            raise BadResults("%s: root attribute 'schema_version' missing (expected %d): not a "
                             "moebench results file (a trace? see `moebench trace info`)"
                             % (path, SCHEMA_VERSION))
        if int(version) != SCHEMA_VERSION:
            raise BadResults("%s: schema_version %s is not supported (expected %d)"
                             % (path, version, SCHEMA_VERSION))
        prov = {}
        if "provenance" in f:
            prov = {k: _py(d[...]) for k, d in f["provenance"].items() if hasattr(d, "shape")}
        if "strategies" not in f:
            raise BadResults("%s: group '/strategies' missing" % path)
        st = f["strategies"]
        order = [_py(x) for x in st.attrs.get("order", list(st.keys()))]
        strategies = []
        for name in order:
            if name not in st:
                raise BadResults("%s: /strategies lists '%s' in 'order' but has no such group"
                                 % (path, name))
            strategies.append(_Strategy(name, st[name]))
        cells = {}
        if "cells" in f:
            for cid in f["cells"].keys():
                c = f["cells"][cid].attrs
                cells[cid] = dict(zip([_py(k) for k in c.get("axes", [])],
                                      [_py(v) for v in c.get("values", [])]))
    return attrs, prov, strategies, cells


def _env_dict(lines):
    env = {}
    for line in lines or []:
        name, _, value = str(line).partition("=")
        env[name] = value
    return env


class Results:
    """One results file, read once; every frame is built on first use."""

    def __init__(self, path):
        self.path = str(path)
        self._attrs, self._prov, self._strategies, self._cells = _read_file(self.path)
        self._cache = {}
        present = {a for s in self._strategies for a in ID_ATTRIBUTES if a in s.attrs}
        self.id_columns = ["strategy"] + [a for a in ID_ATTRIBUTES if a in present]
        for axes in self._cells.values():
            for k in axes:
                if "sweep." + k not in self.id_columns:
                    self.id_columns.append("sweep." + k)
        # Variants ([variant.<name>] of a suite): the group's name differs from the registered
        # strategy it runs (attribute `strategy`); base_strategy then names the latter.
        if any(s.attrs.get("strategy", s.name) != s.name.split("@")[0]
               for s in self._strategies) or self._cells:
            self.id_columns.append("base_strategy")

    # ---- plain Python views -------------------------------------------------------------
    @property
    def provenance(self):
        """Root attributes, plus /provenance: hostnames, rank_node, rank_device (lists indexed
        by rank) and env ({NAME: value})."""
        p = dict(self._attrs)
        for k, v in self._prov.items():
            p[k] = _env_dict(v) if k == "env" else v
        return p

    @property
    def config(self):
        """The resolved configuration (root attribute config_toml) as a nested dict; {} when
        absent or when no TOML parser is available (Python < 3.11 without tomli)."""
        return _parse_toml(self._attrs.get("config_toml", "")) or {}

    @property
    def config_toml(self):
        return self._attrs.get("config_toml", "")

    @property
    def system(self):
        return self._attrs.get("system", "")

    @property
    def strategy_names(self):
        return [s.name for s in self._strategies]

    def _ids(self, s):
        ids = {"strategy": s.name}
        cell = self._cells.get(s.attrs.get("cell", ""), {})
        for a in self.id_columns[1:]:
            if a.startswith("sweep."):
                ids[a] = cell.get(a[len("sweep."):], "")
            elif a == "base_strategy":
                ids[a] = s.attrs.get("strategy", s.name)
            else:
                ids[a] = s.attrs.get(a, "")
        return ids

    def _frame(self, key, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def _categorical(self, df):
        if len(df):
            df["strategy"] = pd.Categorical(df["strategy"], categories=self.strategy_names,
                                            ordered=True)
        return df

    # ---- frames -------------------------------------------------------------------------
    @property
    def strategies(self):
        """One row per strategy in run order: status (complete, skipped, interrupted, failed,
        ...), reason (why skipped or failed, else ""), the resolved options, routing deviation,
        placement time, check totals, iterations measured, and notes (a dict)."""
        def build():
            rows = []
            for s in self._strategies:
                row = self._ids(s)
                row["base_strategy"] = s.attrs.get("strategy", s.name)
                row["status"] = s.attrs.get("status", "")
                row["reason"] = s.attrs.get("skip_reason", "")
                for k in STRATEGY_ATTRIBUTES[2:]:
                    row[k] = s.attrs.get(k)
                for k, v in s.attrs.items():
                    if k not in STRATEGY_ATTRIBUTES and k not in row:
                        row[k] = v
                shape = s.cube_shape()
                row["iterations"] = shape[0] if shape else 0
                row["notes"] = s.notes
                rows.append(row)
            return pd.DataFrame(rows)
        return self._frame("strategies", build)

    @property
    def measures(self):
        """One row per (strategy, iteration, layer, rank) of every strategy with measurements
        (complete, interrupted or failed), with node (from /provenance/rank_node),
        batch_index, batch_tokens and every [I, L, R] measured dataset as a column."""
        def build():
            node = self._prov.get("rank_node")
            parts = []
            for s in self._strategies:
                shape = s.cube_shape()
                if not shape:
                    continue
                I, L, R = shape
                it, layer, rank = (a.ravel() for a in np.indices(shape))
                cols = self._ids(s)
                cols.update({"iteration": it, "layer": layer, "rank": rank})
                if node is not None and len(node) == R:
                    cols["node"] = np.asarray(node, dtype=np.int64)[rank]
                for k in ("batch_index", "batch_tokens"):
                    if k in s.measured and len(s.measured[k]) >= I:
                        cols[k] = s.measured[k][:I][it]
                for k, a in s.measured.items():
                    if a.shape == shape:
                        cols[k] = a.ravel()
                parts.append(pd.DataFrame(cols))
            if not parts:
                return pd.DataFrame(columns=self.id_columns + ["iteration", "layer", "rank"])
            return self._categorical(pd.concat(parts, ignore_index=True))
        return self._frame("measures", build)

    @property
    def summary(self):
        """One row per strategy with measurements: the /summary attributes (comm_bytes,
        inter_node_bytes, idle_fraction, jain, balancedness, throughput) as the file stores
        them."""
        def build():
            rows = []
            for s in self._strategies:
                if s.summary:
                    row = self._ids(s)
                    row["status"] = s.attrs.get("status", "")
                    row.update(s.summary)
                    rows.append(row)
            return self._categorical(pd.DataFrame(rows))
        return self._frame("summary", build)

    @property
    def layer_summary(self):
        """One row per (strategy, layer): the /summary datasets (comm_bytes, ..., busbw) and,
        where stored, the cost model's times as predicted_t_dispatch, ..., predicted_t_layer."""
        def build():
            parts = []
            for s in self._strategies:
                cols = {k: v for k, v in s.summary_layers.items() if v.ndim == 1}
                cols.update({"predicted_" + k: v for k, v in s.predicted.items() if v.ndim == 1})
                if not cols:
                    continue
                n = max(len(v) for v in cols.values())
                cols = {k: v for k, v in cols.items() if len(v) == n}
                df = pd.DataFrame(cols)
                df.insert(0, "layer", np.arange(n))
                for i, (k, v) in enumerate(self._ids(s).items()):
                    df.insert(i, k, v)
                parts.append(df)
            if not parts:
                return pd.DataFrame(columns=self.id_columns + ["layer"])
            return self._categorical(pd.concat(parts, ignore_index=True))
        return self._frame("layer_summary", build)

    @property
    def placement(self):
        """One row per (strategy, layer, expert, replica): replica 0 is the primary; rank is
        where that copy lives."""
        def build():
            parts = []
            for s in self._strategies:
                reps = s.placement.get("replicas")
                if reps is None or reps.ndim != 3:
                    continue
                layer, expert, replica = (a.ravel() for a in np.indices(reps.shape))
                rank = reps.ravel()
                keep = rank >= 0
                df = pd.DataFrame({"layer": layer[keep], "expert": expert[keep],
                                   "replica": replica[keep], "rank": rank[keep]})
                for i, (k, v) in enumerate(self._ids(s).items()):
                    df.insert(i, k, v)
                parts.append(df)
            if not parts:
                return pd.DataFrame(columns=self.id_columns + ["layer", "expert", "replica",
                                                               "rank"])
            return self._categorical(pd.concat(parts, ignore_index=True))
        return self._frame("placement", build)

    def rows_matrix(self, strategy):
        """[L, R, R] token copies src -> dst summed over measured iterations (numpy), or None
        when the file does not store it (more than 256 ranks, no measurements)."""
        return self._strategy(strategy).measured.get("rows_matrix")

    def _strategy(self, name):
        for s in self._strategies:
            if s.name == name:
                return s
        raise KeyError("%s: no strategy '%s' (the file has: %s)"
                       % (self.path, name, ", ".join(self.strategy_names)))

    def figures(self, baseline="baseline"):
        """One row per strategy with the whole-batch columns of `moebench report`
        (docs/REPORT.md), recomputed from the measured cubes; strategies without measurements
        keep their status and reason with NaN figures."""
        from . import figures
        return figures.strategy_figures(self, baseline)

    def layer_figures(self, baseline="baseline"):
        """One row per (strategy, layer) with the per-layer columns of `moebench report
        --per-layer`."""
        from . import figures
        return figures.layer_figures(self, baseline)

    def __repr__(self):
        return "<moebench.Results %s: %s, %s, %d strategies>" % (
            self.path, self.system, self._attrs.get("status", "?"), len(self._strategies))


class ResultsSet:
    """Several files: the frames of each, concatenated, with `file` and `system` columns
    first (figures are computed per file; `moebench report` takes medians over repetitions)."""

    def __init__(self, paths):
        self.files = [p if isinstance(p, Results) else Results(p) for p in paths]

    def _concat(self, get):
        parts = []
        for r in self.files:
            df = get(r).copy()
            if "strategy" in df:
                df["strategy"] = df["strategy"].astype(str)
            df.insert(0, "system", r.system)
            df.insert(0, "file", r.path)
            parts.append(df)
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    strategies = property(lambda self: self._concat(lambda r: r.strategies))
    measures = property(lambda self: self._concat(lambda r: r.measures))
    summary = property(lambda self: self._concat(lambda r: r.summary))
    layer_summary = property(lambda self: self._concat(lambda r: r.layer_summary))
    placement = property(lambda self: self._concat(lambda r: r.placement))

    @property
    def provenance(self):
        """{file: provenance dict}."""
        return {r.path: r.provenance for r in self.files}

    def figures(self, baseline="baseline"):
        return self._concat(lambda r: r.figures(baseline))

    def layer_figures(self, baseline="baseline"):
        return self._concat(lambda r: r.layer_figures(baseline))

    def __iter__(self):
        return iter(self.files)

    def __len__(self):
        return len(self.files)


def load(path_or_paths):
    """Results for one path; ResultsSet for a list (or tuple) of paths."""
    if isinstance(path_or_paths, (list, tuple)):
        return ResultsSet(path_or_paths)
    return Results(path_or_paths)
