"""The seed lab (``ferrograd lab``, ``fg.lab``): the registry, the command line, and
``ferrograd lab all --quick`` with every experiment's JSON and PNG checked.

The quick run of all experiments happens once per session (the ``quick_all`` fixture,
run through the command line exactly as a user would); it takes about 40 s on 2 cores
for the 8 experiments of LAB1 and is the lab's CI check.
"""

import json
import math
import subprocess
import sys
import types

import pytest

import ferrograd as fg
from ferrograd.cli import main
from ferrograd.lab import _registry
from ferrograd.lab._report import check_result, to_json_value

ISSUE_ORDER = [
    "init-variance", "init-persists", "layernorm-erases-norms", "norm-robustness",
    "bn-train-vs-eval", "bn-test-time-adapt", "bn-batch-size", "prenorm-vs-postnorm",
    "weight-decay", "capacity-and-bias-variance", "early-stopping", "double-descent",
    "dropout", "label-smoothing", "edge-of-stability", "bagging",
]
AVAILABLE = [name for name, module, _ in _registry.available() if module is not None]
NOTES = {"000", "001", "002", "003", "004"}  # the lecture notes the library was built from
RECORD_FIELDS = ("name", "seed", "description", "runtime_s", "quick", "device", "versions",
                 "settings", "measurements", "claims", "notes")
CLAIM_FIELDS = ("claim", "seed", "quantity", "measured", "criterion", "verdict")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _strict_json(path):
    """The JSON at ``path``, refusing NaN/Infinity literals (strict JSON)."""
    def no_constants(name):
        raise ValueError(f"{path} holds the non-JSON constant {name}")

    with open(path, encoding="utf-8") as f:
        return json.load(f, parse_constant=no_constants)


