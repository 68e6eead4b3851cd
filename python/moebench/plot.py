"""Figures from moebench results files (results_schema/README.md, schema version 1).

Subcommands (each writes one figure; the output's extension, .png, .pdf or .svg, picks the
format):

  bars     FILES... -o OUT    per-strategy bars of comm volume (GB), idle (%) and throughput
                              (tokens/s), one bar per system label, one panel per metric
  heatmap  FILE -o OUT        per-layer load heatmap (rows computed per rank, median over
                              iterations) with the placement overlaid: the experts each rank
                              hosts (a trailing * marks a replica that is not the primary)
  traffic  FILE -o OUT        rank-to-rank traffic matrix (token copies, src -> dst, summed over
                              measured iterations) of one layer, node boundaries drawn
  scatter  FILES... -o OUT    measured vs predicted layer time, one point per (strategy, layer)
  all      FILES... --out-dir DIR [--formats png,pdf,svg]   every figure above, for every file
                              (-o DIR is accepted for --out-dir)

Series get colours from the Okabe-Ito colour-blind-safe palette with a marker (and hatch or line
style) as a second channel, so no two series look alike. Error bars span the minimum and
maximum over measured iterations and repetitions. Units follow the magnitude (B/KB/MB/GB,
tokens/s or k/M tokens/s). Above 64 ranks, heatmap and traffic draw aggregated views (per-layer
summaries and the top-k hottest ranks; node-by-node traffic) instead of full rank matrices.

Examples:
  moebench-plot bars results/a.h5 results/b.h5 -o bars.png
  moebench-plot heatmap results/a.h5 --strategy baseline -o load.pdf
  moebench-plot traffic results/a.h5 --strategy baseline --layer 0 -o m.png
  moebench-plot all results/a.h5 --out-dir figures --formats png,svg
(`python3 tools/moebench_plot.py ...` in a checkout runs the same code.)

Numbers follow METRICS.md: comm volume and throughput are the files' summary attributes
(medians over iterations), idle % = 100 * summary idle_fraction. Bad input: one line on stderr,
exit code 2, no figure written.
"""

import argparse
import os
import sys

EXIT_BAD_INPUT = 2
SCHEMA_VERSION = 1
_PROG = ["moebench_plot.py"]  # the name messages give: the script, or the moebench-plot command


class BadInput(Exception):
    """One line for the user: which file, what was expected."""


def _need_modules():
    try:
        import h5py  # noqa: F401
        import matplotlib  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as e:
        sys.stderr.write(
            "%s: needs h5py, matplotlib and numpy (%s) in %s; on Debian: "
            "apt-get install python3-h5py python3-matplotlib, then run /usr/bin/python3 %s\n"
            % (_PROG[0], e, sys.executable, sys.argv[0]))
        sys.exit(EXIT_BAD_INPUT)


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if hasattr(value, "item"):  # numpy scalar
        return _text(value.item())
    return str(value)


