#!/usr/bin/env python3
"""Reproduce the seed papers' headline experiments in CI-sized settings and write the table.

  scripts/reproduce.py [--moebench PATH] [--out DIR] [--doc docs/REPRODUCTION.md] [--check]
                       [--only craft,prefill,...]

Runs `moebench simulate` on every suite in suites/papers/ (the prefill suite once per variant:
remap, dup, remap_dup), reads the results files (h5py), computes each paper's headline figure
in our setting, and writes docs/REPRODUCTION.md. With --check it exits 1 when an effect does
not go in the paper's direction (tests/cli runs it so). Needs a Python with h5py and numpy.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAPERS = os.path.join(ROOT, "suites", "papers")


def simulate(moebench, suite, out, extra_toml=""):
    path = suite
    if extra_toml:
        with open(suite) as f:
            text = f.read() + "\n" + extra_toml + "\n"
        fd, path = tempfile.mkstemp(suffix=".toml", dir=os.path.dirname(out))
        with os.fdopen(fd, "w") as f:
            f.write(text)
    cmd = [moebench, "simulate", path, "-o", out, "--force"]  # regenerated on every call
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"reproduce: {' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return read_results(out)


def read_results(path):
    """{strategy: {'t_layer','t_ffn','bytes','inter','notes','replicas','deviation'}}."""
    out = {}
    with h5py.File(path, "r") as f:
        for name, g in f["strategies"].items():
            if g.attrs["status"] != "complete":
                out[name] = None
                continue
            pred = g["predicted"]
            meas = g["measured"]
            iters = meas["bytes_sent_inter"].shape[0]

            def total(keys):
                return sum(float(np.sum(meas[k][()])) for k in keys) / iters

            inter = total(["bytes_sent_inter", "bytes_sent_inter_combine"])
            intra = total(["bytes_sent_intra", "bytes_sent_intra_combine"])
            num = g["placement"]["num_replicas"][()]
            out[name] = {
                "t_layer": float(np.sum(pred["t_layer"][()])),
                "t_ffn": float(np.sum(pred["t_ffn"][()])),
                "bytes": inter + intra,
                "inter": inter,
                "notes": {k: str(v) for k, v in g["notes"].attrs.items()},
                "replicas": int(np.sum(num) - num.size),
                "deviation": float(g.attrs["routing_deviation"]),
            }
    return out


def pct(a, b):
    return 100.0 * (a - b) / b


def craft(moebench, out):
    r = simulate(moebench, os.path.join(PAPERS, "craft.toml"), os.path.join(out, "craft.h5"))
    c, e = r["craft"], r["eplb"]
    thr_c = float(c["notes"]["throughput_at_memory_batch_tok_s"])
    thr_e = float(e["notes"]["throughput_at_memory_batch_tok_s"])
    rows = [
        ("replicas (all layers)", f"{c['replicas']} vs EPLB {e['replicas']}",
         f"{e['replicas'] / max(c['replicas'], 1):.1f}x fewer", "~7x fewer", c["replicas"] < e["replicas"]),
        ("layer time at the same batch", f"{e['t_layer'] / c['t_layer']:.3f}x EPLB's speed",
         "tie or better", "ties EPLB (balancedness)", e["t_layer"] / c["t_layer"] >= 0.95),
        ("batch that fits (memory model)",
         f"{c['notes']['memory_batch_tokens']} vs {e['notes']['memory_batch_tokens']} tokens",
         "larger", "more KV cache", int(c["notes"]["memory_batch_tokens"]) >= int(e["notes"]["memory_batch_tokens"])),
        ("throughput at that batch", f"{thr_c / thr_e:.3f}x EPLB", "> 1",
         "1.14x avg, up to 1.2x", thr_c >= thr_e),
    ]
    return rows


def prefill(moebench, out):
    rows = []
    for mode in ["remap", "dup", "remap_dup"]:
        r = simulate(moebench, os.path.join(PAPERS, "prefill.toml"),
                     os.path.join(out, f"prefill-{mode}.h5"), f'[strategy.prefill]\nmode = "{mode}"')
        b, p = r["baseline"], r["prefill"]
        speed = b["t_ffn"] / p["t_ffn"]
        ok = speed > 1.0 and (mode != "remap_dup" or 1.1 <= speed <= 1.3)
        rows.append((f"expert compute time, {mode}", f"{speed:.3f}x faster than contiguous",
                     "1.1-1.3x" if mode == "remap_dup" else "> 1", "up to 1.25x", ok))
    return rows


def c2r(moebench, out):
    r = simulate(moebench, os.path.join(PAPERS, "c2r.toml"), os.path.join(out, "c2r.h5"))
    mb, base, c, g, u = (r[k] for k in ["megablocks", "baseline", "c2r", "c2r_group", "coact_uniform"])
    return [
        ("MoE layer time vs MegaBlocks-like", f"{pct(c['t_layer'], mb['t_layer']):+.1f}%",
         "< 0", "-20 to -30% total time", c["t_layer"] < mb["t_layer"]),
        ("comm bytes vs dedup baseline", f"{pct(c['bytes'], base['bytes']):+.1f}% at "
         f"{100 * c['deviation']:.1f}% routing deviation", "< 0", "not reported", c["bytes"] < base["bytes"]),
        ("lossless grouping alone (c2r_group, coact_uniform) vs dedup baseline",
         f"{pct(g['bytes'], base['bytes']):+.1f}%, {pct(u['bytes'], base['bytes']):+.1f}% (no deviation)",
         "< 0", "not reported", g["bytes"] < base["bytes"] and u["bytes"] < base["bytes"]),
    ]


def grace(moebench, out):
    r = simulate(moebench, os.path.join(PAPERS, "grace.toml"), os.path.join(out, "grace.h5"))
    base, u, g = r["baseline"], r["coact_uniform"], r["grace"]
    return [
        ("cross-node bytes vs uniform grouping", f"{pct(g['inter'], u['inter']):+.1f}%", "< 0",
         "cross-node traffic cut", g["inter"] < u["inter"]),
        ("MoE layer time vs contiguous EP", f"{base['t_layer'] / g['t_layer']:.2f}x faster", "> 1",
         "up to 3.79x (v1) / 4.66x end to end", g["t_layer"] < base["t_layer"]),
        ("node group sizes", g["notes"].get("node_group_sizes", "?"), "within E/N +- r E/N",
         "size-controlled groups", True),
    ]


def tacg(moebench, out):
    r = simulate(moebench, os.path.join(PAPERS, "tacg.toml"), os.path.join(out, "tacg.h5"))
    base, u, t = r["baseline"], r["coact_uniform"], r["tacg"]
    return [
        ("comm bytes vs contiguous EP", f"{pct(t['bytes'], base['bytes']):+.1f}%", "< 0",
         "-31.39% average", t["bytes"] < base["bytes"]),
        ("comm bytes vs task-agnostic grouping", f"{pct(t['bytes'], u['bytes']):+.1f}%", "<= +2%",
         "task-aware beats agnostic", t["bytes"] <= 1.02 * u["bytes"]),
    ]


PAPERS_RUN = {
    "craft": ("CRAFT, arXiv 2603.28768 (MLSys 2026)", craft),
    "prefill": ('"Patterns behind Chaos", ISCA 2026, arXiv 2510.05497', prefill),
    "c2r": ("C2R, NAACL 2025, arXiv 2504.01337", c2r),
    "grace": ("GRACE-MoE, arXiv 2509.25041", grace),
    "tacg": ("TACG + GESR, arXiv 2606.01007", tacg),
}


def suite_header(name):
    """The suite's leading comment block: the paper's claim and our setting."""
    lines = []
    with open(os.path.join(PAPERS, name + ".toml")) as f:
        for line in f:
            if not line.startswith("#"):
                break
            lines.append(line[1:].strip())
    return " ".join(lines)


def write_doc(path, results, ours_text):
    with open(path + ".tmp", "w") as f:
        f.write("# Reproducing the seed papers (CI-sized)\n\n")
        f.write("Generated by `scripts/reproduce.py` from `suites/papers/*.toml` with `moebench "
                "simulate` (counts exact, times from the cost model, docs/COST_MODEL.md). Do not "
                "edit by hand: rerun the script. Each row: our figure, the direction the paper "
                "reports, the paper's figure, and whether ours goes the paper's way.\n\n")
        for key, (title, rows) in results.items():
            f.write(f"## {key}: {title}\n\n{suite_header(key)}\n\n")
            f.write("| effect | ours | expected | paper | direction |\n|---|---|---|---|---|\n")
            for effect, ours, expected, paper, ok in rows:
                f.write(f"| {effect} | {ours} | {expected} | {paper} | {'yes' if ok else 'NO'} |\n")
            f.write("\n")
        f.write(ours_text)
    os.replace(path + ".tmp", path)


OURS = """## Steps that are ours, and disagreements

