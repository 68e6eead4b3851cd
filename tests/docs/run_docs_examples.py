#!/usr/bin/env python3
"""Every example in the README and the docs, executed (ctest label `docs`).

Reads the fenced blocks of README.md, docs/*.md, suites/README.md, tools/README.md,
bench/README.md, job_scripts/README.md and results_schema/*.md, in that order:

- ```bash (or sh, shell) blocks are run, command by command, one bash session per Markdown file
  (as a reader following the page in one terminal: variables, `source` and `cd` carry over
  from block to block), in one fresh copy of the repository's files shared by all pages (so
  results/quickstart.h5 written by the README's demo is there for the pages after it);
- ```python blocks are run with /usr/bin/python3 (PYTHONPATH=python, the package in place);
- a block without a language whose first line looks like a command (mpirun, moebench, build/...,
  scripts/..., python3, cmake, ctest, sbatch, ...) fails the test: mark it ```bash to have it
  run, or ```text when it is output.

The shell starts from a fresh machine's environment (PATH of a Debian root shell; no OMPI_*,
PMIX_*, OPENBLAS_* or MOEB_* variables leak in from the caller), so the MPI settings a page
needs must be on the page (`source scripts/mpi_env.sh`). In the copy, build/release and
build/dev are links to the build under test.

Scaled to a 2-core machine (SCALE_SUITES): the suites the pages run are rewritten in the copy
to small widths, few tokens and iterations; the commands stay as written. The few commands that
cannot run here are substituted or excluded by SUBSTITUTIONS below, each with its reason; every
substitution and exclusion is printed. Any other failing command fails the test, naming the
page, its line and the command.

usage: run_docs_examples.py REPO_ROOT BUILD_DIR WORKDIR [--only PAGE] [--list]
"""

import glob
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

PAGES = ["README.md", "docs/*.md", "suites/README.md", "tools/README.md", "bench/README.md",
         "job_scripts/README.md", "results_schema/*.md"]
RUN_LANGS = {"bash", "sh", "shell"}
# A block without a language that starts like this is a command, not output.
COMMAND_START = re.compile(
    r"^(mpirun|srun|sbatch|squeue|scancel|cmake|ctest|ninja|make|python3?|/usr/bin/|pip3?|"
    r"\.venv/|source|export|cd|mkdir|B=|\$B|[A-Z_]+=\S* |\.?/?(scripts|job_scripts|tools|tests|"
    r"build|bench)/|moebench(?:-plot)? (?!\S*:))")
PAGE_TIMEOUT_S = int(os.environ.get("MOEB_DOCS_PAGE_TIMEOUT", "900"))

# Suites rewritten in the copy: (table, key) -> value. Widths, tokens and iterations scaled so
# every documented run finishes in seconds on 2 cores (and the quickstart to four strategies, one
# of each kind: reference, replication, grouping, hierarchical grouping, so that `plot all` draws
# a quarter of the figures); ranks, nodes and split as written. A key that is not in the file
# fails the test (the table stays true).
SCALE_SUITES = {
    "suites/quickstart.toml": {("model", "hidden"): 128, ("model", "ffn_hidden"): 256,
                               ("model", "layers"): 2, ("workload", "tokens"): 2048,
                               ("workload", "batch_tokens"): 256, ("run", "warmup"): 0,
                               ("run", "iterations"): 2, ("check", "samples_per_rank"): 2,
                               ("placement", "strategies"):
                                   '["baseline", "eplb", "tacg", "grace"]'},
    "suites/interconnect-local.toml": {("model", "hidden"): 256, ("workload", "tokens"): 2048,
                                       ("workload", "batch_tokens"): 512, ("run", "warmup"): 0,
                                       ("run", "iterations"): 2,
                                       ("check", "samples_per_rank"): 2},
    "suites/mixtral-gsm8k.toml": {("model", "hidden"): 128, ("model", "ffn_hidden"): 256,
                                  ("model", "layers"): 2, ("run", "warmup"): 0,
                                  ("run", "iterations"): 1},
    "suites/deepseek-v3.toml": {("model", "layers"): 2, ("workload", "tokens"): 2048,
                                ("workload", "batch_tokens"): 256, ("run", "warmup"): 0,
                                ("run", "iterations"): 1},
}

