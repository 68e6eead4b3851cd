#!/usr/bin/env python3
"""What a user sees around the measurement (issue 15): files never overwritten, progress lines,
--quiet, a resumed run refusing a changed configuration, `list systems`, n/a figures.

  ux_test.py MOEBENCH CASE WORKDIR

Cases without MPI (label cpu): overwrite_refused, default_suffix, progress, progress_tty,
list_systems, place_counts_only. With mpirun (label mpi): run_progress_quiet, run_progress_tty,
resume_changed.
"""
import hashlib
import os
import pty
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICKSTART = os.path.join(ROOT, "suites", "quickstart.toml")


def small_suite(work, iterations=2):
    with open(QUICKSTART) as f:
        t = f.read()
    for key, value in [("tokens", "2048"), ("batch_tokens", "512"), ("iterations", str(iterations)),
                       ("warmup", "1"), ("hidden", "128"), ("ffn_hidden", "256")]:
        t = re.sub(rf"^{key} = .*$", f"{key} = {value}", t, flags=re.M)
    path = os.path.join(work, "small.toml")
    with open(path, "w") as f:
        f.write(t)
    return path


def run(cmd, work, **kw):
    return subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=300, **kw)


def mpirun(args, work):
    cmd = ["mpirun", "-np", "4", "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    env = dict(os.environ, OMPI_MCA_btl_tcp_if_include="lo", OMPI_MCA_oob_tcp_if_include="lo",
               OPENBLAS_NUM_THREADS="1")
    return run(cmd + args, work, env=env)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def errors(r):
    return [l for l in r.stderr.splitlines() if l.startswith("moebench")]


def overwrite_refused(mb, work):
    suite = small_suite(work)
    place = [mb, "place", suite, "--strategy", "baseline", "--no-table", "-o", "out.h5"]
    assert run(place, work).returncode == 0
    before = digest(os.path.join(work, "out.h5"))
    for cmd in (place, [mb, "simulate", suite, "--strategies", "baseline", "-o", "out.h5"]):
        r = run(cmd, work)
        assert r.returncode == 2, f"{cmd[1]}: exit {r.returncode}, expected 2\n{r.stderr}"
        assert errors(r) == ["moebench: error: out.h5: already exists (pass --force to overwrite "
                             "it, -o to name another file)"], r.stderr
        assert digest(os.path.join(work, "out.h5")) == before, "the file was touched"
    r = run(place[:4] + ["baseline,eplb"] + place[5:] + ["--force"], work)
    assert r.returncode == 0, r.stderr
    assert digest(os.path.join(work, "out.h5")) != before, "--force did not overwrite"
    print("overwrite_refused: -o of an existing file refused (one line, exit 2, file untouched); "
          "--force overwrites")


def default_suffix(mb, work):
    suite = small_suite(work)
    names = []
    for _ in range(3):
        r = run([mb, "place", suite, "--strategy", "baseline", "--no-table"], work)
        assert r.returncode == 0, r.stderr
        names.append(re.search(r"results: (\S+)", r.stdout).group(1))
    assert names == ["quickstart-place.h5", "quickstart-place-1.h5", "quickstart-place-2.h5"], names
    for n in names:
        assert os.path.exists(os.path.join(work, n)), n
    r = run([mb, "simulate", suite, "--strategies", "baseline"], work)
    r2 = run([mb, "simulate", suite, "--strategies", "baseline"], work)
    a, b = (re.search(r"-> (\S+)", x.stdout).group(1) for x in (r, r2))
    assert (a, b) == ("quickstart-loopback.h5", "quickstart-loopback-1.h5"), (a, b)
    print(f"default_suffix: {', '.join(names + [a, b])}, none overwritten")


PROGRESS = re.compile(r"^\[(\d+)/(\d+)\] (\S+): (warm-up|iteration) (\d+)/(\d+), .* elapsed")


