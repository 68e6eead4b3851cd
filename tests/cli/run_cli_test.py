#!/usr/bin/env python3
"""End-to-end tests of `moebench run` on real MPI ranks (label mpi).

  run_cli_test.py MOEBENCH CASE WORKDIR

CASE is `quickstart` (4 ranks as 2 virtual nodes x 2: the run completes, the file validates,
and its byte counts equal an independent recomputation from the placement stored in the file
and the METRICS.md definitions) or one of the bad-input cases (one line naming file and key on
stderr, exit code 2, no results file left behind).
"""
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICKSTART = os.path.join(ROOT, "suites", "quickstart.toml")


def mpirun(np_, args, cwd):
    cmd = ["mpirun", "-np", str(np_), "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    env = dict(os.environ, OMPI_MCA_btl_tcp_if_include="lo", OMPI_MCA_oob_tcp_if_include="lo",
               OPENBLAS_NUM_THREADS="1")
    return subprocess.run(cmd + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def small_suite(text):
    """The quickstart made small enough for a test: fewer tokens and iterations."""
    text = re.sub(r"^tokens = .*$", "tokens = 2048", text, flags=re.M)
    text = re.sub(r"^batch_tokens = .*$", "batch_tokens = 512", text, flags=re.M)
    text = re.sub(r"^iterations = .*$", "iterations = 2", text, flags=re.M)
    text = re.sub(r"^warmup = .*$", "warmup = 1", text, flags=re.M)
    text = re.sub(r"^hidden = .*$", "hidden = 128", text, flags=re.M)
    text = re.sub(r"^ffn_hidden = .*$", "ffn_hidden = 256", text, flags=re.M)
    return text


def small_copy(name, work):
    """suites/NAME made small (small_suite), written to WORK/NAME; returns its path."""
    with open(os.path.join(ROOT, "suites", name)) as f:
        text = small_suite(f.read())
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(text)
    return path


BAD = {
    # case: (edit of the quickstart text, ranks, regexes the one stderr line must match)
    "malformed_toml": (lambda t: t.replace("[model]", "[model\n"), 4, [r"bad\.toml:\d+"]),
    "unknown_key": (lambda t: t.replace("[model]", "[model]\nhiden = 3"), 4,
                    [r"bad\.toml", r"model\.hiden"]),
    "unknown_strategy": (lambda t: re.sub(r"^strategies = .*$", 'strategies = ["baseline", "magic"]',
                                          t, flags=re.M), 4,
                         [r"bad\.toml", r"placement\.strategies", r"magic"]),
    "unknown_option": (lambda t: t + '\n[strategy.baseline]\nwidth = 3\n', 4,
                       [r"bad\.toml", r"strategy\.baseline", r"width"]),
    "topk_above_experts": (lambda t: t.replace("layers = 4", "layers = 4\ntop_k = 9"), 4,
                           [r"bad\.toml", r"top_k"]),
    "too_few_slots": (lambda t: re.sub(r"^spare_slots_per_rank = .*$", "slots_per_rank = 1", t,
                                       flags=re.M), 4,
                      [r"bad\.toml", r"slots_per_rank"]),
    "rank_count": (lambda t: t, 3, [r"bad\.toml", r"topology"]),
}


def check_bad(moebench, case, work):
    edit, np_, patterns = BAD[case]
    with open(QUICKSTART) as f:
        text = small_suite(f.read())
    suite = os.path.join(work, "bad.toml")
    with open(suite, "w") as f:
        f.write(edit(text))
    out = os.path.join(work, "bad.h5")
    r = mpirun(np_, [moebench, "run", suite, "-o", out], work)
    lines = [l for l in r.stderr.splitlines() if l.startswith("moebench")]
    assert r.returncode == 2, f"expected exit code 2, got {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert len(lines) == 1, f"expected one error line, got {len(lines)}:\n{r.stderr}"
    for p in patterns:
        assert re.search(p, lines[0]), f"error line lacks /{p}/: {lines[0]}"
    leftovers = [f for f in os.listdir(work) if f.startswith("bad.h5")]
    assert not leftovers, f"results file left behind: {leftovers}"
    print(f"{case}: exit 2, one line: {lines[0]}")


def recompute_bytes(path):
    """Dispatch bytes per (iteration, layer, rank) recomputed from the stored placement is not
    possible without the tokens; instead check the definitions that tie the datasets together:
    bytes = rows x row size, intra/inter by node, conservation, and that the rows matrix
    (copies src -> dst) summed over iterations reproduces every rank's sent/received bytes."""
    import h5py
    import numpy as np
    with h5py.File(path, "r") as f:
        row = int(f.attrs["dispatch_row_bytes"])
        node = f["provenance/rank_node"][()]
        for name in f["strategies"].attrs["order"]:
            name = name.decode() if isinstance(name, bytes) else name
            g = f["strategies"][name]
            if g.attrs["status"] != "complete":
                continue
            m = g["measured"]
            rows = m["rows_matrix"][()]  # [L, R, R], summed over iterations
            L, R, _ = rows.shape
            same = node[:, None] == node[None, :]
            off = ~np.eye(R, dtype=bool)
            for l in range(L):
                sent_intra = (rows[l] * (same & off)).sum(axis=1) * row
                sent_inter = (rows[l] * (~same)).sum(axis=1) * row
                recv_intra = (rows[l] * (same & off)).sum(axis=0) * row
                recv_inter = (rows[l] * (~same)).sum(axis=0) * row
                for ds, want in (("bytes_sent_intra", sent_intra), ("bytes_sent_inter", sent_inter),
                                 ("bytes_recv_intra", recv_intra), ("bytes_recv_inter", recv_inter)):
                    got = m[ds][:, l, :].sum(axis=0)
                    assert (got == want).all(), f"{name} layer {l} {ds}: {got} != {want}"
                # Combine mirrors dispatch.
                assert (m["bytes_sent_inter_combine"][:, l, :].sum(axis=0) == recv_inter).all()
            # rows_computed sums to tokens x k per (iteration, layer).
            k = int(f.attrs["top_k"])
            tok = m["batch_tokens"][()]
            rc = m["rows_computed"][()].sum(axis=2)
            assert (rc == tok[:, None] * k).all(), f"{name}: rows_computed != tokens x k"
            # Baseline: every copy goes to the rank hosting the expert, so rows_computed of a
            # rank equals the expert loads it hosts; check the stored placement is contiguous.
            if name == "baseline":
                reps = g["placement/replicas"][()]
                E = reps.shape[1]
                for e in range(E):
                    assert reps[0, e, 0] == e * R // E, f"baseline expert {e} on rank {reps[0, e, 0]}"
    print(f"{path}: byte counts agree with the rows matrix, node map and row size")


def check_quickstart(moebench, work):
    with open(QUICKSTART) as f:
        text = small_suite(f.read())
    suite = os.path.join(work, "quick.toml")
    with open(suite, "w") as f:
        f.write(text)
    out = os.path.join(work, "quick.h5")
    r = mpirun(4, [moebench, "run", suite, "-o", out, "--system", "test"], work)
    sys.stdout.write(r.stdout)
    assert r.returncode == 0, f"run failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    assert os.path.exists(out) and not os.path.exists(out + ".tmp")
    v = subprocess.run([moebench, "validate", out], capture_output=True, text=True)
    assert v.returncode == 0, f"validate failed:\n{v.stdout}\n{v.stderr}"
    recompute_bytes(out)
    check_ffn_provenance(out)


def check_ffn_provenance(path):
    """A CPU run's results name the expert FFN's GEMM library and its version."""
    import h5py
    with h5py.File(path, "r") as f:
        def text(key):
            v = f.attrs[key]
            return v.decode() if isinstance(v, bytes) else str(v)
        lib = text("cpu_ffn_library")
        assert lib in ("libxsmm", "avx2", "openblas"), lib
        version = text("cpu_ffn_library_version")
        assert version.lower().startswith(lib), (lib, version)
        assert text("cpu_swiglu") in ("avx2", "scalar")
        print(f"quickstart: ffn library {lib} ({version})")


def check_failed_check(moebench, work):
    """A strategy whose correctness check fails is recorded as failed with its reason, the run
    goes on with the others and exits 1, the file validates, and `report` shows the failed
    strategy with its reason next to the good ones. The failure is forced with the test-only
    `--test-fail-check NAME` (a tolerance no element can meet, through the real check)."""
    with open(QUICKSTART) as f:
        text = small_suite(f.read())
    suite = os.path.join(work, "quick.toml")
    with open(suite, "w") as f:
        f.write(text)
    out = os.path.join(work, "failed.h5")
    r = mpirun(4, [moebench, "run", suite, "-o", out, "--strategies", "baseline,grace,eplb",
                   "--test-fail-check", "grace"], work)
    sys.stdout.write(r.stdout)
    assert r.returncode == 1, f"expected exit code 1, got {r.returncode}:\n{r.stdout}\n{r.stderr}"
    assert "strategy 'grace'" in r.stderr and "correctness check failed" in r.stderr, r.stderr
    v = subprocess.run([moebench, "validate", out], capture_output=True, text=True)
    assert v.returncode == 0, f"validate failed:\n{v.stdout}\n{v.stderr}"
    rep = subprocess.run([moebench, "report", out], capture_output=True, text=True)
    assert rep.returncode == 0, f"report failed:\n{rep.stdout}\n{rep.stderr}"
    rows = {line.split("|")[1].strip(): line for line in rep.stdout.splitlines()
            if line.startswith("|") and not line.startswith("|:")}
    assert "failed" in rows.get("grace", ""), rep.stdout
    for good in ("baseline", "eplb"):
        assert good in rows and "failed" not in rows[good], rep.stdout
    assert re.search(r"grace on .*: failed: correctness check failed", rep.stdout), rep.stdout
    print(rep.stdout)


def check_comparison(moebench, work):
    """suites/comparison.toml: variants with their own dedup and dispatch in one run, one file,
    one report table with ratios against the MegaBlocks-like variant. 4 ranks declared as 2
    virtual nodes (--nodes 2); the suite itself takes nodes from the launcher."""
    suite = small_copy("comparison.toml", work)
    out = os.path.join(work, "comparison.h5")
    r = mpirun(4, [moebench, "run", suite, "-o", out, "--nodes", "2"], work)
    sys.stdout.write(r.stdout)
    assert r.returncode == 0, f"run failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    v = subprocess.run([moebench, "validate", out], capture_output=True, text=True)
    assert v.returncode == 0, f"validate failed:\n{v.stdout}\n{v.stderr}"
    import h5py
    with h5py.File(out, "r") as f:
        order = [n.decode() if isinstance(n, bytes) else n for n in f["strategies"].attrs["order"]]
        assert order == ["megablocks-like", "baseline", "grace-hier", "c2r"], order
        g = f["strategies"]
        def attr(name, key):
            x = g[name].attrs[key]
            return x.decode() if isinstance(x, bytes) else str(x)
        assert attr("megablocks-like", "strategy") == "baseline"
        assert attr("megablocks-like", "run_overrides") == "dedup=false"
        assert attr("grace-hier", "run_overrides") == "dispatch=hierarchical"
        assert attr("c2r", "strategy") == "c2r" and attr("c2r", "run_overrides") == ""
        assert int(f.attrs["slots_per_rank"]) == 3  # ceil(8 / 4) + 1 spare
        ts = f.attrs["topology_source"]
        assert (ts.decode() if isinstance(ts, bytes) else ts) == "option", ts  # --nodes 2
        # Same placement, no dedup: at least as many dispatched rows as the deduplicating baseline.
        sent = lambda n: sum(g[n + "/measured/" + d][()].sum()
                             for d in ("bytes_sent_intra", "bytes_sent_inter"))
        mb, base = sent("megablocks-like"), sent("baseline")
        assert (g["megablocks-like/placement/replicas"][()] == g["baseline/placement/replicas"][()]).all()
        assert mb > base, f"no-dedup bytes {mb} not above dedup bytes {base}"
    rep = subprocess.run([moebench, "report", out, "--baseline", "megablocks-like"],
                         capture_output=True, text=True)
    assert rep.returncode == 0, f"report failed:\n{rep.stdout}\n{rep.stderr}"
    for name in order:
        assert re.search(r"^\|\s*" + re.escape(name) + r"\s*\|", rep.stdout, re.M), rep.stdout
    print(rep.stdout)


def report_values(moebench, path, metric):
    """(strategy row -> value text) of one metric, from `moebench report --format csv`."""
    import csv
    import io
    rep = subprocess.run([moebench, "report", path, "--format", "csv"], capture_output=True,
                         text=True)
    assert rep.returncode == 0, f"report failed:\n{rep.stdout}\n{rep.stderr}"
    return {row["strategy"]: row["value"] for row in csv.DictReader(io.StringIO(rep.stdout))
            if row["metric"] == metric and row["layer"] == "all"}


def check_sweep(moebench, work):
    """suites/sweep_example.toml under mpirun (4 ranks as 2 virtual nodes): dispatch x dedup
    cells in one valid file, one report row per (cell, strategy), and a cell's byte counts equal
    to the single run with those knobs (issue 12)."""
    suite = small_copy("sweep_example.toml", work)
    out = os.path.join(work, "sweep.h5")
    r = mpirun(4, [moebench, "run", suite, "-o", out, "--nodes", "2", "--sweep", "slots=+1"], work)
    sys.stdout.write(r.stdout)
    assert r.returncode == 0, f"run failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    assert "cell 4/4 (cell3): dispatch=hierarchical, dedup=false, slots=+1" in r.stdout, r.stdout
    v = subprocess.run([moebench, "validate", out], capture_output=True, text=True)
    assert v.returncode == 0, f"validate failed:\n{v.stdout}\n{v.stderr}"
    assert "(12 strategies)" in v.stdout, v.stdout
    single = os.path.join(work, "single.h5")
    r = mpirun(4, [moebench, "run", suite, "-o", single, "--nodes", "2", "--sweep",
                   "dispatch=hierarchical", "--sweep", "dedup=false", "--sweep", "slots=+1"], work)
    assert r.returncode == 0, f"single run failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    swept = report_values(moebench, out, "comm_gb")
    alone = report_values(moebench, single, "comm_gb")
    assert len(swept) == 12, swept
    for name, value in alone.items():
        cell = f"{name} [dispatch=hierarchical, dedup=false, slots=+1]"
        assert swept[cell] == value, f"{cell}: {swept[cell]} in the sweep, {value} alone"
    rep = subprocess.run([moebench, "report", out, "--rows", "strategy,sweep.dedup", "--cols",
                          "sweep.dispatch"], capture_output=True, text=True)
    assert rep.returncode == 0, f"report failed:\n{rep.stdout}\n{rep.stderr}"
    assert "sweep.dispatch=hierarchical" in rep.stdout, rep.stdout
    print(rep.stdout)


def check_memory(moebench, work):
    """The memory model in `run` (issue 13): with context_tokens and a system preset that has
    device memory, every strategy of a run records the batch that fits next to its experts and
    the predicted throughput there (notes), and the fit equals simulate's for the same suite
    (it depends on the placement only); replicas take memory, so EPLB's binding rank holds
    more expert memory than the baseline's."""
    with open(QUICKSTART) as f:
        text = small_suite(f.read())
    text = re.sub(r"^strategies = .*$", 'strategies = ["baseline", "eplb"]\ncontext_tokens = 4096\n'
                  "reserved_memory_gib = 70", text, flags=re.M)
    text = re.sub(r'^model = "loopback".*$', 'model = "h100-ndr400"', text, flags=re.M)
    suite = os.path.join(work, "memory.toml")
    with open(suite, "w") as f:
        f.write(text)
    run_out, sim_out = os.path.join(work, "run.h5"), os.path.join(work, "sim.h5")
    r = mpirun(4, [moebench, "run", suite, "-o", run_out], work)
    assert r.returncode == 0, f"run failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    s = subprocess.run([moebench, "simulate", suite, "-o", sim_out], capture_output=True, text=True)
    assert s.returncode == 0, f"simulate failed:\n{s.stdout}\n{s.stderr}"
    import h5py

    def notes(path):
        with h5py.File(path, "r") as f:
            return {n: {k: (v.decode() if isinstance(v, bytes) else str(v))
                        for k, v in f["strategies/" + n + "/notes"].attrs.items()}
                    for n in ("baseline", "eplb")}
    run, sim = notes(run_out), notes(sim_out)
    for n in ("baseline", "eplb"):
        for key in ("memory_batch_tokens", "memory_sequences_per_rank", "memory_expert_gib_max",
                    "memory_binding_rank", "memory_weights_fit"):
            assert run[n].get(key) == sim[n][key], f"{n} {key}: run {run[n].get(key)} sim {sim[n][key]}"
        assert int(run[n]["memory_batch_tokens"]) > 0, run[n]
        assert float(run[n]["throughput_at_memory_batch_tok_s"]) > 0, run[n]
        assert float(run[n]["throughput_simulated_batch_tok_s"]) > 0, run[n]
    assert float(run["eplb"]["memory_expert_gib_max"]) > float(run["baseline"]["memory_expert_gib_max"])
    print({n: run[n]["memory_batch_tokens"] for n in run})


def check_diverged_placement(moebench, work):
    """Ranks that placed differently (an optimal search capped by time on ranks of different
    speed) run rank 0's placement: with rank 2's placement of baseline perturbed on purpose
    (--test-diverge-placement), the run passes its check, the file notes placement_from, and
    every measured count equals that of a run without the perturbation."""
    import h5py
    import numpy as np
    with open(QUICKSTART) as f:
        text = small_suite(f.read())
    suite = os.path.join(work, "quick.toml")
    with open(suite, "w") as f:
        f.write(text)
    counts = {}
    for tag, extra in (("plain", []), ("diverged", ["--test-diverge-placement", "baseline:2"])):
        out = os.path.join(work, tag + ".h5")
        r = mpirun(4, [moebench, "run", suite, "-o", out, "--strategies", "baseline,eplb"] + extra,
                   work)
        assert r.returncode == 0, f"{tag} run failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
        with h5py.File(out, "r") as f:
            notes = dict(f["strategies/baseline/notes"].attrs)
            assert ("placement_from" in notes) == (tag == "diverged"), f"{tag}: notes {notes}"
            assert "placement_from" not in dict(f["strategies/eplb/notes"].attrs)
            m = f["strategies/baseline/measured"]
            counts[tag] = {d: m[d][()] for d in m if d.startswith(("bytes_", "rows_"))}
    assert counts["plain"].keys() == counts["diverged"].keys() and counts["plain"]
    for d, v in counts["plain"].items():
        assert np.array_equal(v, counts["diverged"][d]), f"{d} differs: rank 2 ran its own placement"
    print(f"diverged placement: rank 0's used, {len(counts['plain'])} count datasets identical")


def main():
    moebench, case, work = sys.argv[1], sys.argv[2], sys.argv[3]
    work = os.path.join(work, case)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    if case == "quickstart":
        check_quickstart(moebench, work)
    elif case == "failed_check":
        check_failed_check(moebench, work)
    elif case == "comparison":
        check_comparison(moebench, work)
    elif case == "sweep":
        check_sweep(moebench, work)
    elif case == "memory":
        check_memory(moebench, work)
    elif case == "diverged_placement":
        check_diverged_placement(moebench, work)
    else:
        check_bad(moebench, case, work)


if __name__ == "__main__":
    main()
