#!/usr/bin/env python3
"""The malformed-input matrix (issue 17): bad suites, imports, traces and results files, each
run through the command that reads it (run, validate, report, trace info, trace import,
run --resume), asserting:

  * the exit code (2 for bad input; `validate` reports a file that breaks a schema rule with
    exit 1 and one line per broken rule, see results_schema/README.md),
  * exactly one `moebench: error:` line (for exit 2), naming the place (file, and key, line or
    dataset), and no sanitizer report, crash or `std::` exception text,
  * no output file left behind,
  * a time limit (LIMIT_S seconds per command: a hang is a failure).

  malformed_matrix.py MOEBENCH WORKDIR [--only REGEX] [--list] [--jobs N]

Cases run two at a time (--jobs, MOEB_MALFORMED_JOBS), each in its own directory; the time
limit is per command, as before.

Valid base files come from moebench itself (`trace generate`, `place`); the bad ones are made
from them with h5py (truncated, bit-flipped, wrong shapes, out-of-range ids, huge extents, NaN).
Cases whose fix belongs to another part of the tree and has not landed are listed in
EXPECTED_TO_FAIL with the reason: they must fail (a case that passes while listed there fails
the test, so the list cannot hide a fix or a regression).
"""
import argparse
import concurrent.futures
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICKSTART = os.path.join(ROOT, "suites", "quickstart.toml")
LIMIT_S = 60
BIG = 2**40  # a declared extent no file of ours could hold

# Case name -> why it still fails (owner). Keep this list short and honest (see the docstring).
EXPECTED_TO_FAIL = {}


class Case:
    def __init__(self, name, command, make, place, code=2, output=None, np_=None,
                 must_exist=None, env=None):
        self.name, self.command, self.make, self.place = name, command, make, place
        self.code, self.output, self.np, self.must_exist = code, output, np_, must_exist
        self.env = env or {}  # added to mpi_env() for this case's command


# ---------------------------------------------------------------------------- environment

def mpi_env():
    return dict(os.environ, OMPI_MCA_btl_tcp_if_include="lo", OMPI_MCA_oob_tcp_if_include="lo",
                OMPI_MCA_rmaps_base_oversubscribe="1", OPENBLAS_NUM_THREADS="1",
                OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                MOEB_HDF5_GUARD_TIMEOUT_S="10")  # libhdf5_cases: a spin ends within LIMIT_S


def launch(args, np_, cwd, env=None):
    cmd = list(args)
    if np_:
        cmd = ["mpirun", "-np", str(np_), "--oversubscribe", "--bind-to", "none"] + \
              (["--allow-run-as-root"] if os.geteuid() == 0 else []) + cmd
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, cwd=cwd, env=dict(mpi_env(), **(env or {})),
                           capture_output=True, text=True,
                           timeout=LIMIT_S, errors="replace")
        return r.returncode, r.stdout, r.stderr, time.monotonic() - t0
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        return None, out, err, time.monotonic() - t0


def small_suite():
    with open(QUICKSTART) as f:
        t = f.read()
    for key, value in [("tokens", "2048"), ("batch_tokens", "512"), ("iterations", "2"),
                       ("warmup", "1"), ("hidden", "64"), ("ffn_hidden", "128")]:
        t = re.sub(rf"^{key} = .*$", f"{key} = {value}", t, flags=re.M)
    return t


