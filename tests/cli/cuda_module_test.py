#!/usr/bin/env python3
"""The CUDA backend is a module that moebench loads only for a run on backend cuda
(src/runtime/cuda/cuda_module.hpp), so every other command and every CPU run starts without the
CUDA runtime, cuBLAS and NCCL (about 220 MB resident and 0.2 s a process with CUDA 13).

  cuda_module_test.py MOEBENCH CASE WORKDIR

  executable_links_no_cuda  moebench's NEEDED entries name no CUDA, cuBLAS or NCCL library
  backend_cuda              a one-rank run on backend cuda loads the module (every symbol it
                            takes from moebench resolved: RTLD_NOW) and, with no GPU, ends with
                            one line, "no CUDA device visible: ..." (exit 2, no file); a build
                            without the module says it was built without the CUDA backend;
                            skipped (77) where a GPU is visible
  module_not_found          MOEB_CUDA_MODULE naming a missing file: one line naming it
  module_foreign            MOEB_CUDA_MODULE naming another shared library: one line saying it
                            is not this moebench's module
"""
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CUDA_LIBS = re.compile(r"lib(cudart|cublas|cublasLt|nccl|cuda)\.so")


def one_rank_suite(work):
    with open(os.path.join(ROOT, "suites", "quickstart.toml")) as f:
        t = f.read()
    for key, value in [("nodes", "1"), ("ranks_per_node", "1"), ("tokens", "1024"),
                       ("batch_tokens", "256"), ("iterations", "2"), ("warmup", "1")]:
        t = re.sub(rf"^{key} = .*$", f"{key} = {value}", t, flags=re.M)
    path = os.path.join(work, "one.toml")
    with open(path, "w") as f:
        f.write(t)
    return path


def run_cuda(mb, work, module=None):
    env = dict(os.environ)
    env.pop("MOEB_CUDA_MODULE", None)
    if module is not None:
        env["MOEB_CUDA_MODULE"] = module
    out = os.path.join(work, "r.h5")
    r = subprocess.run([mb, "run", one_rank_suite(work), "--backend", "cuda", "-o", out],
                       cwd=work, env=env, capture_output=True, text=True, timeout=300)
    lines = [l for l in r.stderr.splitlines() if l.startswith("moebench: error:")]
    return r, lines, out


def expect_one_line(r, lines, out, pattern):
    assert r.returncode == 2, f"exit {r.returncode}, expected 2:\n{r.stdout}\n{r.stderr}"
    assert len(lines) == 1, f"{len(lines)} error lines, expected one:\n{r.stderr}"
    assert re.search(pattern, lines[0]), f"expected /{pattern}/ in: {lines[0]}"
    assert not os.path.exists(out) and not os.path.exists(out + ".tmp"), "a file was left"
    print(lines[0])


def module_built(mb):
    return os.path.exists(os.path.join(os.path.dirname(mb), "libmoebench_cuda.so"))


def expect_module_error(mb, work, module, pattern):
    """A cuda run with MOEB_CUDA_MODULE=module: one line matching pattern (a build without the
    module says so before it looks at MOEB_CUDA_MODULE)."""
    r, lines, out = run_cuda(mb, work, module)
    expect_one_line(r, lines, out,
                    pattern if module_built(mb) else r"built without the CUDA backend")


def executable_links_no_cuda(mb, work):
    d = subprocess.run(["readelf", "-d", mb], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", d)
    cuda = [n for n in needed if CUDA_LIBS.search(n)]
    assert needed and not cuda, f"moebench links {cuda} at load time (NEEDED: {needed})"
    print(f"NEEDED: {', '.join(needed)}")
    return 0


def backend_cuda(mb, work):
    r, lines, out = run_cuda(mb, work)
    if r.returncode == 0:
        print("skipped: a CUDA device is visible, the run succeeded")
        return 77
    if module_built(mb):
        expect_one_line(r, lines, out, r"^moebench: error: no CUDA device visible: ")
    else:
        expect_one_line(r, lines, out, r"built without the CUDA backend")
    return 0


def module_not_found(mb, work):
    missing = os.path.join(work, "nowhere", "libmoebench_cuda.so")
    expect_module_error(mb, work, missing, re.escape(missing) + r".*MOEB_CUDA_MODULE")
    return 0


def module_foreign(mb, work):
    ldd = subprocess.run(["ldd", mb], capture_output=True, text=True, check=True).stdout
    other = re.search(r"=> (\S*libm\.so\.\d+)", ldd).group(1)
    expect_module_error(mb, work, other, re.escape(other) + r" is not the CUDA backend module")
    return 0


CASES = {f.__name__: f for f in (executable_links_no_cuda, backend_cuda, module_not_found,
                                  module_foreign)}


def main():
    mb, case, work = os.path.abspath(sys.argv[1]), sys.argv[2], os.path.abspath(sys.argv[3])
    work = os.path.join(work, case)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    return CASES[case](mb, work)


if __name__ == "__main__":
    sys.exit(main())