class Results:
    """The parts of one results file that the figures need."""

    def __init__(self, path):
        import h5py
        import numpy as np

        self.path = path
        if not os.path.exists(path):
            raise BadInput("%s: no such file" % path)
        try:
            f = h5py.File(path, "r")
        except OSError as e:
            raise BadInput("%s: not an HDF5 results file (%s)" % (path, e))
        with f:
            version = f.attrs.get("schema_version")
            if version is None:
                raise BadInput("%s: attribute 'schema_version' missing (expected %d)"
                               % (path, SCHEMA_VERSION))
            if int(version) != SCHEMA_VERSION:
                raise BadInput("%s: schema_version %s is not supported (expected %d)"
                               % (path, _text(version), SCHEMA_VERSION))
            self.system = _text(f.attrs.get("system", "(no system)"))
            self.backend = _text(f.attrs.get("backend", "?"))
            self.suite = _text(f.attrs.get("suite_name", "(unnamed)"))
            self.num_ranks = int(f.attrs.get("num_ranks", 0))
            self.num_nodes = int(f.attrs.get("num_nodes", 1)) or 1
            self.rank_node = (np.asarray(f["provenance/rank_node"][...]).astype(int)
                              if "provenance/rank_node" in f else None)
            if "strategies" not in f:
                raise BadInput("%s: group '/strategies' missing" % path)
            st = f["strategies"]
            order = [_text(x) for x in st.attrs.get("order", list(st.keys()))]
            self.strategies = []
            for name in order:
                if name not in st:
                    raise BadInput("%s: /strategies lists '%s' in 'order' but has no such group"
                                   % (path, name))
                self.strategies.append(self._read_strategy(name, st[name]))

    @staticmethod
    def _read_strategy(name, g):
        import numpy as np

        s = {"name": name, "status": _text(g.attrs.get("status", "complete")),
             "skip_reason": _text(g.attrs.get("skip_reason", ""))}
        if "summary" in g:
            sm = g["summary"]
            s["summary"] = {k: float(v) for k, v in sm.attrs.items()}
            s["per_layer"] = {k: np.asarray(sm[k][...], dtype=float) for k in sm.keys()}
        if "measured/rows_computed" in g:
            s["rows_computed"] = np.asarray(g["measured/rows_computed"][...])
        if "measured/rows_matrix" in g:
            s["rows_matrix"] = np.asarray(g["measured/rows_matrix"][...])
        if "placement/replicas" in g:
            s["replicas"] = np.asarray(g["placement/replicas"][...])
        for name in ("t_layer", "t_wait_dispatch", "t_wait_combine", "batch_tokens"):
            if "measured/" + name in g:
                s[name] = np.asarray(g["measured/" + name][...], dtype=float)
        if "predicted/t_layer" in g:
            s["predicted_t_layer"] = np.asarray(g["predicted/t_layer"][...], dtype=float)
        return s

    def strategy(self, name):
        for s in self.strategies:
            if s["name"] == name:
                return s
        raise BadInput("%s: no strategy '%s' (the file has: %s)"
                       % (self.path, name, ", ".join(s["name"] for s in self.strategies)))

    def measured(self):
        return [s for s in self.strategies if "summary" in s]


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


# Okabe & Ito (2008), "Color universal design": distinguishable with every common colour vision
# deficiency. Black is left for reference lines.
PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
           "#999999"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]
HATCHES = ["", "//", "..", "xx", "\\\\", "++", "oo", "--"]
LINESTYLES = ["-", "--", ":", "-."]
MAX_RANKS_FULL = 64  # above this, aggregated views replace rank x rank figures
MAX_INCHES = (12.0, 9.0)  # no canvas grows past this (at 150 dpi: 1800 x 1350 pixels)


