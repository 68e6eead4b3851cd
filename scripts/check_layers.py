#!/usr/bin/env python3
"""Checks that #include lines follow the layer order of docs/ARCHITECTURE.md.

Usage: check_layers.py [REPO]   (default: the repository this script is in)

The layer order is read from the first code block under "## Layers" in docs/ARCHITECTURE.md:
each line whose first word names a folder of src/ (or `kernels`) is the next layer down. A file
in folder X may include headers of X and of the layers above X, never of a layer below it, so
that no include cycle between folders can exist. Subfolders belong to their top folder
(src/runtime/cuda is runtime; kernels/cpu and kernels/cuda are kernels). Includes that name no
layer folder (system and generated headers) are ignored. Every folder of src/ must be in the
picture. Exit status 1 with one line per offending include, 0 otherwise.
"""
import os
import re
import sys

EXTENSIONS = (".cpp", ".hpp", ".cu", ".cuh", ".h", ".cc")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
# Include roots that name a kernels subfolder without the kernels/ prefix (kernels/ is on the path).
KERNEL_ROOTS = ("cpu", "cuda")


def layer_order(repo):
    """The layers from docs/ARCHITECTURE.md's layer picture, top (most basic) first."""
    path = os.path.join(repo, "docs", "ARCHITECTURE.md")
    text = open(path, encoding="utf-8").read()
    m = re.search(r"^## Layers.*?^```[^\n]*\n(.*?)^```", text, re.M | re.S)
    if not m:
        sys.exit(f"{path}: no code block under '## Layers' (expected the layer picture)")
    folders = set(os.listdir(os.path.join(repo, "src"))) | {"kernels"}
    order = []
    for line in m.group(1).splitlines():
        words = line.split()
        if words and words[0] in folders and words[0] not in order:
            order.append(words[0])
    return order


def folder_of(rel):
    """Layer folder of a repository-relative path (src/<x>/... or kernels/...)."""
    parts = rel.split("/")
    if parts[0] == "kernels":
        return "kernels"
    if parts[0] == "src" and len(parts) > 2:
        return parts[1]
    return None


def included_folder(name, layers):
    """Layer folder named by an #include "..." path, or None (system or generated header)."""
    first = name.split("/")[0]
    if first == "kernels" or (first in KERNEL_ROOTS and "/" in name):
        return "kernels"
    return first if first in layers and "/" in name else None


def main():
    repo = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    order = layer_order(repo)
    rank = {name: i for i, name in enumerate(order)}
    bad = []
    for d in sorted(os.listdir(os.path.join(repo, "src"))):
        if os.path.isdir(os.path.join(repo, "src", d)) and d not in rank:
            bad.append(f"src/{d}: folder not in the layer picture of docs/ARCHITECTURE.md")
    for top in ("src", "kernels"):
        for dirpath, _, files in os.walk(os.path.join(repo, top)):
            for f in sorted(files):
                if not f.endswith(EXTENSIONS):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, repo)
                src = folder_of(rel)
                if src not in rank:
                    continue
                with open(path, encoding="utf-8", errors="replace") as fh:
                    for lineno, line in enumerate(fh, 1):
                        m = INCLUDE.match(line)
                        dst = included_folder(m.group(1), rank) if m else None
                        if dst is not None and rank[dst] > rank[src]:
                            bad.append(f"{rel}:{lineno}: {src} includes \"{m.group(1)}\" of "
                                       f"{dst}, a layer below it (order: {' < '.join(order)})")
    for line in bad:
        print(line)
    if not bad:
        print(f"layers ok: {' < '.join(order)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
