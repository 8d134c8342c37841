"""The extension is built once for the stable ABI (abi3) and loads on every CPython from
3.9 on: one wheel per platform instead of one per Python version. These tests fail if a
build drops back to a version-specific extension, or if the abi3 floor and the
package's `requires-python` drift apart."""

import os
import re
import sys

import ferrograd
import ferrograd._core as core

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# The version the abi3 feature targets: the package's oldest supported Python.
ABI3_FLOOR = (3, 9)


def test_the_loaded_extension_is_an_abi3_build():
    name = os.path.basename(core.__file__)
    if sys.platform == "win32":
        # Windows spells a stable-ABI module plain `.pyd`; a version-specific one carries
        # a tag such as `.cp311-win_amd64.pyd`.
        assert name == "_core.pyd", name
    else:
        # A version-specific build would be `_core.cpython-311-x86_64-linux-gnu.so`;
        # the import system prefers such a file, so a stale one would also show here.
        assert name == "_core.abi3.so", name
    assert os.path.dirname(core.__file__) == os.path.dirname(ferrograd.__file__)


def _read(name):
    with open(os.path.join(ROOT, name), encoding="utf-8") as f:
        return f.read()


def test_the_python_feature_turns_on_pyo3_abi3_at_the_floor():
    features = re.search(r"^\[features\]\n(.*?)^\[", _read("Cargo.toml"), re.S | re.M)
    assert features, "Cargo.toml has no [features] table"
    python = re.search(r'^python\s*=\s*\[(.*?)\]', features.group(1), re.M)
    assert python, "Cargo.toml has no `python` feature"
    floor = "abi3-py%d%d" % ABI3_FLOOR
    assert f'"pyo3/{floor}"' in python.group(1), python.group(0)
    # The pure-Rust crate stays free of pyo3: only the python feature pulls it in.
    assert not re.search(r'^default\s*=.*python', features.group(1), re.M)


def test_requires_python_matches_the_abi3_floor():
    req = re.search(r'^requires-python\s*=\s*"([^"]*)"', _read("pyproject.toml"), re.M)
    assert req, "pyproject.toml has no requires-python"
    assert req.group(1) == ">=%d.%d" % ABI3_FLOOR, req.group(1)
    # pyproject builds the extension through the python feature that carries abi3.
    maturin = re.search(r"^\[tool\.maturin\]\n(.*?)(^\[|\Z)", _read("pyproject.toml"), re.S | re.M)
    assert maturin and re.search(r'^features\s*=\s*\[[^\]]*"python"', maturin.group(1), re.M)
