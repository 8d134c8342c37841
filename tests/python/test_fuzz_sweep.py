"""The fuzz sweep as a standing test (docs/fuzzing.md).

Each op family runs in its own process (fuzz_runner.py): hypothesis draws cases over op
x dtype pair x layout (contiguous, transposed, sliced with an offset, flipped, broadcast,
zero-size) x device (cpu, and wgpu where an adapter exists), and every call must match
NumPy (wgpu: the CPU result) or raise a documented exception, never an InternalError. A
crash fails only its family's test, naming the case that crashed; a mismatch prints the
shrunk falsifying case, which `fuzz_runner.py --replay "<case>"` runs again.

The example counts are fixed and derandomized, so CI runs the same cases every time;
FG_FUZZ_EXAMPLES=20 (for example) scales them for a long run.
"""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import ferrograd as fg
from fuzz_runner import FAMILIES

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "fuzz_runner.py")


def run_runner(args, tmp_path, timeout=300):
    trace = tmp_path / "last_case.txt"
    env = dict(os.environ, FG_FUZZ_TRACE=str(trace))
    p = subprocess.run([sys.executable, RUNNER, *args], capture_output=True, text=True, timeout=timeout, env=env)
    return p, trace


def describe(p, trace):
    out = (p.stdout + p.stderr)[-6000:]
    if p.returncode < 0:
        sig = signal.Signals(-p.returncode).name
        last = trace.read_text() if trace.exists() else "(none)"
        return f"the sweep process died of {sig}; the case it was running:\n{last}\n--- output ---\n{out}"
    return out


@pytest.mark.parametrize("family", list(FAMILIES))
def test_fuzz_family(family, tmp_path):
    p, trace = run_runner([family], tmp_path)
    assert p.returncode == 0, describe(p, trace)
    assert f"{family}: " in p.stdout and "examples" in p.stdout, p.stdout


# ---------------------------------------------------------------------------
# the harness itself: it must see a mismatch and a crash
# ---------------------------------------------------------------------------


def test_runner_reports_a_mismatch_with_its_case(tmp_path):
    # The selftest family fails for n > 5: the runner must exit 1 and print the
    # shrunk case (n=6), which --replay runs again.
    p, _ = run_runner(["selftest"], tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    out = p.stdout + p.stderr
    assert ("Falsifying example" in out or "Failing test case" in out) and "'n': 6" in out and "selftest mismatch at n=6" in out, out
    case = "{'family': 'unary', 'op': 'exp', 'dtype': 'float32', 'layout': 'flipped', 'shape': (2, 3), 'specials': False, 'seed': 1, 'device': 'cpu'}"
    p, _ = run_runner(["--replay", case], tmp_path)
    assert p.returncode == 0 and "passed" in p.stdout, p.stdout + p.stderr


def test_check_rejects_wrong_values_dtypes_and_internal_errors():
    from fuzz_support import SweepFailure, check

    with pytest.raises(SweepFailure, match="values differ"):
        check(lambda: fg.tensor([1.0, 2.0]), lambda: np.array([1.0, 2.5], np.float32))
    with pytest.raises(SweepFailure, match="dtype"):
        check(lambda: fg.tensor([1.0]), lambda: np.array([1.0]))
    with pytest.raises(SweepFailure, match="where the reference gives a result"):
        check(lambda: fg.zeros((2,)) + fg.zeros((3,)), lambda: np.zeros(2, np.float32))
    # A shape error on both sides is a clean refusal.
    check(lambda: fg.zeros((2,)) + fg.zeros((3,)), lambda: np.zeros(2) + np.zeros(3))


def test_subprocess_isolation_reports_a_crash(tmp_path):
    # A stand-in for a segfaulting kernel: the child aborts, the parent reports it.
    code = "import os, sys; open(sys.argv[1], 'w').write('the case'); os.abort()"
    trace = tmp_path / "t.txt"
    p = subprocess.run([sys.executable, "-c", code, str(trace)], capture_output=True, text=True)
    msg = describe(p, trace)
    assert p.returncode < 0 and "SIGABRT" in msg and "the case" in msg


# ---------------------------------------------------------------------------
# regressions the sweep found
# ---------------------------------------------------------------------------


def _wgpu_or_skip():
    try:
        fg.device("wgpu")
        fg.ones((1,)).to("wgpu")
    except RuntimeError as e:
        pytest.skip(f"no wgpu adapter: {e}")


@pytest.mark.parametrize("shape", [(2, 0, 3), (0,), (1, 0, 4, 1)])
def test_zero_size_flipped_gpu_view_comes_back_to_the_cpu(shape):
    # A flipped zero-size view keeps an offset past its empty buffer; moving it back to
    # the CPU sliced the buffer at that offset and panicked (InternalError).
    _wgpu_or_skip()
    g = fg.zeros(shape).to("wgpu")
    v = g[tuple(slice(None, None, -1) for _ in shape)]
    back = v.to("cpu")
    assert back.shape == shape and str(back.device) == "cpu"
    assert np.array_equal(back.numpy(), np.zeros(shape, np.float32))
    assert fg.permute_dims(v, tuple(reversed(range(len(shape))))).to("cpu").shape == tuple(reversed(shape))


def test_unsafe_paths_smoke_in_a_subprocess(tmp_path):
    # The script valgrind runs (docs/fuzzing.md); here it only has to finish cleanly.
    p = subprocess.run([sys.executable, os.path.join(HERE, "unsafe_smoke.py")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "smoke ok" in p.stdout, describe(p, tmp_path / "none")