def set_key(text, table, key, value):
    """`key = value` in [table], replacing the key if present."""
    lines = text.split("\n")
    start = next(i for i, l in enumerate(lines) if l.strip() == f"[{table}]")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    for i in range(start + 1, end):
        if re.match(rf"^{key}\s*=", lines[i]):
            lines[i] = f"{key} = {value}"
            return "\n".join(lines)
    lines.insert(start + 1, f"{key} = {value}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- file makers

def write(path, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)
    return path


def copy_with(base, path, edit):
    shutil.copy(base, path)
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def replace_dataset(f, name, shape, dtype, data=None, maxshape=None):
    attrs = dict(f[name].attrs) if name in f else {}
    if name in f:
        del f[name]
    if data is not None:
        d = f.create_dataset(name, data=data)
    else:
        chunks = tuple(1 for _ in shape)
        d = f.create_dataset(name, shape=shape, dtype=dtype, chunks=chunks,
                             maxshape=maxshape or tuple(None for _ in shape))
    for k, v in attrs.items():
        d.attrs[k] = v


def truncated(base, path):
    with open(base, "rb") as f:
        b = f.read()
    return write(path, b[: len(b) // 2])


def bit_flipped(base, path, offset):
    with open(base, "rb") as f:
        b = bytearray(f.read())
    b[offset % len(b)] ^= 0xFF
    return write(path, bytes(b))


def first_complete(f):
    for name in f["strategies"]:
        if f["strategies"][name].attrs.get("status") in ("complete", b"complete"):
            return name
    raise RuntimeError("no complete strategy in the base results file")


# ---------------------------------------------------------------------------- the cases

def suite_cases():
    """Bad suites given to `run` (np 4, the quickstart's 2 x 2 topology)."""
    cases = []

    def suite(name, edit, place):
        def make(work):
            return ["run", write(os.path.join(work, f"{name}.toml"), edit(small_suite())),
                    "-o", os.path.join(work, "out.h5")]
        cases.append(Case(f"suite.{name}", "run", make, place, output="out.h5", np_=4))

    K = set_key
    cases.append(Case("suite.control", "run", lambda work: [
        "run", write(os.path.join(work, "control.toml"), small_suite()), "-o",
        os.path.join(work, "out.h5")], "", code=0, np_=4))
    cases.append(Case("suite.name_escapes_directory", "run", lambda work: [
        "run", write(os.path.join(work, "n.toml"), K(small_suite(), "suite", "name", '"../x"'))],
        "", code=0, np_=4, must_exist="_._x.h5"))
    suite("hidden_1e9", lambda t: K(t, "model", "hidden", "1000000000"), r"model\.hidden")
    suite("ffn_2e9", lambda t: K(t, "model", "ffn_hidden", "2000000000"), r"model\.ffn_hidden")
    suite("tokens_1e12", lambda t: K(t, "workload", "tokens", "1000000000000"), r"workload\.tokens")
    suite("batch_tokens_1e12", lambda t: K(t, "workload", "batch_tokens", "1000000000000"),
          r"workload\.batch_tokens")
    suite("experts_1e6_topk_1e6", lambda t: K(K(t, "model", "experts", "1000000"), "model",
                                              "top_k", "1000000"), r"model\.(experts|top_k)")
    suite("nodes_1e6", lambda t: K(t, "topology", "nodes", "1000000"), r"topology\.nodes")
    suite("slots_int_max", lambda t: K(t, "placement", "slots_per_rank", "2147483647"),
          r"slots_per_rank")
    suite("memory_inf", lambda t: K(K(t, "placement", "slots_per_rank", "0"), "placement",
                                    "expert_memory_gib", "inf"), r"expert_memory_gib")
    suite("memory_1e300", lambda t: K(K(t, "placement", "slots_per_rank", "0"), "placement",
                                      "expert_memory_gib", "1e300"), r"expert_memory_gib")
    suite("memory_nan", lambda t: K(K(t, "placement", "slots_per_rank", "0"), "placement",
                                    "expert_memory_gib", "nan"), r"expert_memory_gib")
    suite("samples_1e9", lambda t: K(t, "check", "samples_per_rank", "1000000000"),
          r"check\.samples_per_rank")
    suite("iterations_1e9", lambda t: K(t, "run", "iterations", "1000000000"), r"run\.iterations")
    suite("zipf_nan", lambda t: K(t, "workload", "zipf_s", "nan"), r"workload\.zipf_s")
    suite("layers_int_overflow", lambda t: K(t, "model", "layers", "9223372036854775807"),
          r"model\.layers")
    suite("truncated_toml", lambda t: t[: len(t) // 3] + "\n[mod", r"\.toml:\d+")
    suite("binary_garbage", lambda t: "\x00\x01\xff\xfe[model]\x00", r"\.toml")
    suite("trace_missing", lambda t: K(K(t, "workload", "kind", '"trace"'), "workload", "traces",
                                       '["no-such-trace.h5"]'), r"no-such-trace\.h5")
    return cases


def results_cases(base):
    """Bad results files given to validate, report and run --resume."""
    cases = []
    L = R = None
    with h5py.File(base, "r") as f:
        L, R = int(f.attrs["num_layers"]), int(f.attrs["num_ranks"])
        s = first_complete(f)
    m = f"strategies/{s}/measured"
    mutations = {
        # name: (maker, place regex, validate exit code)
        "truncated": (lambda p: truncated(base, p), r"\.h5", 2),
        "superblock_flip": (lambda p: bit_flipped(base, p, 0), r"\.h5", 2),
        "not_hdf5": (lambda p: write(p, "schema_version = 1\n"), r"\.h5", 2),
        "empty": (lambda p: write(p, b""), r"\.h5", 2),
        "schema_v2": (lambda p: copy_with(base, p, lambda f: f.attrs.__setitem__(
            "schema_version", np.int64(2))), r"schema_version", 2),
        "huge_extent_t_layer": (lambda p: copy_with(base, p, lambda f: replace_dataset(
            f, f"{m}/t_layer", (BIG, L, R), "f8")), r"t_layer", 1),
        "huge_extent_batch": (lambda p: copy_with(base, p, lambda f: [replace_dataset(
            f, f"{m}/{n}", (BIG,), "i8") for n in ("batch_tokens", "batch_index")]),
            r"batch_(tokens|index)", 1),
        "wrong_shape_t_layer": (lambda p: copy_with(base, p, lambda f: replace_dataset(
            f, f"{m}/t_layer", None, None, data=np.zeros((1, L, R + 1)))), r"t_layer", 1),
        "wrong_shape_rows_matrix": (lambda p: copy_with(base, p, lambda f: replace_dataset(
            f, f"{m}/rows_matrix", None, None, data=np.zeros((L, R, R + 1), dtype="i8"))),
            r"rows_matrix", 1),
        "huge_rank_node": (lambda p: copy_with(base, p, lambda f: replace_dataset(
            f, "provenance/rank_node", (BIG,), "i4")), r"rank_node", 1),
        "note_not_string": (lambda p: copy_with(base, p, lambda f: f.require_group(
            f"strategies/{s}/notes").attrs.__setitem__("bad_note", np.int64(7))), r"notes", 1),
        "num_layers_1e9": (lambda p: copy_with(base, p, lambda f: f.attrs.__setitem__(
            "num_layers", np.int64(10**9))), r"num_layers", 1),
        "nan_time": (lambda p: copy_with(base, p, lambda f: f[f"{m}/t_layer"].__setitem__(
            (0, 0, 0), np.nan)), r"t_layer", 1),
        "replica_rank_99": (lambda p: copy_with(base, p, lambda f: f[
            f"strategies/{s}/placement/replicas"].__setitem__((0, 0, 0), 99)), r"replicas", 1),
    }
    cases.append(Case("results.control.validate", "validate",
                      lambda work: ["validate", shutil.copy(base, os.path.join(work, "c.h5"))],
                      "", code=0))
    for name, (maker, place, vcode) in mutations.items():
        def make_validate(work, maker=maker, name=name):
            return ["validate", maker(os.path.join(work, f"{name}.h5"))]

        def make_report(work, maker=maker, name=name):
            return ["report", maker(os.path.join(work, f"{name}.h5")), "-o",
                    os.path.join(work, "report.md")]

        def make_resume(work, maker=maker, name=name):
            suite = write(os.path.join(work, "resume.toml"), small_suite())
            return ["run", suite, "--resume", maker(os.path.join(work, f"{name}.h5")), "-o",
                    os.path.join(work, "out.h5")]
        cases.append(Case(f"results.{name}.validate", "validate", make_validate,
                          place if vcode == 1 else r"\.h5", code=vcode))
        cases.append(Case(f"results.{name}.report", "report", make_report, r"\.h5",
                          output="report.md"))
        cases.append(Case(f"results.{name}.resume", "run --resume", make_resume, r"\.h5",
                          output="out.h5", np_=4))
    return cases


def trace_cases(base):
    """Bad routing traces given to `trace info` and to `run` (workload.kind = "trace")."""
    cases = []
    with h5py.File(base, "r") as f:
        L, T, K = f["routing/experts"].shape
        E = int(f.attrs["num_experts"])
    mutations = {
        "truncated": (lambda p: truncated(base, p), r"\.h5"),
        "superblock_flip": (lambda p: bit_flipped(base, p, 0), r"\.h5"),
        "expert_id_too_large": (lambda p: copy_with(base, p, lambda f: f["routing/experts"].__setitem__(
            (0, 0, 0), E + 5)), r"expert"),
        "expert_id_negative": (lambda p: copy_with(base, p, lambda f: f["routing/experts"].__setitem__(
            (0, 1, 0), -3)), r"expert"),
        "duplicate_expert": (lambda p: copy_with(base, p, lambda f: f["routing/experts"].__setitem__(
            (0, 2, 1), f["routing/experts"][0, 2, 0])), r"expert"),
        "nan_weight": (lambda p: copy_with(base, p, lambda f: f["routing/weights"].__setitem__(
            (0, 0, 0), np.nan)), r"weight"),
        "huge_extent": (lambda p: copy_with(base, p, lambda f: replace_dataset(
            f, "routing/experts", (L, BIG, K), "i4")), r"experts"),
        "wrong_shape": (lambda p: copy_with(base, p, lambda f: replace_dataset(
            f, "routing/weights", None, None, data=np.zeros((L, T, K + 1), dtype="f4"))),
            r"weights"),
        "family_out_of_range": (lambda p: copy_with(base, p, lambda f: f["tokens/family"].__setitem__(
            0, 1000)), r"famil"),
    }
    mutations = {"control": (lambda p: shutil.copy(base, p) and p, ""), **mutations}
    for name, (maker, place) in mutations.items():
        def make_info(work, maker=maker, name=name):
            return ["trace", "info", maker(os.path.join(work, f"{name}.h5"))]

        def make_run(work, maker=maker, name=name):
            trace = maker(os.path.join(work, f"{name}.h5"))
            t = set_key(set_key(small_suite(), "workload", "kind", '"trace"'), "workload",
                        "traces", f'["{trace}"]')
            t = set_key(t, "model", "layers", "2")
            return ["run", write(os.path.join(work, "trace_run.toml"), t), "-o",
                    os.path.join(work, "out.h5")]
        code = 0 if name == "control" else 2
        cases.append(Case(f"trace.{name}.info", "trace info", make_info, place, code=code))
        cases.append(Case(f"trace.{name}.run", "run", make_run, place, code=code,
                          output=None if code == 0 else "out.h5", np_=4))
    return cases


def import_cases():
    """Bad routing data given to `trace import`."""
    cases = []
    ok = '{"dataset": "d", "problem_id": 0, "layer": 0, "experts": [1, 2], "gating_probs": [0.6, 0.4], "token_idx": 0}'
    data = {
        "jsonl_layer_2p31": ("jsonl-topk", "a.jsonl", ok.replace('"layer": 0', '"layer": 2147483648'), [], r"a\.jsonl:1"),
        "jsonl_layer_2p32m1": ("jsonl-topk", "a.jsonl", ok.replace('"layer": 0', '"layer": 4294967295'), [], r"a\.jsonl:1"),
        "jsonl_expert_int32_max": ("jsonl-topk", "a.jsonl", ok.replace("[1, 2]", "[2147483647, 2]"), [], r"a\.jsonl:1"),
        "jsonl_nan_weight": ("jsonl-topk", "a.jsonl", ok.replace("[0.6, 0.4]", "[NaN, 0.4]"), [], r"a\.jsonl:1"),
        "jsonl_truncated": ("jsonl-topk", "a.jsonl", ok[: len(ok) // 2], [], r"a\.jsonl:1"),
        "csv_layer_2p31": ("csv", "a.csv", "request,token,layer,expert_0,expert_1\n0,0,2147483648,1,2\n", [], r"a\.csv:2"),
        "csv_expert_2p32m1": ("csv", "a.csv", "request,token,layer,expert_0,expert_1\n0,0,0,4294967295,2\n", [], r"a\.csv:2"),
        "csv_expert_2p32p1": ("csv", "a.csv", "request,token,layer,expert_0,expert_1\n0,0,0,4294967297,2\n", [], r"a\.csv:2"),
        "coact_expert_2p32m1": ("coact-csv", "a.csv", "layer,expert_i,expert_j,count\n0,4294967295,1,5\n", [], r"a\.csv:2"),
        "coact_layer_2p32m1": ("coact-csv", "a.csv", "layer,expert_i,expert_j,count\n4294967295,0,1,5\n", [], r"a\.csv:2"),
        "coact_1e5_experts": ("coact-csv", "a.csv", "layer,expert_i,expert_j,count\n0,99999,1,5\n", [], r"a\.csv:2|experts"),
        "layers_option_1e9": ("jsonl-topk", "a.jsonl", ok, ["--layers", "1000000000"], r"layers"),
        "binary_garbage": ("csv", "a.csv", "\x00\xff\xfe,,\n\x01", [], r"a\.csv"),
    }
    for name, (fmt, fname, text, extra, place) in data.items():
        def make(work, fmt=fmt, fname=fname, text=text, extra=extra):
            return ["trace", "import", "--format", fmt, write(os.path.join(work, fname), text + "\n"),
                    "-o", os.path.join(work, "out.h5")] + extra
        cases.append(Case(f"import.{name}", "trace import", make, place, output="out.h5"))
    return cases


LIBHDF5 = os.path.join(ROOT, "tests", "malformed", "libhdf5")
# The files on which libhdf5 spins (or reads for longer than any limit: huge-vlen), so the guard
# ends them by its time limit: 2 s for their cases instead of the matrix's 10 (their 7 cases took
# 10-12 s each, a core busy in the spinning child). The path is the same: the guard's timeout.
LIBHDF5_SPINS = {"results-spin-h5f-sizeof-size", "results-spin", "trace-spin",
                 "trace-huge-vlen-families"}
SPIN_ENV = {"MOEB_HDF5_GUARD_TIMEOUT_S": "2"}


def libhdf5_cases():
    """Mutated traces and results files (from the fuzz runs, fuzz/README.md "HDF5") on which
    libhdf5 1.10.8 itself crashes (SEGV in H5HG_read, a bad free while the file closes) or
    spins: each command reads them in a child first (src/platform/h5_guard.hpp) and exits 2
    with one line naming the file. `run` checks its trace and resume files before MPI_Init."""
    cases = []
    for fname in sorted(os.listdir(LIBHDF5)):
        src, stem = os.path.join(LIBHDF5, fname), fname[:-3]
        place = re.escape(fname)
        env = SPIN_ENV if stem in LIBHDF5_SPINS else None

        def copy(work, src=src, fname=fname):
            return shutil.copy(src, os.path.join(work, fname))
        if fname.startswith("trace-"):
            cases.append(Case(f"libhdf5.{stem}.info", "trace info",
                              lambda work, copy=copy: ["trace", "info", copy(work)], place,
                              env=env))
        else:
            cases.append(Case(f"libhdf5.{stem}.validate", "validate",
                              lambda work, copy=copy: ["validate", copy(work)], place, env=env))
            cases.append(Case(f"libhdf5.{stem}.report", "report",
                              lambda work, copy=copy: ["report", copy(work), "-o",
                                                       os.path.join(work, "report.md")],
                              place, output="report.md", env=env))

    def run_trace(work):
        trace = shutil.copy(os.path.join(LIBHDF5, "trace-segv-h5hg-read-families.h5"), work)
        t = set_key(set_key(small_suite(), "workload", "kind", '"trace"'), "workload", "traces",
                    f'["{trace}"]')
        return ["run", write(os.path.join(work, "t.toml"), t), "-o", os.path.join(work, "out.h5")]

    def run_resume(work):
        f = shutil.copy(os.path.join(LIBHDF5, "results-spin-h5f-sizeof-size.h5"), work)
        suite = write(os.path.join(work, "resume.toml"), small_suite())
        return ["run", suite, "--resume", f, "-o", os.path.join(work, "out.h5")]
    cases.append(Case("libhdf5.trace-segv-h5hg-read-families.run", "run", run_trace,
                      r"trace-segv-h5hg-read-families\.h5", output="out.h5", np_=4))
    cases.append(Case("libhdf5.results-spin-h5f-sizeof-size.resume", "run --resume", run_resume,
                      r"results-spin-h5f-sizeof-size\.h5", output="out.h5", np_=4, env=SPIN_ENV))
    return cases


# ---------------------------------------------------------------------------- checking

SANITIZER = re.compile(r"AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:|LeakSanitizer"
                       r"|Segmentation fault|double free|std::bad_alloc|terminate called")


def check(moebench, case, work):
    """'' when the case behaves, else what went wrong."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    args = case.make(work)
    code, out, err, secs = launch([moebench] + args, case.np, work, case.env)
    text = out + err
    problems = []
    if code is None:
        problems.append(f"did not finish within {LIMIT_S} s")
    elif code != case.code:
        problems.append(f"exit code {code}, expected {case.code}")
    if SANITIZER.search(text):
        problems.append("crash or sanitizer report: " + SANITIZER.search(text).group(0))
    errors = [l for l in err.splitlines() if l.startswith("moebench: error:")]
    if case.code == 2 and code == 2:
        if len(errors) != 1:
            problems.append(f"{len(errors)} 'moebench: error:' lines, expected 1")
        elif not re.search(case.place, errors[0]):
            problems.append(f"error line does not name /{case.place}/: {errors[0]}")
    if case.code == 1 and code == 1 and not re.search(case.place, out):
        problems.append(f"validate output does not name /{case.place}/")
    if case.output:
        left = [f for f in os.listdir(work) if f.startswith(case.output)]
        if left:
            problems.append(f"output left behind: {left}")
    if case.must_exist:
        if not os.path.exists(os.path.join(work, case.must_exist)):
            problems.append(f"{case.must_exist} not written in the working directory")
        if os.path.exists(os.path.join(os.path.dirname(work), "x.h5")):
            os.remove(os.path.join(os.path.dirname(work), "x.h5"))
            problems.append("the output escaped the working directory (../x.h5)")
    detail = (errors[0] if errors else (out.strip().splitlines() or [""])[0])[:160]
    return "; ".join(problems), detail, secs


def make_bases(moebench, work):
    shutil.rmtree(work, ignore_errors=True)  # results files are never overwritten: start empty
    os.makedirs(work)
    trace = os.path.join(work, "base_trace.h5")
    results = os.path.join(work, "base_results.h5")
    suite = write(os.path.join(work, "base.toml"), small_suite())
    for args in (["trace", "generate", "-o", trace, "--model", "mixtral-8x7b", "--layers", "2",
                  "--tokens", "4096"],
                 ["place", suite, "-o", results, "--no-table"]):
        code, out, err, _ = launch([moebench] + args, None, work)
        if code != 0:
            sys.exit(f"cannot make a base file with {' '.join(args)}:\n{out}\n{err}")
    return trace, results


def run_cases(moebench, cases, work, jobs):
    """Every case in one of `jobs` workers, each with its own directory (a case may write next
    to its working directory, ../x.h5); results printed as they finish, in any order."""
    lock = threading.Lock()
    failed, unexpected_pass = [], []
    slots = queue.Queue()
    for i in range(jobs):
        slots.put(os.path.join(work, f"worker{i}", "case"))

    def one(c):
        case_dir = slots.get()
        try:
            problem, detail, secs = check(moebench, c, case_dir)
        finally:
            slots.put(case_dir)
        expected = c.name in EXPECTED_TO_FAIL
        if problem and expected:
            verdict = f"XFAIL ({EXPECTED_TO_FAIL[c.name]})"
        elif problem:
            verdict = "FAIL " + problem
        elif expected:
            verdict = "XPASS: fixed; remove it from EXPECTED_TO_FAIL"
        else:
            verdict = "ok"
        with lock:
            if problem and not expected:
                failed.append(c.name)
            if expected and not problem:
                unexpected_pass.append(c.name)
            print(f"{c.name:42s} {secs:5.1f}s {verdict}\n    {detail}", flush=True)

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for f in [pool.submit(one, c) for c in cases]:
            f.result()  # re-raises what a worker raised (a broken maker fails the test)
    return failed, unexpected_pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("moebench")
    ap.add_argument("workdir")
    ap.add_argument("--only", default="")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("MOEB_MALFORMED_JOBS", "2")),
                    help="cases run at once (default 2, MOEB_MALFORMED_JOBS)")
    a = ap.parse_args()
    moebench = os.path.abspath(a.moebench)
    work = os.path.abspath(a.workdir)
    trace, results = make_bases(moebench, os.path.join(work, "base"))
    cases = suite_cases() + results_cases(results) + trace_cases(trace) + import_cases() + \
        libhdf5_cases()
    cases = [c for c in cases if re.search(a.only, c.name)]
    if a.list:
        for c in cases:
            print(c.name)
        return 0
    t0 = time.monotonic()
    failed, unexpected_pass = run_cases(moebench, cases, work, max(1, a.jobs))
    print(f"{len(cases)} cases in {time.monotonic() - t0:.0f} s ({max(1, a.jobs)} at once): "
          f"{len(failed)} failed, "
          f"{len(unexpected_pass)} passed while listed as expected to fail, "
          f"{sum(c.name in EXPECTED_TO_FAIL for c in cases)} expected to fail")
    if failed:
        print("failed: " + ", ".join(sorted(failed)))
    return 1 if failed or unexpected_pass else 0

if __name__ == "__main__":
    sys.exit(main())