# Tables appended to a suite in the copy: rel -> {table: {key: value}}. The table must not be in
# the file (a table that appears there fails the test: move the keys to SCALE_SUITES).
# `optimal`'s search at 32x8 (README, docs/STRATEGIES.md) does a fixed amount of work, 10,000
# proposals per layer at these sizes (about 20 s of CPU): 200 (its floor) shows the same.
ADD_TO_SUITES = {
    "suites/deepseek-v3.toml": {"strategy.optimal": {"iterations": 200}},
}

HAS_GPU = shutil.which("nvidia-smi") is not None and subprocess.run(
    ["nvidia-smi", "-L"], capture_output=True).returncode == 0
SLURM_REASON = ("needs a Slurm cluster: tests/slurm (ctest -L slurm) runs these job scripts "
                "through sbatch against a two-node loopback cluster")
GPU_REASON = "needs a CUDA device and a CUDA build: tests/gpu (ctest -L gpu) covers it"
BENCH_REASON = ("a benchmark (Google Benchmark, -DMOEB_BUILD_BENCHMARKS=ON, minutes of CPU): "
                "its figures are recorded in bench/README.md, not part of a test run")
BUILD_REASON = ("configures and builds the tree: CI builds the tree under test this way "
                "(scripts/test.sh -> scripts/setup.sh) before this test runs")


def traces_present(copy):
    return os.path.isdir(os.path.join(copy, "..", "shared", "traces"))


# (pattern on the whole logical command, action, reason). action None: excluded (not run);
# a string: the command run instead, with \\0 for the documented one. First match wins.
def substitutions(copy):
    traces = traces_present(copy)
    no_trace = "../shared/traces is absent here (tests read it in place, never copied)"
    table = [
        (r"^scripts/test\.sh\b", None,
         "runs every test, this one included: it is what CI runs (.ci/run)"),
        (r"^scripts/setup\.sh\b", None, BUILD_REASON),
        (r"^scripts/demo\.sh\b", "MOEB_SKIP_SETUP=1 \\0",
         "setup.sh (packages, configure, build) already made the build under test; "
         "MOEB_SKIP_SETUP=1 runs the rest of the demo as written"),
        (r"^(cmake|ninja)\b", None, BUILD_REASON),
        (r"scripts/(fuzz|sanitize)\.sh\b", None,
         "builds its own instrumented tree (clang libFuzzer / sanitizers) and runs for minutes "
         "to hours: run by hand; every build replays fuzz/regressions (ctest -R Fuzz.Replay)"),
        (r"^ctest\b.*-L (slurm|gpu)\b", "\\0 -N",
         "listed (-N), not run: the label's own tests need a cluster / a GPU and CI runs them"),
        (r"^ctest\b", "\\0 -N",
         "listed (-N), not run: CI runs every label; running them here would nest the suite"),
        (r"\b(sbatch|srun|squeue|scancel)\b|tests/slurm/cluster\.sh|interconnect_study\.sh",
         None, SLURM_REASON),
        (r"^export SLURM_|\bSLURM_CONF=", None, SLURM_REASON),
        (r"<(array)?jobid>", None, SLURM_REASON + " (it reads the files a job wrote)"),
        (r"build/perf|/bench/bench_|\bbench_[a-z_]+\b", None, BENCH_REASON),
        (r"--model (deepseek-v3|kimi-k2) (--topology \d+x8 )?--batch-tokens (100000|131072)", None,
         BENCH_REASON + " (the simulate timings of bench/README.md)"),
        (r"calibrate\b(?!.*--quick)", "\\0 --quick",
         "--quick: the same measurement on fewer message sizes and repetitions (the full sweep "
         "takes minutes); the options as written otherwise"),
    ]
    # A CUDA build (build/gpu) is not the build under test, even on a machine with a GPU.
    table.insert(0, (r"build/gpu|MOEB_WITH_CUDA=ON|test_gpu", None, GPU_REASON))
    if not HAS_GPU:
        table.insert(0, (r"--backend cuda", None, GPU_REASON))
    if not traces:
        table.insert(0, (r"\.\./shared/traces|--trace mixtral\.h5|trace info mixtral\.h5",
                         None, no_trace))
    return table


