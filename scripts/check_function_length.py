#!/usr/bin/env python3
"""Lists C++ functions longer than a limit (default 80 lines, signature to closing brace).

Usage: check_function_length.py [--max N] [--list] [--baseline FILE] [PATH ...]
       (default PATH: src kernels)

Exit status 1 when a function is over the limit, 0 otherwise; --list prints every function over
the limit without failing. --baseline FILE names functions known to be over the limit, one
"path:name" a line ('#' comments): they are reported but do not fail, so that the check keeps
new long functions out while the listed ones are split (delete a line once its function is). A function that is a declarative table (one initializer of rows, no
logic) is exempt when the line above its signature says so:  // function-length: table
Comments, string and character literals are blanked before braces are matched; braces of
initializers (`= {`, `T x{...}`) and of class, namespace and enum bodies are not functions.
"""
import argparse
import os
import re
import sys

EXTENSIONS = (".cpp", ".hpp", ".cu", ".cuh", ".h", ".cc")
EXEMPT_MARK = "function-length: table"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # baseline paths are relative


def blank_literals(text):
    """Replaces comments and string/char literals by spaces, keeping newlines."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not text[i - 1].isalnum()):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', i)
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():  # digit separator 1'000
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def classify(header):
    """Kind of the block a '{' opens, from the text since the previous ';', '{' or '}'."""
    h = " ".join(header.split())
    if not h or h.endswith("=") or h.endswith(",") or h.endswith("("):
        return "init"
    if re.search(r"\bnamespace\b", h) or re.match(r'^extern\s*$', h) or h.startswith("extern"):
        return "scope"
    if re.search(r"\b(enum)\b", h):
        return "init"
    if re.search(r"\b(class|struct|union)\b", h) and not re.search(r"\)\s*(const)?\s*$", h):
        if "(" not in h.split(":")[0]:
            return "scope"
    if "(" in h:
        if re.search(r"=\s*[^=]*$", h) and not re.search(r"\boperator\s*\S*=", h) \
                and not re.search(r"\)\s*(const|noexcept|override|final|mutable|->.*|\s)*$", h):
            return "init"
        if re.search(r"[A-Za-z0-9_>\]]$", h) and re.search(r"\)\s*:\s*\w", h) \
                and not re.search(r"\)\s*(const|noexcept|override|final|->.*|\s)*$", h):
            return "ctor_init"  # brace initializer of a member in a constructor's init list
        return "function"
    return "init"


def function_name(header):
    h = " ".join(header.split())
    m = re.search(r"([~\w:]+(?:\s*operator\s*[^\s(]+)?)\s*\(", h)
    return m.group(1) if m else h[:40]


def functions(path):
    raw = open(path, encoding="utf-8", errors="replace").read()
    text = blank_literals(raw)
    raw_lines = raw.split("\n")
    stack = []  # kinds of open blocks
    header, header_start = "", None
    line = 1
    fn_start = fn_name = None
    fn_depth = None
    for ch in text:
        if ch == "\n":
            line += 1
        in_function = fn_depth is not None
        if ch == "{":
            if in_function:
                stack.append("inner")
            else:
                kind = classify(header)
                if kind == "function":
                    fn_start, fn_name, fn_depth = header_start or line, function_name(header), len(stack)
                    stack.append("function")
                    header, header_start = "", None
                    continue
                stack.append(kind)
                if kind in ("scope",):
                    header, header_start = "", None
                elif kind == "ctor_init":
                    header += "{"
            continue
        if ch == "}":
            kind = stack.pop() if stack else "scope"
            if kind == "function" and fn_depth == len(stack):
                above = raw_lines[fn_start - 2] if fn_start >= 2 else ""
                yield fn_name, fn_start, line, EXEMPT_MARK in above
                fn_start = fn_name = fn_depth = None
                header, header_start = "", None
            elif not in_function:
                if kind == "ctor_init":
                    header += "}"
                else:
                    header, header_start = "", None
            continue
        if in_function:
            continue
        if ch == ";":
            header, header_start = "", None
            continue
        if ch == "#" and header.strip() == "":
            header, header_start = "", None
        if not ch.isspace() and header_start is None:
            header_start = line
        header += ch
        if ch == "\n" and header.strip().startswith("#"):
            header, header_start = "", None


def sources(paths):
    for p in paths:
        if os.path.isfile(p):
            yield p
            continue
        for root, _, files in os.walk(p):
            for f in sorted(files):
                if f.endswith(EXTENSIONS):
                    yield os.path.join(root, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max", type=int, default=80)
    ap.add_argument("--list", action="store_true", help="report without failing")
    ap.add_argument("--baseline", help="file of known long functions, path:name per line")
    ap.add_argument("paths", nargs="*", default=["src", "kernels"])
    a = ap.parse_args()
    known = set()
    if a.baseline:
        for row in open(a.baseline, encoding="utf-8"):
            row = row.split("#", 1)[0].strip()
            if row:
                known.add(row)
    long, listed = [], []
    for path in sources(a.paths):
        for name, start, end, exempt in functions(path):
            n = end - start + 1
            if n > a.max and not exempt:
                key = os.path.relpath(os.path.abspath(path), REPO) + ":" + name
                (listed if key in known else long).append((n, path, start, name))
    for n, path, start, name in sorted(listed, reverse=True):
        print(f"{path}:{start}: {name}: {n} lines (limit {a.max}; in the baseline)")
    for n, path, start, name in sorted(long, reverse=True):
        print(f"{path}:{start}: {name}: {n} lines (limit {a.max})")
    if long and not a.list:
        print(f"{len(long)} function(s) over {a.max} lines; split them, or mark a declarative "
              f"table with '// {EXEMPT_MARK}' above its signature", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
