"""Shared helpers and fixtures for the ferrograd Python test suite.

NumPy (float64 where it matters) is the reference implementation throughout.
"""

import math
import os
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Test modules import helpers with `from conftest import ...`; make that work under
# any pytest import mode.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ferrograd as fg  # noqa: E402

settings.register_profile(
    "ferrograd",
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ferrograd")

FLOAT_DTYPES = [np.float32, np.float64]
ALL_DTYPES = [np.float32, np.float64, np.int64, np.bool_]

# Default relative tolerances.
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
# Transcendental functions / matmul.
RTOL_TRANS = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-12}
ATOL_TRANS = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-13}

# The errors a bad input may raise; a Rust panic (pyo3_runtime.PanicException,
# a BaseException subclass) must never reach Python.
ERRORS = (ValueError, TypeError, IndexError, RuntimeError)


def rtol_for(dtype, transcendental=False):
    table = RTOL_TRANS if transcendental else RTOL
    return table.get(np.dtype(dtype), 0.0)


def atol_for(dtype, transcendental=True):
    if not transcendental:
        return 0.0
    return ATOL_TRANS.get(np.dtype(dtype), 0.0)


def to_numpy(t):
    """A private NumPy copy of a ferrograd tensor (or pass-through for ndarrays)."""
    if isinstance(t, np.ndarray):
        return t
    if isinstance(t, (bool, int, float, np.generic)):
        return np.asarray(t)
    return np.array(t.numpy(), copy=True)


def assert_close(actual, expected, rtol=None, atol=0.0, check_dtype=True, check_shape=True):
    """Compare a ferrograd tensor with a NumPy reference.

    Checks the shape (``actual.shape`` and the NumPy view agree with the reference),
    the dtype (``actual.dtype == expected.dtype.type``, which the spec guarantees for
    NumPy scalar types) when ``check_dtype``, then the values: exactly for bool and
    integer references, else with ``rtol``/``atol`` (NaNs must match NaNs).
    """
    assert not isinstance(actual, np.ndarray), "expected a ferrograd tensor, got a numpy array"
    expected = np.asarray(expected)
    got = to_numpy(actual)
    if check_shape:
        assert tuple(actual.shape) == expected.shape, (
            f"shape mismatch: got {tuple(actual.shape)}, expected {expected.shape}"
        )
        assert got.shape == expected.shape, (
            f"numpy() shape mismatch: got {got.shape}, expected {expected.shape}"
        )
    if check_dtype:
        assert got.dtype == expected.dtype, (
            f"dtype mismatch: got {got.dtype}, expected {expected.dtype}"
        )
        assert actual.dtype == expected.dtype.type, (
            f"tensor.dtype {actual.dtype!r} does not compare equal to {expected.dtype.type}"
        )
    if rtol is None:
        rtol = RTOL.get(expected.dtype, 0.0)
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(got, expected)
    else:
        exp = expected
        if check_shape:
            np.testing.assert_allclose(
                got.astype(np.float64), exp.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True
            )
        else:
            np.testing.assert_allclose(
                got.astype(np.float64).reshape(-1),
                np.broadcast_to(exp, got.shape).astype(np.float64).reshape(-1),
                rtol=rtol,
                atol=atol,
                equal_nan=True,
            )


def raises_cleanly(fn, *args, exc=ERRORS, **kwargs):
    """Call fn(*args, **kwargs); it must raise one of ``exc`` and never a Rust panic.

    Returns the exception so callers can inspect its message.
    """
    try:
        fn(*args, **kwargs)
    except BaseException as e:  # noqa: BLE001 - PanicException derives from BaseException
        _fail_on_bug(e)
        if not isinstance(e, exc):
            pytest.fail(f"expected one of {[c.__name__ for c in exc]}, got {type(e).__name__}: {e}")
        return e
    pytest.fail(f"{getattr(fn, '__name__', fn)} did not raise")


def no_panic(fn, *args, **kwargs):
    """Call fn; return its result. A Rust panic is reported as a test failure."""
    try:
        return fn(*args, **kwargs)
    except BaseException as e:  # noqa: BLE001
        _fail_on_bug(e)
        raise