def pages(root):
    out = []
    for pat in PAGES:
        for p in sorted(glob.glob(os.path.join(root, pat))):
            rel = os.path.relpath(p, root)
            if rel not in out:
                out.append(rel)
    return out


def blocks(text):
    """(language, first line number of the body, body lines) of every fenced block."""
    out, cur = [], None
    for n, line in enumerate(text.split("\n"), 1):
        m = re.match(r"^\s*```\s*([A-Za-z0-9_+-]*)\s*$", line)
        if cur is None and m:
            cur = (m.group(1).lower(), n + 1, [])
        elif cur is not None and re.match(r"^\s*```\s*$", line):
            out.append(cur)
            cur = None
        elif cur is not None:
            cur[2].append(line)
    return out


def commands(start, lines):
    """Logical commands (backslash continuations joined) with their line numbers."""
    out, buf, first = [], [], None
    for i, line in enumerate(lines):
        if not buf and (not line.strip() or line.strip().startswith("#")):
            continue
        if not buf:
            first = start + i
        buf.append(line)
        if line.rstrip().endswith("\\"):
            continue
        out.append((first, "\n".join(buf)))
        buf = []
    if buf:
        out.append((first, "\n".join(buf)))
    return out


def split_comment(cmd):
    """(code, trailing comment) of a command: a # outside quotes that starts a word."""
    quote, prev = None, " "
    for i, c in enumerate(cmd):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and prev.isspace():
            return cmd[:i].rstrip(), cmd[i:]
        prev = c
    return cmd.rstrip(), ""


def first_command_line(lines):
    for line in lines:
        s = line.strip()
        if s and not s.startswith("#"):
            return s
    return ""


def scale_suites(copy):
    for rel in sorted(set(SCALE_SUITES) | set(ADD_TO_SUITES)):
        keys = SCALE_SUITES.get(rel, {})
        path = os.path.join(copy, rel)
        lines = open(path).read().split("\n")
        table, done = None, set()
        for i, line in enumerate(lines):
            m = re.match(r"^\s*\[([^\]]+)\]", line)
            if m:
                table = m.group(1).strip()
                continue
            m = re.match(r"^(\s*)([A-Za-z0-9_]+)(\s*=\s*)([^#]*?)(\s*(#.*)?)$", line)
            if m and (table, m.group(2)) in keys:
                lines[i] = "%s%s%s%s%s" % (m.group(1), m.group(2), m.group(3),
                                           keys[(table, m.group(2))], m.group(5))
                done.add((table, m.group(2)))
        missing = set(keys) - done
        if missing:
            raise SystemExit("FAIL: SCALE_SUITES: %s has no %s (update the table)"
                             % (rel, ", ".join("%s.%s" % k for k in sorted(missing))))
        for table, values in ADD_TO_SUITES.get(rel, {}).items():
            if any(re.match(r"^\s*\[%s\]" % re.escape(table), line) for line in lines):
                raise SystemExit("FAIL: ADD_TO_SUITES: %s has [%s] now (move it to SCALE_SUITES)"
                                 % (rel, table))
            lines += ["", "[%s]" % table] + ["%s = %s" % kv for kv in values.items()]
        open(path, "w").write("\n".join(lines))