def progress(mb, work):
    suite = small_suite(work)
    base = [mb, "simulate", suite, "--strategies", "baseline,eplb", "--iterations", "3"]
    r = run(base + ["--progress", "-o", "forced.h5"], work)
    lines = [l for l in r.stderr.splitlines() if PROGRESS.match(l)]
    assert r.returncode == 0 and lines, f"--progress printed no progress line:\n{r.stderr}"
    # simulate places both strategies, then measures them together ("all")
    assert lines[0].startswith("[2/2] all: iteration 1/3"), lines
    assert "\r" not in r.stderr, "carriage returns in a log"
    r = run(base + ["-o", "auto.h5"], work)  # not a terminal, a short run: no line within 30 s
    assert r.returncode == 0 and not [l for l in r.stderr.splitlines() if PROGRESS.match(l)], \
        r.stderr
    r = run(base + ["--quiet", "-o", "quiet.h5"], work)
    assert r.returncode == 0 and r.stderr == "", f"--quiet printed on stderr:\n{r.stderr}"
    r = run(base + ["--quiet", "--progress", "-o", "both.h5"], work)
    assert r.returncode == 2 and not os.path.exists(os.path.join(work, "both.h5")), r.stderr
    print(f"progress: --progress gave {len(lines)} lines ({lines[0]!r}); none by default in a log "
          f"or with --quiet; --quiet --progress is refused")


def on_terminal(cmd, work, env=None):
    """stderr (and stdout) of `cmd` on a pseudo-terminal; returns what it printed."""
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, cwd=work, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    assert p.wait(timeout=300) == 0, data.decode()
    return data.decode()


def progress_tty(mb, work):
    """On a terminal the line is rewritten in place and erased before the next output."""
    suite = small_suite(work)
    text = on_terminal([mb, "simulate", suite, "--strategies", "baseline,eplb", "--iterations",
                        "3", "-o", "tty.h5"], work)
    assert "\r[1/2] baseline: placing" in text and "\r[2/2] all: " in text, repr(text)
    last = text.rindex("\r[2/2] all: ")
    assert "\r\x1b[K" in text[last:], f"the last line is not erased: {text[last:]!r}"
    print(f"progress_tty: {text.count(chr(13) + '[')} in-place updates, erased at the end")


def run_progress_tty(mb, work):
    """mpirun on a terminal: the ranks' stderr is a pipe mpirun forwards to its terminal, and
    rank 0 still rewrites its line in place."""
    suite = small_suite(work)
    cmd = ["mpirun", "-np", "4", "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    env = dict(os.environ, OMPI_MCA_btl_tcp_if_include="lo", OMPI_MCA_oob_tcp_if_include="lo",
               OPENBLAS_NUM_THREADS="1")
    text = on_terminal(cmd + [mb, "run", suite, "--strategies", "baseline,eplb", "-o", "t.h5"],
                       work, env)
    assert "\r[1/2] baseline: warm-up 1/1" in text, repr(text)
    # The erase (stderr) and the result line (stdout) travel on separate channels that mpirun
    # forwards independently, so their order on the terminal is not fixed: check each.
    assert "\r\x1b[K" in text[text.index("\r[1/2] baseline: warm-up 1/1"):], repr(text)
    assert re.search(r"baseline +done", text), repr(text)
    print(f"run_progress_tty: {text.count(chr(13) + '[')} in-place updates through mpirun")


def list_systems(mb, work):
    r = run([mb, "list", "systems"], ROOT)
    assert r.returncode == 0, r.stderr
    presets = sorted(f[:-5] for f in os.listdir(os.path.join(ROOT, "suites", "systems"))
                     if f.endswith(".toml"))
    listed = re.findall(r"^  (\S+)  \((\S+)\)$", r.stdout, flags=re.M)
    assert [n for n, _ in listed] == presets, (listed, presets)
    for name, path in listed:
        with open(os.path.join(ROOT, path)) as f:
            text = f.read()
        desc = re.search(r'^description = "(.*)"$', text, flags=re.M).group(1)
        assert desc in r.stdout, f"{name}: description missing"
    # Every cited source in a preset file is shown, e.g. the H100 NVLink figure's data sheet.
    assert "intra.bandwidth_Bps: NVIDIA H100 SXM data sheet" in r.stdout, r.stdout
    assert re.search(r"h100-ndr400.*\n.*\n    intra-node  450 GB/s per rank", r.stdout), r.stdout
    print(f"list_systems: {len(listed)} presets with description, links and sources")