- **Scale.** Every suite simulates a few layers of the published model dimensions on the
  paper's topology class; orders of magnitude, not exact figures, are comparable.
- **Workloads.** Synthetic (calibrated or families) instead of the papers' traces; the prefill
  suite's skew 2.5 is chosen so the contiguous layout's max/min rank time is near the paper's
  characterization (about 1.3x); the calibrated Qwen3 preset (skew 12) gives 2.9x and a 1.5x
  gain, beyond the paper's up to 1.25x.
- **CRAFT.** Defaults follow the released code (candidates {4, 8, 16, 32}, threshold rule,
  total padded to a multiple of R); the monotone ladder and the knapsack objective on max rank
  load are ours. Throughput comes from the memory model (docs/COST_MODEL.md, "Memory"): expert
  memory is extrapolated from the simulated layers to all 58, 14 GiB per rank is reserved for
  non-expert weights and workspace, sequences hold 4096 KV tokens (all ours). Disagreement: the
  paper reports CRAFT tying EPLB's balancedness at the same batch; here CRAFT's layer time at
  the same batch is lower than EPLB's. EPLB's `auto` policy is hierarchical for DeepSeek-V3 on
  8 nodes (as eplb.py: groups packed onto nodes, replicas kept inside a node) and its replicas
  are chosen uniformly at random per token; which of the two costs EPLB the time is not
  isolated here. The throughput gain is that time gain times the larger batch that fits.