def series_style(i):
    """Style of series i: colour, marker, hatch, line style. Colour cycles fastest, then the
    marker, then hatch and line style, so (colour, marker) pairs repeat only after 80 series
    and the full style only after 2560."""
    n_c, n_m = len(PALETTE), len(MARKERS)
    return {"color": PALETTE[i % n_c], "marker": MARKERS[(i // n_c) % n_m],
            "hatch": HATCHES[(i // (n_c * n_m)) % len(HATCHES)],
            "linestyle": LINESTYLES[(i // (n_c * n_m * len(HATCHES))) % len(LINESTYLES)]}


def scale_unit(max_value, base_unit, factors):
    """(divisor, label) for the largest unit in `factors` [(divisor, prefix)] at most max_value,
    so axes read 20 MB rather than 0.02 GB."""
    best = (1.0, base_unit)
    for div, prefix in sorted(factors):
        if max_value >= div:
            best = (div, prefix + base_unit)
    return best


BYTE_UNITS = [(1.0, ""), (1e3, "k"), (1e6, "M"), (1e9, "G"), (1e12, "T")]
TIME_UNITS = [(1e-6, "µ"), (1e-3, "m"), (1.0, "")]


def _figsize(width, height):
    return (min(width, MAX_INCHES[0]), min(height, MAX_INCHES[1]))


def _save(fig, out):
    ext = os.path.splitext(out)[1].lower()
    if ext not in (".png", ".pdf", ".svg"):
        raise BadInput("%s: output must end in .png, .pdf or .svg" % out)
    d = os.path.dirname(out)
    if d:
        os.makedirs(d, exist_ok=True)
    tmp = out + ".tmp" + ext  # written then renamed: no half-written figure under OUT
    fig.savefig(tmp, dpi=150, bbox_inches="tight")
    os.replace(tmp, out)
    _pyplot().close(fig)
    print(out)


def _system_label(r):
    return r.system + (" (simulated)" if r.backend == "model" else "")


def _iteration_values(s, key):
    """Per-iteration values of a bars panel (None when the cubes are absent): throughput =
    batch tokens / sum over layers of max_r t_layer; idle = 100 * mean over layers of
    sum_r waits / sum_r t_layer."""
    import numpy as np

    if "t_layer" not in s:
        return None
    t = s["t_layer"]  # [I, L, R]
    if key == "throughput" and "batch_tokens" in s:
        batch = t.max(axis=2).sum(axis=1)
        return s["batch_tokens"][: len(batch)] / np.where(batch > 0, batch, np.nan)
    if key == "idle_fraction" and "t_wait_dispatch" in s and "t_wait_combine" in s:
        idle = (s["t_wait_dispatch"] + s["t_wait_combine"]).sum(axis=2)
        total = t.sum(axis=2)
        return 100.0 * np.nanmean(idle / np.where(total > 0, total, np.nan), axis=1)
    return None


def _bar_stats(runs, name, key, scale):
    """(value, low, high): the median over files of the summary figure, and the min-max over
    iterations and files of the per-iteration values (over files for byte counts)."""
    import numpy as np

    values, spread = [], []
    for r in runs:
        for s in r.measured():
            if s["name"] != name:
                continue
            v = s["summary"].get(key, np.nan) * scale
            values.append(v)
            it = _iteration_values(s, key)
            spread.extend(list(it) if it is not None else [v])
    if not values:
        return np.nan, np.nan, np.nan
    spread = [x for x in spread if np.isfinite(x)] or [np.nan]
    return float(np.median(values)), float(np.min(spread)), float(np.max(spread))


def _group_by_system(results):
    systems, by_system = [], {}
    for r in results:  # repetitions of a system: the median over files, as `moebench report`
        label = _system_label(r)
        if label not in by_system:
            systems.append(label)
            by_system[label] = []
        by_system[label].append(r)
    return systems, by_system


def _strategies_of(results):
    strategies = []
    for r in results:
        for s in r.measured():
            if s["name"] not in strategies:
                strategies.append(s["name"])
    if "baseline" in strategies:
        strategies.remove("baseline")
        strategies.insert(0, "baseline")
    if not strategies:
        raise BadInput("%s: no strategy with measurements" % ", ".join(r.path for r in results))
    return strategies


def _bar_panel(ax, systems, by_system, strategies, key, title, scale, unit):
    """One panel: bars per (strategy, system) with min-max error bars, units by magnitude."""
    import numpy as np

    stats = {(label, name): _bar_stats(by_system[label], name, key, scale)
             for label in systems for name in strategies}
    top = max([v[2] for v in stats.values() if np.isfinite(v[2])] or [1.0])
    div, unit_label = scale_unit(top, unit[0], unit[1]) if unit else (1.0, "")
    width = 0.8 / max(1, len(systems))
    x = np.arange(len(strategies))
    for j, label in enumerate(systems):
        st = series_style(j)
        v = np.array([stats[(label, n)] for n in strategies], dtype=float) / div
        err = np.vstack([np.clip(v[:, 0] - v[:, 1], 0, None), np.clip(v[:, 2] - v[:, 0], 0, None)])
        ax.bar(x + (j - (len(systems) - 1) / 2) * width, v[:, 0], width, label=label,
               color=st["color"], hatch=st["hatch"] or None, edgecolor="black", linewidth=0.4,
               yerr=np.nan_to_num(err), capsize=2, error_kw={"elinewidth": 0.8})
    ax.set_title(title % unit_label if "%s" in title else title)
    ax.set_xticks(x)
    ax.set_xticklabels(strategies, rotation=30, ha="right")
    ax.grid(axis="y", alpha=0.3)


def plot_bars(results, out):
    """Per-strategy bars of comm volume, idle time and throughput, one bar per system."""
    plt = _pyplot()
    systems, by_system = _group_by_system(results)
    strategies = _strategies_of(results)
    panels = [("comm_bytes", "comm volume (%s)", 1.0, ("B", BYTE_UNITS)),
              ("idle_fraction", "idle (%%)", 100.0, None),
              ("throughput", "throughput (%s)", 1.0,
               ("tokens/s", [(1.0, ""), (1e3, "k "), (1e6, "M ")]))]
    fig, axes = plt.subplots(1, 3, figsize=_figsize(4.2 * 3, 3.6))
    for ax, (key, title, scale, unit) in zip(axes, panels):
        _bar_panel(ax, systems, by_system, strategies, key, title.replace("%%", "%"), scale,
                   unit)
    fig.suptitle("moebench: %s (error bars: min-max over iterations and files)"
                 % ", ".join(sorted({r.suite for r in results})), fontsize="medium")
    fig.tight_layout()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small",
               title="system")
    _save(fig, out)


def plot_heatmap(r, strategy, out):
    """Layer x rank load (rows computed, median over iterations) with hosted experts overlaid."""
    import numpy as np

    plt = _pyplot()
    s = r.strategy(strategy)
    if "rows_computed" not in s:
        raise BadInput("%s: strategy '%s' has no measured rows_computed (status %s)"
                       % (r.path, strategy, s["status"]))
    load = np.median(s["rows_computed"].astype(float), axis=0)  # [L, R]
    L, R = load.shape
    if R > MAX_RANKS_FULL:
        return _plot_load_summary(r, s, strategy, load, out)
    fig, ax = plt.subplots(figsize=_figsize(max(4.0, 0.9 * R + 2), max(2.5, 0.5 * L + 1.5)))
    im = ax.imshow(load, aspect="auto", cmap="viridis", origin="lower")
    fig.colorbar(im, ax=ax, label="rows computed (median over iterations)")
    if "replicas" in s:
        reps = s["replicas"]  # [L, E, K], -1 padded, primary first
        hosted = [[[] for _ in range(R)] for _ in range(L)]
        for layer in range(min(L, reps.shape[0])):
            for e in range(reps.shape[1]):
                for k, rank in enumerate(reps[layer, e]):
                    if 0 <= rank < R:
                        hosted[layer][rank].append("%d%s" % (e, "*" if k > 0 else ""))
        size = max(4, min(8, 40 // max(1, max(len(h) for row in hosted for h in row))))
        thresh = load.min() + 0.5 * (load.max() - load.min())
        for layer in range(L):
            for rank in range(R):
                ax.text(rank, layer, ",".join(hosted[layer][rank]), ha="center", va="center",
                        fontsize=size, color="black" if load[layer, rank] > thresh else "white")

    ax.set_xlabel("rank")
    ax.set_ylabel("layer")
    if R <= 32:
        ax.set_xticks(range(R))
    ax.set_yticks(range(L))
    ax.set_title("%s on %s: load per rank, hosted experts overlaid (* = replica)"
                 % (strategy, _system_label(r)), fontsize="medium")
    _save(fig, out)


def _plot_load_summary(r, s, strategy, load, out, top_k=8):
    """Above 64 ranks: per-layer min / mean / max load over ranks, and the top-k hottest ranks
    (by load summed over layers) as a layer x rank heatmap."""
    import numpy as np

    plt = _pyplot()
    L, R = load.shape
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=_figsize(11.0, max(3.5, 0.25 * L + 2.5)))
    layers = np.arange(L)
    for i, (label, values) in enumerate([("max over ranks", load.max(axis=1)),
                                         ("mean", load.mean(axis=1)),
                                         ("min", load.min(axis=1))]):
        st = series_style(i)
        ax1.plot(layers, values, color=st["color"], marker=st["marker"],
                 linestyle=LINESTYLES[i % len(LINESTYLES)], label=label)
    ax1.set_xlabel("layer")
    if L <= 64:
        ax1.set_xticks(layers)
        ax2.set_yticks(range(L))
    ax1.set_ylabel("rows computed (median over iterations)")
    ax1.set_title("per-layer load over %d ranks" % R, fontsize="medium")
    ax1.legend(fontsize="small")
    ax1.grid(alpha=0.3)
    hot = np.argsort(-load.sum(axis=0), kind="stable")[:top_k]
    im = ax2.imshow(load[:, hot], aspect="auto", cmap="viridis", origin="lower")
    fig.colorbar(im, ax=ax2, label="rows computed")
    ax2.set_xticks(range(len(hot)))
    ax2.set_xticklabels([str(int(h)) for h in hot])
    ax2.set_xlabel("rank (the %d hottest)" % len(hot))
    ax2.set_ylabel("layer")
    ax2.set_title("top-%d hottest ranks" % len(hot), fontsize="medium")
    fig.suptitle("%s on %s" % (strategy, _system_label(r)), fontsize="medium")
    fig.tight_layout()
    _save(fig, out)


def _plot_node_traffic(r, strategy, layer, mat, out):
    """Above 64 ranks: node-by-node token copies (sums over the ranks of each node)."""
    import numpy as np

    plt = _pyplot()
    R = mat.shape[0]
    nodes = (np.asarray(r.rank_node) if r.rank_node is not None and len(r.rank_node) == R
             else np.arange(R) * r.num_nodes // R)
    N = int(nodes.max()) + 1
    agg = np.zeros((N, N))
    np.add.at(agg, (nodes[:, None].repeat(R, 1), nodes[None, :].repeat(R, 0)), mat)
    fig, ax = plt.subplots(figsize=_figsize(max(4.5, 0.45 * N + 2.5), max(4.0, 0.45 * N + 1.5)))
    im = ax.imshow(agg, cmap="magma", origin="upper")
    fig.colorbar(im, ax=ax, label="token copies (sum over measured iterations)")
    if N <= 16:
        mid = agg.min() + 0.5 * (agg.max() - agg.min())
        for i in range(N):
            for j in range(N):
                ax.text(j, i, "%d" % agg[i, j], ha="center", va="center", fontsize=7,
                        color="white" if agg[i, j] <= mid else "black")
    if N <= 32:
        ax.set_xticks(range(N))
        ax.set_yticks(range(N))
    ax.set_xlabel("destination node")
    ax.set_ylabel("source node")
    ax.set_title("%s on %s, layer %d: node-by-node traffic of %d ranks (diagonal = intra-node)"
                 % (strategy, _system_label(r), layer, R), fontsize="medium")
    _save(fig, out)


def plot_traffic(r, strategy, layer, out):
    """Rank-to-rank token copies of one layer (rows_matrix), node boundaries drawn."""
    plt = _pyplot()
    s = r.strategy(strategy)
    if "rows_matrix" not in s:
        raise BadInput("%s: strategy '%s' has no measured/rows_matrix (stored when ranks <= 256)"
                       % (r.path, strategy))
    m = s["rows_matrix"]
    if not 0 <= layer < m.shape[0]:
        raise BadInput("%s: --layer %d out of range (the file has %d layers)"
                       % (r.path, layer, m.shape[0]))
    mat = m[layer].astype(float)
    R = mat.shape[0]
    if R > MAX_RANKS_FULL:
        return _plot_node_traffic(r, strategy, layer, mat, out)
    fig, ax = plt.subplots(figsize=_figsize(max(4.0, 0.5 * R + 2.5), max(3.5, 0.5 * R + 1.5)))
    im = ax.imshow(mat, cmap="magma", origin="upper")
    fig.colorbar(im, ax=ax, label="token copies (sum over measured iterations)")
    nodes = r.rank_node if r.rank_node is not None and len(r.rank_node) == R else None
    if nodes is not None:
        for b in range(1, R):
            if nodes[b] != nodes[b - 1]:
                ax.axhline(b - 0.5, color="cyan", lw=1)
                ax.axvline(b - 0.5, color="cyan", lw=1)
    if R <= 16:
        mid = mat.min() + 0.5 * (mat.max() - mat.min())
        for i in range(R):
            for j in range(R):
                ax.text(j, i, "%d" % mat[i, j], ha="center", va="center", fontsize=7,
                        color="white" if mat[i, j] <= mid else "black")
    if R <= 32:
        ax.set_xticks(range(R))
        ax.set_yticks(range(R))
    ax.set_xlabel("destination rank")
    ax.set_ylabel("source rank")
    ax.set_title("%s on %s, layer %d (diagonal = local)" % (strategy, _system_label(r), layer),
                 fontsize="medium")
    _save(fig, out)


def plot_scatter(results, out):
    """Measured (median max_r t_layer) vs predicted t_layer per (strategy, layer)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 4.4))
    points, series = 0, 0
    lo, hi = float("inf"), 0.0
    for r in results:
        for s in r.measured():
            if "predicted_t_layer" not in s or "t_layer_p50" not in s["per_layer"]:
                continue
            pred = s["predicted_t_layer"] * 1e3
            meas = s["per_layer"]["t_layer_p50"] * 1e3
            n = min(len(pred), len(meas))
            st = series_style(series)
            series += 1
            ax.scatter(pred[:n], meas[:n], s=22, color=st["color"], marker=st["marker"],
                       edgecolors="black", linewidths=0.3,
                       label="%s / %s" % (r.system, s["name"]))
            points += n
            lo = min(lo, float(min(pred[:n].min(), meas[:n].min())))
            hi = max(hi, float(max(pred[:n].max(), meas[:n].max())))
    if points == 0:
        raise BadInput("%s: no strategy has predicted times (run with a [system] model)"
                       % ", ".join(r.path for r in results))
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="measured = predicted")
    ax.set_xlabel("predicted t_layer (ms)")
    ax.set_ylabel("measured t_layer, median (ms)")
    ax.legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.02, 0.5),
              ncol=1 + series // 20)
    ax.grid(alpha=0.3)
    _save(fig, out)


def plot_all(results, out_dir, formats):
    """Every figure for every file; figures a file cannot give are reported and skipped."""
    made = 0
    for ext in formats:
        plot_bars(results, os.path.join(out_dir, "bars." + ext))
        made += 1
        for i, r in enumerate(results):
            stem = "%d_%s" % (i, r.system.replace("/", "_").replace(" ", "_"))
            for s in r.measured():
                plot_heatmap(r, s["name"],
                             os.path.join(out_dir, "%s_load_%s.%s" % (stem, s["name"], ext)))
                made += 1
                if "rows_matrix" in s:
                    plot_traffic(r, s["name"], 0, os.path.join(
                        out_dir, "%s_traffic_%s_layer0.%s" % (stem, s["name"], ext)))
                    made += 1
        try:
            plot_scatter(results, os.path.join(out_dir, "measured_vs_predicted." + ext))
            made += 1
        except BadInput as e:
            sys.stderr.write("%s: skipped scatter: %s\n" % (_PROG[0], e))
    return made


def main(argv=None, prog="moebench_plot.py"):
    _PROG[0] = prog
    ap = argparse.ArgumentParser(
        prog=prog, description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("bars", help="per-strategy bars: comm GB, idle %%, tokens/s per system")
    p.add_argument("files", nargs="+")
    p.add_argument("-o", "--output", required=True, help="OUT.png, OUT.pdf or OUT.svg")
    p = sub.add_parser("heatmap", help="layer x rank load heatmap with the placement overlaid")
    p.add_argument("file")
    p.add_argument("--strategy", default="baseline")
    p.add_argument("-o", "--output", required=True, help="OUT.png, OUT.pdf or OUT.svg")
    p = sub.add_parser("traffic", help="rank-to-rank traffic matrix of one layer")
    p.add_argument("file")
    p.add_argument("--strategy", default="baseline")
    p.add_argument("--layer", type=int, default=0)
    p.add_argument("-o", "--output", required=True, help="OUT.png, OUT.pdf or OUT.svg")
    p = sub.add_parser("scatter", help="measured vs predicted layer time")
    p.add_argument("files", nargs="+")
    p.add_argument("-o", "--output", required=True, help="OUT.png, OUT.pdf or OUT.svg")
    p = sub.add_parser("all", help="every figure for every file")
    p.add_argument("files", nargs="+")
    p.add_argument("-o", "--out-dir", required=True, help="directory for the figures")
    p.add_argument("--formats", default="png", help="comma list of png, pdf, svg (default png)")
    args = ap.parse_args(argv)
    _need_modules()
    try:
        if args.cmd == "bars":
            plot_bars([Results(f) for f in args.files], args.output)
        elif args.cmd == "heatmap":
            plot_heatmap(Results(args.file), args.strategy, args.output)
        elif args.cmd == "traffic":
            plot_traffic(Results(args.file), args.strategy, args.layer, args.output)
        elif args.cmd == "scatter":
            plot_scatter([Results(f) for f in args.files], args.output)
        else:
            formats = [x.strip() for x in args.formats.split(",") if x.strip()]
            bad = [x for x in formats if x not in ("png", "pdf", "svg")]
            if bad or not formats:
                raise BadInput("--formats: expected png, pdf and/or svg, got '%s'" % args.formats)
            plot_all([Results(f) for f in args.files], args.out_dir, formats)
    except BadInput as e:
        sys.stderr.write("%s: error: %s\n" % (_PROG[0], e))
        return EXIT_BAD_INPUT
    return 0


def console_main():
    """The `moebench-plot` command (installed by `pip install ./python`)."""
    sys.exit(main(prog="moebench-plot"))


if __name__ == "__main__":
    sys.exit(main())