def place_counts_only(mb, work):
    suite = small_suite(work)
    r = run([mb, "place", suite, "--strategy", "baseline,eplb", "--no-table", "--system", "none",
             "-o", "p.h5"], work)
    assert r.returncode == 0, r.stderr
    rep = run([mb, "report", "p.h5", "--metrics", "comm_gb,throughput,p99_ms,idle_pct"], work)
    assert rep.returncode == 0, rep.stderr
    rows = [l for l in rep.stdout.splitlines() if l.startswith("| baseline") or
            l.startswith("| eplb")]
    assert len(rows) == 2, rep.stdout
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[2:] == ["n/a"] * 3, f"times of a counts-only file are not n/a: {row}"
        assert cells[1] not in ("n/a", "0"), row
    assert "no cost model" in rep.stdout and "noisy" not in rep.stdout, rep.stdout
    print("place_counts_only: comm figures shown, tok/s, p99 and idle n/a")


def run_progress_quiet(mb, work):
    suite = small_suite(work, iterations=3)
    r = mpirun([mb, "run", suite, "--strategies", "baseline,eplb", "--progress", "-o", "a.h5"],
               work)
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stderr.splitlines() if PROGRESS.match(l)]
    assert lines and lines[0].startswith("[1/2] baseline: warm-up 1/1"), r.stderr
    assert re.search(r"^  baseline +done", r.stdout, flags=re.M), r.stdout
    r = mpirun([mb, "run", suite, "--strategies", "baseline,eplb", "--quiet", "-o", "b.h5"], work)
    assert r.returncode == 0, r.stderr
    assert "done (" not in r.stdout and "moebench run:" not in r.stdout, r.stdout
    assert re.search(r"^\| eplb +\|", r.stdout, flags=re.M), f"no final table:\n{r.stdout}"
    assert not [l for l in r.stderr.splitlines() if PROGRESS.match(l)], r.stderr
    print(f"run_progress_quiet: rank 0 printed {len(lines)} progress lines with --progress; "
          "--quiet printed the table only")


def resume_changed(mb, work):
    suite = small_suite(work)
    r = mpirun([mb, "run", suite, "--strategies", "baseline", "-o", "r.h5"], work)
    assert r.returncode == 0, r.stderr
    before = digest(os.path.join(work, "r.h5"))
    r = mpirun([mb, "run", suite, "--strategies", "baseline,eplb", "--resume", "r.h5",
                "--iterations", "3", "--warmup", "0"], work)
    errs = errors(r)
    assert r.returncode == 2 and len(errs) == 1, f"exit {r.returncode}:\n{r.stderr}"
    assert ("r.h5: cannot resume: the resolved configuration differs in 2 keys: run.iterations "
            "(2 in the file, 3 in this run), run.warmup (1 in the file, 0 in this run)") in errs[0], \
        errs[0]
    assert digest(os.path.join(work, "r.h5")) == before, "the refused resume touched the file"
    r = mpirun([mb, "run", suite, "--strategies", "baseline,eplb", "--resume", "r.h5"], work)
    assert r.returncode == 0 and "already complete" in r.stdout, r.stdout + r.stderr
    print(f"resume_changed: refused with {errs[0]!r}; the same configuration resumes")


CASES = {f.__name__: f for f in (overwrite_refused, default_suffix, progress, progress_tty,
                                  list_systems, place_counts_only, run_progress_quiet,
                                  run_progress_tty, resume_changed)}


def main():
    mb, case, work = os.path.abspath(sys.argv[1]), sys.argv[2], os.path.abspath(sys.argv[3])
    work = os.path.join(work, case)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    CASES[case](mb, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