def make_copy(root, build, work):
    copy = os.path.join(work, "moebench")
    if os.path.exists(work):
        shutil.rmtree(work)
    os.makedirs(copy)
    git = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others",
                          "--exclude-standard"], capture_output=True)
    if git.returncode == 0:  # the files of a fresh clone (plus new, not ignored, ones)
        rels = [r for r in git.stdout.decode().split("\0") if r]
    else:  # not a git checkout (an unpacked archive): everything but build outputs
        rels = [os.path.relpath(os.path.join(d, f), root)
                for d, dirs, fs in os.walk(root)
                for f in fs if not os.path.relpath(d, root).split(os.sep)[0] in (
                    "build", ".git", "results")]
    for rel in rels:
        src = os.path.join(root, rel)
        if not os.path.isfile(src) or rel.startswith("build/"):
            continue
        dst = os.path.join(copy, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)
    os.makedirs(os.path.join(copy, "build"))
    for name in ("release", "dev"):
        os.symlink(os.path.abspath(build), os.path.join(copy, "build", name))
    shared = os.path.join(root, "..", "shared")
    if os.path.isdir(os.path.join(shared, "traces")):  # read in place, as ../shared/traces
        os.symlink(os.path.abspath(shared), os.path.join(work, "shared"))
    scale_suites(copy)
    return copy


