#!/usr/bin/env python3
"""Checks on moebench results files for the Slurm tests (h5py). One subcommand per question:

  attr FILE NAME             print a root attribute (exit 1 when absent)
  strategies FILE            print "name status" per strategy, in the file's order
  counts-equal A B           exit 0 when both files hold the same strategies with identical
                             count datasets (tokens, rows, every byte counter) and rows_matrix
  note FILE STRATEGY KEY     print a note of a strategy (/strategies/S/notes attribute)
  fingerprint FILE NAME      sha256 of the strategy's measured datasets (timings included): a
                             strategy that was run again never has the same fingerprint
"""
import hashlib
import sys

import h5py
import numpy as np


def text(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray) and v.shape == ():
        return text(v[()])
    return str(v)


def order(f):
    if "strategies" not in f:
        return []
    g = f["strategies"]
    if "order" in g.attrs:
        return [text(x) for x in g.attrs["order"]]
    return sorted(g.keys())


def cmd_attr(path, name):
    with h5py.File(path, "r") as f:
        if name not in f.attrs:
            print(f"{path}: no root attribute {name}", file=sys.stderr)
            return 1
        print(text(f.attrs[name]))
    return 0


def cmd_strategies(path):
    with h5py.File(path, "r") as f:
        for name in order(f):
            print(name, text(f["strategies"][name].attrs.get("status", "?")))
    return 0


COUNTS = ["tokens_owned", "rows_computed", "bytes_sent_intra", "bytes_sent_inter",
          "bytes_recv_intra", "bytes_recv_inter", "bytes_sent_intra_combine",
          "bytes_sent_inter_combine", "bytes_recv_intra_combine", "bytes_recv_inter_combine",
          "rows_matrix", "batch_index", "batch_tokens"]


def cmd_counts_equal(a, b):
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        sa, sb = order(fa), order(fb)
        if sa != sb:
            print(f"strategies differ: {a}: {sa}, {b}: {sb}", file=sys.stderr)
            return 1
        if not sa:
            print(f"{a}: no strategies", file=sys.stderr)
            return 1
        compared = 0
        for s in sa:
            ga, gb = fa["strategies"][s], fb["strategies"][s]
            if "measured" not in ga or "measured" not in gb:
                print(f"{s}: no measured group", file=sys.stderr)
                return 1
            for name in COUNTS:
                in_a, in_b = name in ga["measured"], name in gb["measured"]
                if in_a != in_b:
                    print(f"{s}/measured/{name}: present in only one file", file=sys.stderr)
                    return 1
                if not in_a:
                    continue
                x, y = ga["measured"][name][()], gb["measured"][name][()]
                if x.shape != y.shape or not np.array_equal(x, y):
                    print(f"{s}/measured/{name}: differs (shapes {x.shape} vs {y.shape}, "
                          f"sums {x.sum()} vs {y.sum()})", file=sys.stderr)
                    return 1
                compared += 1
        inter = sum(int(fa["strategies"][s]["measured"]["bytes_sent_inter"][()].sum()) for s in sa)
        intra = sum(int(fa["strategies"][s]["measured"]["bytes_sent_intra"][()].sum()) for s in sa)
        if inter <= 0 or intra <= 0:
            print(f"{a}: intra ({intra}) and inter-node ({inter}) bytes should both be > 0 on 2x2 "
                  "ranks: the comparison would be vacuous", file=sys.stderr)
            return 1
        print(f"{len(sa)} strategies, {compared} count datasets identical "
              f"(dispatch bytes sent: {intra} intra-node, {inter} inter-node)")
    return 0


def cmd_note(path, strategy, key):
    with h5py.File(path, "r") as f:
        g = f["strategies"][strategy]
        if "notes" not in g or key not in g["notes"].attrs:
            print(f"{path}: /strategies/{strategy}/notes has no {key}", file=sys.stderr)
            return 1
        print(text(g["notes"].attrs[key]))
    return 0


def cmd_fingerprint(path, name):
    h = hashlib.sha256()
    with h5py.File(path, "r") as f:
        g = f["strategies"][name]["measured"]
        for key in sorted(g.keys()):
            h.update(key.encode())
            h.update(np.ascontiguousarray(g[key][()]).tobytes())
    print(h.hexdigest())
    return 0


def main(argv):
    cmds = {"attr": (cmd_attr, 2), "strategies": (cmd_strategies, 1),
            "counts-equal": (cmd_counts_equal, 2), "fingerprint": (cmd_fingerprint, 2),
            "note": (cmd_note, 3)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    return cmds[argv[1]][0](*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