- **C2R.** The paper's 20-30% is total running time against MegaBlocks (no deduplication);
  `megablocks` is our MegaBlocks-like reference (contiguous, one copy per (token, expert)).
  Against a deduplicating baseline most of C2R's gain is available losslessly from grouping
  alone (`c2r_group`, `coact_uniform`), which change no routing.
- **GRACE.** Node groups are bounded by `node_size_ratio` (0.5, value ours) so results do not
  swing with spare memory; replication and WRR routing as the paper.
- **TACG.** The task-aware graph normalizes each family's co-activation per token of that
  family and weights it by both experts' family preferences (the weighting formula is ours); on
  workloads whose families agree with the overall co-activation, task-aware and task-agnostic
  grouping coincide (the unit test plants conflicting families, where task-aware wins by more
  than 0.1 in per-family same-rank share). GESR replication as before.
- **EPLB.** For DeepSeek-V3 on 8 nodes, `auto` picks the hierarchical policy as eplb.py does
  (replicas stay inside a node); the plan's notes say so.
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--moebench", default=os.path.join(ROOT, "build", "dev", "bin", "moebench"))
    ap.add_argument("--out", default=None, help="directory for results files (default: temporary)")
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "REPRODUCTION.md"))
    ap.add_argument("--no-doc", action="store_true", help="do not write the document")
    ap.add_argument("--check", action="store_true", help="exit 1 unless every effect goes the paper's way")
    ap.add_argument("--only", default="", help="comma-separated subset of " + ",".join(PAPERS_RUN))
    a = ap.parse_args()
    only = [x for x in a.only.split(",") if x] or list(PAPERS_RUN)
    out = a.out or tempfile.mkdtemp(prefix="moeb-repro-")
    os.makedirs(out, exist_ok=True)
    results, failed = {}, []
    for key in only:
        title, fn = PAPERS_RUN[key]
        rows = fn(a.moebench, out)
        results[key] = (title, rows)
        for effect, ours, expected, paper, ok in rows:
            print(f"{key:8s} {effect}: {ours} (expected {expected}; paper {paper}) "
                  f"{'ok' if ok else 'WRONG DIRECTION'}")
            if not ok:
                failed.append(f"{key}: {effect}")
    if not a.no_doc:
        write_doc(a.doc, results, OURS)
    if a.check and failed:
        print("reproduce: effects not in the paper's direction: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