def _fail_on_bug(e):
    """A Rust panic, whether it reached Python as PanicException or was caught at the
    boundary and raised as fg.InternalError, is a bug: the test fails."""
    if type(e).__name__ == "PanicException":
        pytest.fail(f"a Rust panic reached Python: {e!r}")
    if isinstance(e, fg.InternalError):
        pytest.fail(f"an internal error (a caught Rust panic) reached Python: {e}")


np_erf = np.vectorize(math.erf, otypes=[np.float64])


def np_gelu(x):
    x = np.asarray(x, dtype=np.float64)
    return x * 0.5 * (1.0 + np_erf(x / math.sqrt(2.0)))


def np_sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-x))


# ---------------------------------------------------------------------------
# Layouts: the same view is applied to the NumPy base and to the ferrograd
# tensor built from it with fg.tensor.
# ---------------------------------------------------------------------------

LAYOUTS = ["contiguous", "transposed", "permuted", "strided", "strided_cols", "broadcast", "zero_size"]

_BASE_SHAPES = {
    "contiguous": (5, 6),
    "transposed": (6, 5),  # .T -> (5, 6)
    "permuted": (3, 4, 5),  # permute (2, 0, 1) -> (5, 3, 4)
    "strided": (10, 6),  # [::2] -> (5, 6)
    "strided_cols": (5, 18),  # [:, 1::3] -> (5, 6)
    "broadcast": (6,),  # broadcast_to (5, 6)
    "zero_size": (0, 6),
}


def apply_layout(x, layout, lib):
    """Apply a layout's view to x; lib is numpy for ndarrays and fg for tensors."""
    if layout in ("contiguous", "zero_size"):
        return x
    if layout == "transposed":
        return x.T
    if layout == "permuted":
        return lib.permute_dims(x, (2, 0, 1))
    if layout == "strided":
        return x[::2]
    if layout == "strided_cols":
        return x[:, 1::3]
    if layout == "broadcast":
        return lib.broadcast_to(x, (5, 6))
    raise AssertionError(layout)


def make_pair(rng, layout, dtype=np.float32, low=-3.0, high=3.0, gen=None):
    """Return (numpy_view, fg_view) holding the same values in the given layout."""
    shape = _BASE_SHAPES[layout]
    if gen is not None:
        base = np.asarray(gen(rng, shape))
    else:
        base = rng.uniform(low, high, size=shape)
    base = base.astype(dtype)
    t = fg.tensor(base)
    return apply_layout(base, layout, np), apply_layout(t, layout, fg)


def fg_like_layout(arr, layout, rng=None):
    """A ferrograd tensor equal to ``arr`` but stored as a (non-contiguous) view."""
    arr = np.asarray(arr)
    if layout == "contiguous" or arr.ndim < 2:
        return fg.tensor(arr)
    if layout == "swapped":
        return fg.tensor(np.ascontiguousarray(np.swapaxes(arr, -1, -2))).mT
    raise AssertionError(layout)


@pytest.fixture
def rng():
    """A fresh, fixed-seed NumPy generator for every test."""
    return np.random.default_rng(20240601)


@pytest.fixture(scope="module")
def wgpu_device():
    """The wgpu device. A GPU test module uses it for all its tests
    (`pytestmark = pytest.mark.usefixtures("wgpu_device")`), so the whole module is
    skipped, with the adapter error as the reason, where ``fg.device("wgpu")`` raises
    RuntimeError (no adapter, or a build without wgpu)."""
    try:
        return fg.device("wgpu")
    except RuntimeError as e:
        pytest.skip(str(e))


@pytest.fixture(params=FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
def float_dtype(request):
    return request.param


@pytest.fixture(params=LAYOUTS)
def layout(request):
    return request.param


@pytest.fixture(autouse=True)
def _no_internal_errors(request):
    """Every test fails when it made ferrograd raise an InternalError (a caught Rust
    panic), even one that the test caught and accepted as a RuntimeError."""
    before = fg._core._internal_error_count()
    yield
    if request.node.get_closest_marker("expects_internal_error"):
        return
    caught = fg._core._internal_error_count() - before
    if caught:
        pytest.fail(f"{caught} internal error(s) (caught Rust panics) were raised during this test")