def fresh_env(copy):
    keep = ("HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TERM", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    env["PWD"] = copy
    return env


def shell_script(page, cmds, subs, log):
    """One bash session: each command echoed, run, and checked; the first failure exits 3
    after naming it."""
    out = ["cd %s || exit 3" % shlex.quote(os.path.dirname(log)),
           "cd moebench || exit 3",
           "set -o pipefail"]
    counts = {"run": 0, "substituted": 0, "excluded": 0}
    for line, cmd in cmds:
        where = "%s:%d" % (page, line)
        action, reason, run = "run", None, cmd
        flat = re.sub(r"\s+", " ", cmd.replace("\\\n", " "))  # continuations joined
        for pat, repl, why in subs:
            m = re.search(pat, flat)
            if m:
                if repl is None:
                    action, reason = "excluded", why
                else:
                    action, reason = "substituted", why
                    code, comment = split_comment(cmd)
                    run = (repl.replace("\\0", code) if "\\0" in repl else repl) + (
                        "   " + comment if comment else "")
                break
        counts[action] += 1
        if action == "excluded":
            out.append("echo %s" % shlex.quote("EXCLUDED %s: %s\n    (%s)" % (
                where, cmd.replace("\\\n", " "), reason)))
            continue
        if action == "substituted":
            out.append("echo %s" % shlex.quote("SUBSTITUTED %s: %s\n    -> %s\n    (%s)" % (
                where, cmd.replace("\\\n", " "), run.replace("\\\n", " "), reason)))
        out.append("echo %s" % shlex.quote("+ %s: %s" % (where, run.replace("\\\n", " "))))
        out.append("__moeb_s=$EPOCHREALTIME")
        out.append(run)
        out.append("__moeb_rc=$?")
        out.append('echo "  ($(awk "BEGIN {printf \\"%.1f\\", $EPOCHREALTIME - $__moeb_s}") s,'
                   ' exit $__moeb_rc)"')
        out.append('if [ $__moeb_rc -ne 0 ]; then echo %s"$__moeb_rc" >&2; exit 3; fi'
                   % shlex.quote("DOCS-FAIL %s: %s: exit " % (where, run.replace("\\\n", " "))))
    return "\n".join(out) + "\n", counts


def python_script(page, line, body, copy):
    path = os.path.join(copy, "..", "docs_%s_%d.py" % (re.sub(r"\W", "_", page), line))
    with open(path, "w") as f:
        f.write("\n".join(body) + "\n")
    return path


def run_page(page, root, copy, subs):
    text = open(os.path.join(root, page)).read()
    cmds, pys, problems = [], [], []
    for lang, start, body in blocks(text):
        if lang in RUN_LANGS:
            cmds.extend(commands(start, body))
        elif lang == "python":
            pys.append((start, body))
        elif lang == "" and COMMAND_START.match(first_command_line(body)):
            problems.append("%s:%d: a command block without a language (``` alone): mark it "
                            "```bash to have it run (and tested), or ```text if it is output: "
                            "%s" % (page, start - 1, first_command_line(body)))
    if not cmds and not pys:
        return problems, {"run": 0, "substituted": 0, "excluded": 0}
    log = os.path.join(os.path.dirname(copy), "page_%s.sh" % re.sub(r"\W", "_", page))
    script, counts = shell_script(page, cmds, subs, log)
    with open(log, "w") as f:
        f.write(script)
    print("== %s: %d commands, %d python blocks" % (page, len(cmds), len(pys)), flush=True)
    t0 = time.time()
    if cmds:
        # Own process group: a timeout (or ctest killing this driver) ends every command the
        # page started, mpirun's ranks included.
        p = subprocess.Popen(["bash", log], env=fresh_env(copy), stdout=sys.stdout,
                             stderr=subprocess.STDOUT, start_new_session=True)
        try:
            if p.wait(timeout=PAGE_TIMEOUT_S) != 0:
                problems.append("%s: a documented command failed (DOCS-FAIL above)" % page)
        except subprocess.TimeoutExpired:
            problems.append("%s: timed out after %d s (the last '+' line above is the "
                            "command)" % (page, PAGE_TIMEOUT_S))
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    for line, body in pys:
        if problems:
            break
        path = python_script(page, line, body, copy)
        env = fresh_env(copy)
        env["PYTHONPATH"] = os.path.join(copy, "python")
        print("+ %s:%d: python block (/usr/bin/python3, PYTHONPATH=python)" % (page, line),
              flush=True)
        p = subprocess.run(["/usr/bin/python3", path], cwd=copy, env=env, stdout=sys.stdout,
                           stderr=subprocess.STDOUT, timeout=PAGE_TIMEOUT_S)
        counts["run"] += 1
        if p.returncode != 0:
            problems.append("%s:%d: the python block failed (exit %d)" % (page, line,
                                                                          p.returncode))
    print("   %s: %.0f s" % (page, time.time() - t0), flush=True)
    return problems, counts


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # ctest's timeout: clean up pages
    args = sys.argv[1:]
    only = None
    if "--only" in args:
        i = args.index("--only")
        only = args[i + 1]
        del args[i:i + 2]
    listing = "--list" in args
    args = [a for a in args if a != "--list"]
    if len(args) != 3:
        sys.stderr.write(__doc__)
        return 2
    root, build, work = (os.path.abspath(a) for a in args)
    if not os.path.exists(os.path.join(build, "bin", "moebench")):
        sys.stderr.write("FAIL: %s/bin/moebench not built\n" % build)
        return 2
    all_pages = pages(root)
    if listing:
        for page in all_pages:
            for lang, start, body in blocks(open(os.path.join(root, page)).read()):
                if lang in RUN_LANGS or lang == "python":
                    print("%s:%d [%s] %s" % (page, start, lang, first_command_line(body)))
        return 0
    copy = make_copy(root, build, work)
    subs = substitutions(copy)
    t0 = time.time()
    problems, total = [], {"run": 0, "substituted": 0, "excluded": 0}
    for page in all_pages:
        if only and page != only:
            continue
        p, counts = run_page(page, root, copy, subs)
        problems.extend(p)
        for k in total:
            total[k] += counts[k]
    print("\ncommands: %d as written, %d substituted, %d excluded (reasons above); %.0f s"
          % (total["run"], total["substituted"], total["excluded"], time.time() - t0))
    if problems:
        print("\nFAIL:\n  " + "\n  ".join(problems))
        return 1
    print("PASS: every documented command ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
