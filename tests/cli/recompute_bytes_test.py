#!/usr/bin/env python3
"""Independent recomputation of a run's byte counts from METRICS.md (label mpi).

  recompute_bytes_test.py MOEBENCH WORKDIR

Generates a routing trace, replays it with `moebench run` on 4 ranks declared as 2 virtual nodes
x 2 (baseline and round_robin: placements without replicas, so routing needs no random draw),
then recomputes in numpy, from the trace file and the definitions alone, what every rank must
have sent and received in every measured iteration and layer:
  - rank r owns tokens [floor(r T / R), floor((r+1) T / R)) of the batch;
  - baseline puts expert e on rank floor(e R / E), round_robin on e mod R;
  - a token goes once to each distinct destination rank (dedup); sending to oneself is 0 bytes;
  - one copy is hidden x 4 bytes (fp32 on the CPU backend); intra/inter by the node map;
  - combine mirrors dispatch; rows_computed counts (token, expert) pairs per serving rank.
It shares no code with the C++ evaluator or runtime.
"""
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
R, NODES, B, HIDDEN, LAYERS, TOKENS = 4, 2, 300, 64, 3, 1500

SUITE = f"""
[suite]
name = "recompute"
seed = 7
[model]
preset = "mixtral-8x7b"
hidden = {HIDDEN}
ffn_hidden = 128
layers = {LAYERS}
[topology]
nodes = {NODES}
ranks_per_node = {R // NODES}
[workload]
kind = "trace"
traces = ["TRACE"]
split = "trace"
calibration_trace = "CALIB"
order = "by_request"
batch_tokens = {B}
[placement]
strategies = ["baseline", "round_robin"]
[run]
warmup = 1
iterations = 6
[check]
samples_per_rank = 2
"""


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def expected(experts, batch, dest_of_expert, node):
    """Per-rank counts of one layer of one batch, from the definitions."""
    T = len(batch)
    ids = experts[batch]                      # [T, k]
    dest = dest_of_expert[ids]                # [T, k]
    owner = np.searchsorted([(r * T) // R for r in range(1, R)], np.arange(T), side="right")
    rows = np.zeros((R, R), dtype=np.int64)   # distinct (token, destination) copies
    for t in range(T):
        for d in set(dest[t].tolist()):
            rows[owner[t], d] += 1
    same = node[:, None] == node[None, :]
    off = ~np.eye(R, dtype=bool)
    row_bytes = HIDDEN * 4
    out = {
        "tokens_owned": np.bincount(owner, minlength=R),
        "rows_computed": np.bincount(dest.ravel(), minlength=R),
        "bytes_sent_intra": (rows * (same & off)).sum(1) * row_bytes,
        "bytes_sent_inter": (rows * ~same).sum(1) * row_bytes,
        "bytes_recv_intra": (rows * (same & off)).sum(0) * row_bytes,
        "bytes_recv_inter": (rows * ~same).sum(0) * row_bytes,
    }
    # Combine: each rank returns what it received, so its sends mirror its dispatch receives.
    out["bytes_sent_intra_combine"] = out["bytes_recv_intra"]
    out["bytes_sent_inter_combine"] = out["bytes_recv_inter"]
    out["bytes_recv_intra_combine"] = out["bytes_sent_intra"]
    out["bytes_recv_inter_combine"] = out["bytes_sent_inter"]
    return out


def main():
    moebench, work = sys.argv[1], os.path.join(sys.argv[2], "recompute")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    trace = os.path.join(work, "trace.h5")
    calib = os.path.join(work, "calib.h5")
    # A separate calibration trace, so that the evaluation part is the whole replayed trace.
    for path, seed in ((trace, "3"), (calib, "4")):
        run([moebench, "trace", "generate", "-o", path, "--model", "mixtral-8x7b", "--layers",
             str(LAYERS), "--tokens", str(TOKENS), "--distribution", "families", "--seed", seed])
    suite = os.path.join(work, "recompute.toml")
    with open(suite, "w") as f:
        f.write(SUITE.replace("TRACE", trace).replace("CALIB", calib))
    out = os.path.join(work, "run.h5")
    cmd = ["mpirun", "-np", str(R), "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    env = dict(os.environ, OMPI_MCA_btl_tcp_if_include="lo", OMPI_MCA_oob_tcp_if_include="lo",
               OPENBLAS_NUM_THREADS="1")
    run(cmd + [moebench, "run", suite, "-o", out], cwd=work, env=env)

    with h5py.File(trace, "r") as f:
        experts = f["routing/experts"][()].astype(np.int64)   # [L, T, k]
        req = f["tokens/request_id"][()]
        pos = f["tokens/position"][()]
    E = 8
    # by_request order: requests in order of first appearance, positions ascending.
    first = {}
    for i, q in enumerate(req):
        first.setdefault(int(q), i)
    order = sorted(range(len(req)), key=lambda i: (first[int(req[i])], int(pos[i])))
    order = np.array(order)
    node = np.array([r // (R // NODES) for r in range(R)])
    dest_formula = {"baseline": np.array([e * R // E for e in range(E)]),
                    "round_robin": np.array([e % R for e in range(E)])}
    checked = 0
    with h5py.File(out, "r") as f:
        assert int(f.attrs["dispatch_row_bytes"]) == HIDDEN * 4
        assert list(f["provenance/rank_node"][()]) == list(node)
        for name, dest_of_expert in dest_formula.items():
            g = f["strategies"][name]
            assert g.attrs["status"] == "complete", name
            reps = g["placement/replicas"][()]
            for l in range(LAYERS):
                assert list(reps[l, :, 0]) == list(dest_of_expert), f"{name} placement differs"
            m = g["measured"]
            for i, b in enumerate(m["batch_index"][()]):
                batch = order[b * B:(b + 1) * B]
                assert m["batch_tokens"][i] == len(batch)
                for l in range(LAYERS):
                    want = expected(experts[l], batch, dest_of_expert, node)
                    for ds, v in want.items():
                        got = m[ds][i, l, :]
                        assert (got == v).all(), f"{name} iteration {i} layer {l} {ds}: {got} != {v}"
                        checked += 1
    print(f"{checked} (iteration, layer, dataset) rows of 4 ranks agree with the definitions")


if __name__ == "__main__":
    main()
