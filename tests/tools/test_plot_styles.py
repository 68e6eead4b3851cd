"""Checks of tools/moebench_plot.py figures beyond "a file was written": series are
distinguishable (distinct colour/marker or colour/hatch pairs), error bars exist and span the
iterations, units follow the magnitude, and canvases stay bounded at 128 ranks.
usage: python3 test_plot_styles.py PLOT_SCRIPT MANY_SERIES.h5 REPETITION.h5 RANKS128.h5 WORKDIR"""
import importlib.util
import os
import struct
import sys


def load(path):
    spec = importlib.util.spec_from_file_location("moebench_plot", path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    # tools/moebench_plot.py is a shim over the moebench package: patch the real module.
    return getattr(m, "_impl", m)


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path + " is not a PNG"
    return struct.unpack(">II", head[16:24])


def main():
    plot, many, rep, big, work = sys.argv[1:6]
    m = load(plot)
    captured = []
    real_save = m._save
    m._save = lambda fig, out: captured.append(fig)

    # The palette and the style sequence: no (colour, marker) pair repeats within 80 series.
    assert len(set(m.PALETTE)) == len(m.PALETTE) == 8
    pairs = [(m.series_style(i)["color"], m.series_style(i)["marker"]) for i in range(80)]
    assert len(set(pairs)) == 80, "colour/marker pairs repeat"
    full = [tuple(sorted(m.series_style(i).items())) for i in range(2560)]
    assert len(set(full)) == 2560, "styles repeat"

    # Scatter of 14 series: every series a distinct (colour, marker shape).
    m.plot_scatter([m.Results(many)], os.path.join(work, "s.png"))
    ax = captured[-1].axes[0]
    keys = set()
    series = [c for c in ax.collections if len(c.get_offsets())]
    for c in series:
        keys.add((tuple(c.get_facecolor()[0]), c.get_paths()[0].vertices.round(3).tobytes()))
    assert len(series) >= 14, "expected 14 series, got %d" % len(series)
    assert len(keys) == len(series), "two scatter series look alike"

    # Bars: one distinct (colour, hatch) per system, error bars over iterations and files,
    # comm in a unit that fits the magnitude (the fixture moves well under a GB).
    m.plot_bars([m.Results(many), m.Results(rep)], os.path.join(work, "b.png"))
    axes = captured[-1].axes
    comm, idle, tput = axes[0], axes[1], axes[2]
    top = max(p.get_height() for cont in comm.containers if hasattr(cont, "patches")
              for p in cont.patches)
    assert 1 <= top < 1000, "comm axis in %s shows %g" % (comm.get_title(), top)
    assert "GB" not in comm.get_title(), comm.get_title()  # well under a GB
    looks = set()
    for cont in tput.containers:
        if hasattr(cont, "patches"):
            p = cont.patches[0]
            looks.add((tuple(p.get_facecolor()), p.get_hatch()))
    assert len(looks) == 2, "the two systems' bars look alike: %s" % looks
    spans = []
    for cont in tput.containers:
        if getattr(cont, "errorbar", None) is not None:
            for seg in cont.errorbar.lines[2][0].get_segments():
                if len(seg) == 2:
                    spans.append(abs(seg[1][1] - seg[0][1]))
    assert spans and max(spans) > 0, "no error bar spans iterations"

    # 128 ranks: aggregated views on bounded canvases (at 150 dpi).
    m._save = real_save
    m.plot_heatmap(m.Results(big), "baseline", os.path.join(work, "h128.png"))
    m.plot_traffic(m.Results(big), "baseline", 0, os.path.join(work, "t128.png"))
    for f in ("h128.png", "t128.png"):
        w, h = png_size(os.path.join(work, f))
        assert w <= 2400 and h <= 1600, "%s is %dx%d pixels" % (f, w, h)
    print("PASS styles, error bars, units, 128-rank canvases")


if __name__ == "__main__":
    main()
