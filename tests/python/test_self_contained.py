"""The project documents itself: nothing in its code or docs points to a design file or
a folder outside its own tree (issue 10 item 9)."""

import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHECKED = ["src", "python", "tests", "benches", "examples", "docs", "scripts", ".ci"]
FILES = ["README.md", "Makefile", "Cargo.toml", "pyproject.toml"]
TEXT = (".rs", ".py", ".md", ".toml", ".wgsl", ".sh", ".txt", "")
# Spelled in pieces so this file does not match itself.
FORBIDDEN = ["DESIGN" + ".md", ".." + "/shared", "/work/" + "shared"]


def _files():
    for name in FILES:
        yield os.path.join(ROOT, name)
    for top in CHECKED:
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
            dirnames[:] = [d for d in dirnames if not d.startswith((".", "__pycache__"))]
            for f in filenames:
                if os.path.splitext(f)[1] in TEXT:
                    yield os.path.join(dirpath, f)


def test_no_pointers_outside_the_tree():
    seen, hits = 0, []
    for path in _files():
        if not os.path.isfile(path):
            continue
        seen += 1
        with open(path, encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                hits += [f"{os.path.relpath(path, ROOT)}:{lineno}: {w}" for w in FORBIDDEN if w in line]
    assert seen > 100, f"only {seen} files found under {ROOT}"
    assert not hits, "pointers outside the project:\n" + "\n".join(hits)