@pytest.fixture(scope="module")
def quick_all(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab")
    from contextlib import redirect_stdout
    import io

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = main(["lab", "all", "--quick", "--out", str(out), "--no-progress"])
    return code, buffer.getvalue(), out


def test_registry_lists_all_sixteen_in_the_issues_order():
    assert _registry.names() == ISSUE_ORDER
    assert fg.lab.names() == ISSUE_ORDER
    # The first eight (LAB1's) ship with this package.
    assert set(ISSUE_ORDER[:8]) <= set(AVAILABLE)


def test_every_available_module_defines_the_contract():
    for name in AVAILABLE:
        module = _registry.load(name)
        assert module.NAME == name
        assert module.DESCRIPTION and "\n" not in module.DESCRIPTION
        assert {s.strip() for s in module.SEED.split(",")} <= NOTES, module.SEED
        assert callable(module.run) and callable(module.plot)


def test_listing_shows_every_experiment(capsys):
    assert main(["lab"]) == 0
    out = capsys.readouterr().out
    for name in ISSUE_ORDER:
        assert f"  {name} " in out
    for name in AVAILABLE:
        line = next(l for l in out.splitlines() if l.startswith(f"  {name} "))
        assert f"seed {_registry.load(name).SEED}" in line


def test_python_dash_m_lists_the_experiments():
    result = subprocess.run([sys.executable, "-m", "ferrograd", "lab"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "init-variance" in result.stdout and "bagging" in result.stdout


def test_unknown_name_is_one_error_line(capsys):
    assert main(["lab", "no-such-experiment"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ferrograd: error: unknown experiment 'no-such-experiment'")
    assert "init-variance" in err and err.count("\n") == 1
    with pytest.raises(ValueError, match="unknown experiment"):
        fg.lab.run("no-such-experiment", out=None)


@pytest.mark.parametrize("args, message", [
    (["lab", "init-variance", "--seed", "-1"], "must be an integer in [0, 2**32)"),
    (["lab", "init-variance", "--device", "tpu"], "invalid choice"),
])
def test_bad_options_exit_2(capsys, args, message):
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_python_arguments():
    with pytest.raises(ValueError, match="device must be 'cpu' or 'wgpu'"):
        fg.lab.run("init-variance", device="tpu", out=None)
    with pytest.raises(ValueError, match="seed must be an integer"):
        fg.lab.Context(seed=-3)
    ctx = fg.lab.Context(seed=1, progress=False)
    with pytest.raises(ValueError, match="n_train must be in"):
        ctx.mnist(0, 10)
    with pytest.raises(ValueError, match="n_test must be in"):
        ctx.mnist(10, 10**6)


def test_context_mnist_is_deterministic_and_flat():
    a = fg.lab.Context(seed=5, progress=False).mnist(50, 20)
    b = fg.lab.Context(seed=5, progress=False).mnist(50, 20)
    c = fg.lab.Context(seed=6, progress=False).mnist(50, 20)
    assert a[0].shape == (50, 784) and a[2].shape == (20, 784)
    assert a[0].dtype == fg.float32 and a[1].dtype == fg.int64
    x = a[0].numpy()
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.5
    for u, v in zip(a, b):
        assert (u.numpy() == v.numpy()).all()
    assert not (a[1].numpy() == c[1].numpy()).all() or not (a[0].numpy() == c[0].numpy()).all()


def _fake_experiment(monkeypatch, name, run):
    """Registers a throwaway experiment module ``name`` (for the framework's own checks)."""
    key = name.replace("-", "_")
    module = types.ModuleType(f"ferrograd.lab.{key}")
    module.NAME, module.SEED, module.DESCRIPTION = name, "000", "a test double"
    module.run = run
    module.plot = lambda result, fig: fig.subplots().plot([0, 1], label="x")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(_registry, "MODULES", _registry.MODULES + (key,))
    return module


def test_a_listed_but_missing_module_is_not_available(monkeypatch):
    monkeypatch.setattr(_registry, "MODULES", _registry.MODULES + ("not_written_yet",))
    with pytest.raises(RuntimeError, match="not available.*not written yet"):
        fg.lab.run("not-written-yet", out=None)
    rows = {name: reason for name, module, reason in _registry.available()}
    assert "not written yet" in rows["not-written-yet"]


def test_a_malformed_result_is_refused(monkeypatch):
    claim = {"claim": "c", "seed": "000", "quantity": "q", "measured": 1.0,
             "criterion": "r", "verdict": "probably"}
    _fake_experiment(monkeypatch, "fake-bad", lambda ctx: {
        "settings": {}, "measurements": {}, "claims": [claim]})
    with pytest.raises(RuntimeError, match="verdict 'probably'"):
        fg.lab.run("fake-bad", out=None, echo=None)
    with pytest.raises(RuntimeError, match="no 'claims' entry"):
        check_result("x", {"settings": {}, "measurements": {}})
    with pytest.raises(RuntimeError, match="non-empty list"):
        check_result("x", {"settings": {}, "measurements": {}, "claims": []})


def test_all_continues_past_a_failing_experiment(monkeypatch, tmp_path):
    def boom(ctx):
        raise RuntimeError("exploded on purpose")

    def fine(ctx):
        value = float(ctx.seed)
        return {"settings": {"seed": ctx.seed}, "measurements": {"nan": float("nan")},
                "claims": [{"claim": "c", "seed": "000", "quantity": "q", "measured": value,
                            "criterion": "value >= 0", "verdict": "reproduced"
                            if value >= 0 else "not reproduced"}]}

    _fake_experiment(monkeypatch, "fake-boom", boom)
    _fake_experiment(monkeypatch, "fake-fine", fine)
    monkeypatch.setattr(_registry, "MODULES", ("fake_boom", "not_there", "fake_fine"))
    records, problems = fg.lab.run_all(out=str(tmp_path), seed=3, progress=False, echo=None)
    assert [r["name"] for r in records] == ["fake-fine"]
    assert [p[0] for p in problems] == ["fake-boom", "not-there"]
    assert "exploded on purpose" in problems[0][1] and "not available" in problems[1][1]
    data = _strict_json(tmp_path / "fake-fine.json")
    assert data["measurements"]["nan"] == "NaN" and data["run_seed"] == 3
    assert (tmp_path / "fake-fine.png").read_bytes()[:8] == PNG_MAGIC
    assert main(["lab", "all", "--out", str(tmp_path), "--no-progress"]) == 1


def test_json_values_are_strict_json():
    import numpy as np

    value = to_json_value({"a": np.float32(1.5), "b": [np.int64(2), float("inf")],
                           "c": np.array([[1, 2]]), "d": fg.tensor([0.5, -1.0]),
                           "e": float("-inf"), "f": np.bool_(True), "g": None})
    assert value == {"a": 1.5, "b": [2, "Infinity"], "c": [[1, 2]], "d": [0.5, -1.0],
                     "e": "-Infinity", "f": True, "g": None}
    with pytest.raises(TypeError, match="cannot write a object"):
        to_json_value(object())


def test_quick_all_exits_0_and_prints_the_verdicts(quick_all):
    code, out, _ = quick_all
    assert code == 0, out
    for name in AVAILABLE:
        assert f"{name} (seed " in out
    assert out.count("REPRODUCED") >= len(AVAILABLE)  # includes NOT REPRODUCED lines
    assert f"ran {len(AVAILABLE)} experiments" in out


@pytest.mark.parametrize("name", AVAILABLE)
def test_quick_run_writes_json_and_png(quick_all, name):
    _, _, out = quick_all
    record = _strict_json(out / f"{name}.json")
    for field in RECORD_FIELDS:
        assert field in record, field
    module = _registry.load(name)
    assert record["name"] == name and record["seed"] == module.SEED
    assert record["quick"] is True and record["device"] == "cpu"
    # The issue's budget is ~20 s per quick experiment; 3x slack for a loaded CI machine.
    assert 0 < record["runtime_s"] < 60
    assert record["settings"] and record["measurements"]
    assert record["claims"]
    for claim in record["claims"]:
        for field in CLAIM_FIELDS:
            assert field in claim, (name, field)
        assert claim["verdict"] in ("reproduced", "not reproduced")
        assert {s.strip() for s in claim["seed"].split(",")} <= NOTES
        assert claim["claim"] and claim["criterion"] and claim["quantity"]
    assert isinstance(record["notes"], str)
    png = (out / f"{name}.png").read_bytes()
    assert png[:8] == PNG_MAGIC and len(png) > 10_000


def test_same_seed_same_measurements(tmp_path):
    a = fg.lab.run("layernorm-erases-norms", quick=True, out=None, seed=7, progress=False,
                   echo=None)
    b = fg.lab.run("layernorm-erases-norms", quick=True, out=None, seed=7, progress=False,
                   echo=None)
    assert to_json_value(a["measurements"]) == to_json_value(b["measurements"])
    assert a["run_seed"] == 7 and [c["verdict"] for c in a["claims"]] == \
        [c["verdict"] for c in b["claims"]]
    assert math.isfinite(a["runtime_s"])
