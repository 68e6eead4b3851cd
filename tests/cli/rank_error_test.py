#!/usr/bin/env python3
"""Errors on one rank end all ranks (issue 17, label mpi). `moebench run --test-throw
NAME:RANK:WHEN:KIND` (hidden, tests only) throws an exception of KIND on one rank while strategy
NAME runs, after the strategy before it has finished. Then, within a time limit:

  * every rank exits (no deadlock) with the documented exit code (README "Exit codes"):
    1 when the error was agreed at the strategy boundary (WHEN = end: the other ranks reach
    it), 4 when the other ranks were blocked in a collective (WHEN = an iteration) and the
    failing rank aborted them all;
  * stderr holds exactly one `moebench: error:` line, naming the rank and the error;
  * the results file keeps the finished strategy intact (`moebench validate` finds no broken
    rule, and its measured datasets are there) and says the run did not finish: status
    `failed` with a root `error` naming the rank when rank 0 could write it (an agreed error,
    or rank 0's own), else `running` (rank 0 was killed by the abort); `moebench validate`
    reports that status and exits 1;
  * `moebench run --resume FILE` (no -o: the file is replaced) completes the run to a valid,
    complete file whose finished strategy's measured datasets are unchanged.

  rank_error_test.py MOEBENCH CASE WORKDIR
CASE: npN_rankR_WHEN_KIND, e.g. np2_rank1_2_bad_alloc, np4_rank2_end_moeb_error
"""
import os
import re
import shutil
import subprocess
import sys
import time

import h5py

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICKSTART = os.path.join(ROOT, "suites", "quickstart.toml")
STRATEGIES = ["baseline", "eplb", "round_robin"]  # the fault hits the second
TIME_LIMIT_S = 120
KIND_TEXT = {"bad_alloc": "std::bad_alloc", "runtime_error": "std::runtime_error",
             "moeb_error": "test fault", "unknown": "unknown exception"}


def suite_text(ranks):
    with open(QUICKSTART) as f:
        t = f.read()
    for key, value in [("tokens", "4096"), ("batch_tokens", "512"), ("iterations", "6"),
                       ("warmup", "1"), ("hidden", "64"), ("ffn_hidden", "128"),
                       ("nodes", "2" if ranks == 4 else "1")]:
        t = re.sub(rf"^{key} = .*$", f"{key} = {value}", t, flags=re.M)
    return t


def measured(path, name):
    with h5py.File(path, "r") as f:
        g = f["strategies"][name]["measured"]
        return {d: g[d][()] for d in g}


def main():
    moebench, case, work = os.path.abspath(sys.argv[1]), sys.argv[2], os.path.abspath(sys.argv[3])
    m = re.fullmatch(r"np(\d+)_rank(\d+)_(end|\d+)_(bad_alloc|runtime_error|moeb_error|unknown)",
                     case)
    if not m:
        sys.exit(f"unknown case {case}")
    ranks, rank, when, kind = int(m[1]), int(m[2]), m[3], m[4]
    work = os.path.join(work, case)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    suite = os.path.join(work, "err.toml")
    with open(suite, "w") as f:
        f.write(suite_text(ranks))
    out = os.path.join(work, "err.h5")
    cmd = ["mpirun", "-np", str(ranks), "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    cmd += [moebench, "run", suite, "-o", out, "--strategies", ",".join(STRATEGIES),
            "--test-throw", f"{STRATEGIES[1]}:{rank}:{when}:{kind}"]
    env = dict(os.environ, OMPI_MCA_btl_tcp_if_include="lo", OMPI_MCA_oob_tcp_if_include="lo",
               OMPI_MCA_rmaps_base_oversubscribe="1", OPENBLAS_NUM_THREADS="1",
               MOEB_ERROR_WAIT_S="5")
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True,
                           timeout=TIME_LIMIT_S)
    except subprocess.TimeoutExpired:
        sys.exit(f"{case}: the run did not end within {TIME_LIMIT_S} s (deadlock)")
    took = time.monotonic() - t0
    problems = []
    expected_code = 1 if when == "end" else 4
    if r.returncode != expected_code:
        problems.append(f"exit {r.returncode}, expected {expected_code}")
    errors = [l for l in r.stderr.splitlines() if l.startswith("moebench: error")]
    if len(errors) != 1:
        problems.append(f"{len(errors)} 'moebench: error' lines, expected one")
    elif f"rank {rank} on host" not in errors[0] or KIND_TEXT[kind] not in errors[0]:
        problems.append(f"the error line does not name rank {rank} and {KIND_TEXT[kind]}")
    with h5py.File(out, "r") as f:
        status = f.attrs["status"]
        status = status.decode() if isinstance(status, bytes) else status
        error = f.attrs.get("error", "")
        error = error.decode() if isinstance(error, bytes) else error
        first = f["strategies"].get(STRATEGIES[0])
        if first is None or first.attrs["status"] != "complete" or "measured" not in first:
            problems.append(f"the finished strategy {STRATEGIES[0]} is not intact in the file")
        if STRATEGIES[1] in f["strategies"]:
            problems.append(f"the failed strategy {STRATEGIES[1]} was written as if it ended")
    rank0_wrote = when == "end" or rank == 0
    if rank0_wrote and (status != "failed" or f"rank {rank} on host" not in error):
        problems.append(f"status {status!r}, error {error!r}: expected failed, naming rank {rank}")
    if not rank0_wrote and status != "running":
        problems.append(f"status {status!r}, expected running (rank 0 was aborted)")
    v = subprocess.run([moebench, "validate", out], capture_output=True, text=True)
    text = v.stdout + v.stderr
    if "rule" in text:
        problems.append(f"the file left behind breaks a rule:\n{text}")
    if v.returncode != 1 or f"status '{status}'" not in text or "unfinished" not in text:
        problems.append(f"validate (exit {v.returncode}) does not report the status:\n{text}")
    if problems:
        print(f"{case}: " + "; ".join(problems) + f"\n--- stderr:\n{r.stderr[-4000:]}")
        return 1
    before = measured(out, STRATEGIES[0])
    resume = [c for c in cmd if c not in ("-o", out)][:-2] + ["--resume", out]
    rr = subprocess.run(resume, cwd=work, env=env, capture_output=True, text=True,
                        timeout=TIME_LIMIT_S)
    v2 = subprocess.run([moebench, "validate", out], capture_output=True, text=True)
    after = measured(out, STRATEGIES[0])
    if rr.returncode != 0 or v2.returncode != 0 or "unfinished" in v2.stdout:
        print(f"{case}: --resume exit {rr.returncode}, validate exit {v2.returncode}:\n"
              f"{v2.stdout}{rr.stderr[-3000:]}")
        return 1
    if before.keys() != after.keys() or any((before[k] != after[k]).any() for k in before):
        print(f"{case}: --resume changed the measured datasets of {STRATEGIES[0]}")
        return 1
    print(f"{case}: exit {r.returncode} after {took:.1f} s; {errors[0]}\nvalidate: {text.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
