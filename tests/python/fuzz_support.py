"""Shared machinery of the fuzz sweep (see docs/fuzzing.md).

A sweep case is a plain dict (op, dtypes, layouts, shapes, seed, device) so that a
failing case prints as a literal that `fuzz_runner.py --replay` runs again. This module
holds what every op family needs: PyTorch's dtype promotion, the input values, the
memory layouts a tensor can have, and `check`, which runs one ferrograd call against
its NumPy reference and decides whether the outcome is acceptable.
"""

import math
import warnings

import numpy as np

import ferrograd as fg

DTYPES = ["bool", "int64", "float32", "float64"]
NP = {"bool": np.bool_, "int64": np.int64, "float32": np.float32, "float64": np.float64}
FG = {"bool": fg.bool, "int64": fg.int64, "float32": fg.float32, "float64": fg.float64}
LAYOUTS = ["contiguous", "transposed", "sliced", "flipped", "broadcast"]

# The exception types the README documents for bad input. fg.AxisError derives from
# ValueError and IndexError, as NumPy's does. BufferError is what a DLPack producer
# (NumPy) raises for an array it cannot export; ferrograd passes it on, as PyTorch does.
DOCUMENTED = (ValueError, TypeError, IndexError, RuntimeError, MemoryError, BufferError)


class SweepFailure(AssertionError):
    """A ferrograd call that neither matched its reference nor refused cleanly."""


class Refuse(Exception):
    """Raised by a reference: ferrograd may (alt given) or must (alt None) refuse the
    call with one of ``excs``; when it does not refuse it must match ``alt``."""

    def __init__(self, excs, alt=None, why=""):
        super().__init__(why)
        self.excs = excs
        self.alt = alt


# ---------------------------------------------------------------------------
# dtypes: PyTorch's promotion (bool < int64 < float; Python scalars are weak)
# ---------------------------------------------------------------------------

_CATEGORY = {"bool": 0, "int64": 1, "float32": 2, "float64": 2}
_DEFAULT = {0: "bool", 1: "int64", 2: "float32"}


def kind_of(x):
    """The dtype name of a sweep operand: a dtype name for arrays, or the weak
    category ('pybool', 'pyint', 'pyfloat') of a Python scalar."""
    if isinstance(x, bool):
        return "pybool"
    if isinstance(x, int):
        return "pyint"
    if isinstance(x, float):
        return "pyfloat"
    return np.asarray(x).dtype.name


def promote(*kinds):
    """Result dtype of combining tensors (dtype names) and Python scalars."""
    strong = [k for k in kinds if not k.startswith("py")]
    weak = [k for k in kinds if k.startswith("py")]
    if not strong:
        return {"pybool": "bool", "pyint": "int64", "pyfloat": "float32"}[
            max(weak, key=["pybool", "pyint", "pyfloat"].index)
        ]
    cat = max(_CATEGORY[k] for k in strong)
    best = [k for k in strong if _CATEGORY[k] == cat]
    result = "float64" if "float64" in best else best[0]
    wcat = max([{"pybool": 0, "pyint": 1, "pyfloat": 2}[k] for k in weak], default=-1)
    if wcat > cat:
        result = _DEFAULT[wcat]
    return result


def is_float(name):
    return name in ("float32", "float64")


def float_result(name):
    """The dtype of a float function (exp, mean, ...) of a `name` input."""
    return name if is_float(name) else "float32"


# ---------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------

SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0])


def values(rng, shape, dtype, *, specials=False, low=None, high=None):
    """Random values of a dtype: small integers for int64 (exact everywhere), a
    normal spread for floats, optionally with NaN, infinities and signed zeros."""
    shape = tuple(shape)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype == "int64":
        lo = -5 if low is None else int(low)
        hi = 6 if high is None else int(high)
        return rng.integers(lo, hi, size=shape).astype(np.int64)
    if low is not None:
        v = rng.uniform(low, high, size=shape)
    else:
        v = rng.standard_normal(shape) * 2.0
    if specials and v.size:
        mask = rng.random(shape) < 0.2
        v = np.where(mask, rng.choice(SPECIALS, size=shape), v)
    return np.asarray(v).astype(NP[dtype])


# ---------------------------------------------------------------------------
# layouts: one logical array, stored five ways
# ---------------------------------------------------------------------------


class Stored:
    """A logical array V kept as `base` (the storage) and a view function that
    turns the base into V; the same view is applied in NumPy and in ferrograd."""

    def __init__(self, base, view_np, view_fg):
        self.base = base
        self.view_np = view_np
        self.view_fg = view_fg

    @property
    def array(self):
        return np.asarray(self.view_np(self.base))

    def tensor(self, device="cpu", requires_grad=False):
        t = fg.tensor(self.base)
        if device != "cpu":
            t = t.to(device)
        if requires_grad:
            t.requires_grad_()
        return t, self.view_fg(t)


def store(rng, shape, dtype, layout, **value_kw):
    """A Stored array of the given logical shape, dtype and layout.

    transposed: the axes reversed over a contiguous base; sliced: every other row of a
    larger base, starting at an offset, and a trailing slice on the other axes; flipped:
    every axis reversed (negative strides); broadcast: stride 0 along axes expanded from
    size 1 or prepended. 0-d arrays are always contiguous.
    """
    shape = tuple(shape)
    nd = len(shape)
    if nd == 0 or layout == "contiguous":
        v = values(rng, shape, dtype, **value_kw)
        return Stored(v, lambda b: b, lambda t: t)
    if layout == "transposed":
        rev = tuple(reversed(range(nd)))
        base = np.ascontiguousarray(values(rng, shape, dtype, **value_kw).transpose(rev))
        return Stored(base, lambda b: b.transpose(rev), lambda t: fg.permute_dims(t, rev))
    if layout == "sliced":
        big = (2 * shape[0] + 1,) + tuple(s + 1 for s in shape[1:])
        base = values(rng, big, dtype, **value_kw)
        idx = (slice(1, None, 2),) + (slice(1, None),) * (nd - 1)
        return Stored(base, lambda b: b[idx], lambda t: t[idx])
    if layout == "flipped":
        base = values(rng, shape, dtype, **value_kw)
        idx = (slice(None, None, -1),) * nd
        return Stored(base, lambda b: b[idx], lambda t: t[idx])
    if layout == "broadcast":
        # Drop a leading axis (when there is one) and squash every other axis to 1.
        drop = 1 if nd > 1 else 0
        small = tuple(1 if (i % 2 == 0 and s != 0) else s for i, s in enumerate(shape[drop:]))
        base = values(rng, small, dtype, **value_kw)
        return Stored(base, lambda b: np.broadcast_to(b, shape), lambda t: fg.broadcast_to(t, shape))
    raise AssertionError(layout)


# ---------------------------------------------------------------------------
# checking one call
# ---------------------------------------------------------------------------


def _is_bug(e):
    return type(e).__name__ == "PanicException" or isinstance(e, fg.InternalError)


def _no_swallowed_internal_error(before):
    """ferrograd's Python layer may catch a RuntimeError internally; an InternalError
    it swallowed still counts as a bug."""
    if fg._core._internal_error_count() != before:
        raise SweepFailure("an InternalError was raised (and swallowed) inside the call")


def numpy_ref(fn):
    """Run a NumPy reference quietly; NumPy's own refusals become Refuse of the same
    exception family (AxisError included, which ferrograd also raises)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn()
        except Refuse:
            raise
        except IndexError as e:  # np.exceptions.AxisError included
            raise Refuse((IndexError, ValueError) if isinstance(e, ValueError) else (IndexError,), why=f"NumPy: {e!r}")
        except ValueError as e:
            raise Refuse((ValueError,), why=f"NumPy: {e!r}")
        except TypeError as e:
            raise Refuse((TypeError,), why=f"NumPy: {e!r}")


def to_host(t):
    if isinstance(t, (tuple, list)):
        return [to_host(x) for x in t]
    if not isinstance(t, fg.Tensor):
        raise SweepFailure(f"expected a Tensor, got {type(t).__name__}: {t!r}")
    if str(t.device) != "cpu":
        t = t.to("cpu")
    return np.array(t.numpy(), copy=True)


def compare(got, expected, *, rtol=0.0, atol=0.0, scale=None, what="result"):
    """got (ndarray) must equal expected in shape, dtype and values: exactly for bool
    and int64; for floats |got - expected| <= atol + rtol * scale (scale defaults to
    |expected|; give the sum of |terms| for sums and products), NaN where NaN."""
    expected = np.asarray(expected)
    if got.shape != expected.shape:
        raise SweepFailure(f"{what}: shape {got.shape}, expected {expected.shape}")
    if got.dtype != expected.dtype:
        raise SweepFailure(f"{what}: dtype {got.dtype}, expected {expected.dtype}")
    if expected.dtype.kind in "bi":
        if not np.array_equal(got, expected):
            raise SweepFailure(f"{what}: values differ\n got {got!r}\n expected {expected!r}")
        return
    g = got.astype(np.float64)
    e = expected.astype(np.float64)
    s = np.abs(e) if scale is None else np.broadcast_to(np.asarray(scale, np.float64), e.shape)
    with np.errstate(all="ignore"):
        same_nan = np.isnan(g) == np.isnan(e)
        inf = np.isinf(e) | np.isinf(g)
        same_inf = np.where(inf, g == e, True)
        close = np.where(np.isnan(e) | inf, True, np.abs(g - e) <= atol + rtol * np.nan_to_num(s, posinf=1e300))
    ok = same_nan & same_inf & close
    if not ok.all():
        bad = np.argwhere(~ok)[:3]
        detail = ", ".join(f"at {tuple(i)}: got {g[tuple(i)]!r}, expected {e[tuple(i)]!r}" for i in bad)
        raise SweepFailure(f"{what}: values differ ({int((~ok).sum())} of {ok.size}) {detail}\n got {got!r}\n expected {expected!r}")


def check(call, reference, *, compare_kw=None):
    """Run ``call()`` (ferrograd) and ``reference()`` (NumPy) and judge the outcome.

    Acceptable: the results agree (`compare`), or the reference raised Refuse and
    ferrograd raised one of its exception types (or matched its alt). Never
    acceptable: an InternalError or panic, an undocumented exception type, a refusal
    where the reference has a result. Returns ferrograd's result (or None).
    """
    compare_kw = compare_kw or {}
    refuse = None
    try:
        expected = numpy_ref(reference)
    except Refuse as r:
        refuse = r
        expected = r.alt
    before = fg._core._internal_error_count()
    try:
        got = call()
    except BaseException as e:  # noqa: BLE001 - panics derive from BaseException
        if _is_bug(e):
            raise SweepFailure(f"internal error / panic: {type(e).__name__}: {e}") from e
        if not isinstance(e, DOCUMENTED):
            raise SweepFailure(f"undocumented exception type {type(e).__name__}: {e}") from e
        _no_swallowed_internal_error(before)
        if refuse is None:
            raise SweepFailure(f"raised {type(e).__name__}: {e} where the reference gives a result") from e
        if not isinstance(e, refuse.excs):
            names = [c.__name__ for c in refuse.excs]
            raise SweepFailure(f"raised {type(e).__name__}: {e}; expected one of {names} ({refuse})") from e
        return None
    _no_swallowed_internal_error(before)
    if refuse is not None and refuse.alt is None:
        raise SweepFailure(f"returned {got!r} where it should raise one of {[c.__name__ for c in refuse.excs]} ({refuse})")
    if isinstance(expected, (list, tuple)):
        host = to_host(got)
        if len(host) != len(expected):
            raise SweepFailure(f"{len(host)} results, expected {len(expected)}")
        for i, (g, e) in enumerate(zip(host, expected)):
            compare(g, e, what=f"result {i}", **compare_kw)
    else:
        compare(to_host(got), expected, **compare_kw)
    return got


def check_device(cpu_call, dev_call, *, rtol=1e-4, atol=1e-4):
    """The same call on the GPU: it may refuse (RuntimeError: op not on this backend,
    TypeError: dtype not on this backend), else it matches the CPU result and stays on
    the device."""
    try:
        cpu = cpu_call()
        cpu_err = None
    except BaseException as e:  # noqa: BLE001
        cpu, cpu_err = None, e
    before = fg._core._internal_error_count()
    try:
        got = dev_call()
    except BaseException as e:  # noqa: BLE001
        if _is_bug(e):
            raise SweepFailure(f"wgpu: internal error / panic: {type(e).__name__}: {e}") from e
        if not isinstance(e, (RuntimeError, TypeError) if cpu_err is None else DOCUMENTED):
            raise SweepFailure(f"wgpu: raised {type(e).__name__}: {e}") from e
        _no_swallowed_internal_error(before)
        return
    _no_swallowed_internal_error(before)
    if cpu_err is not None:
        raise SweepFailure(f"wgpu returned a result where the CPU raised {type(cpu_err).__name__}: {cpu_err}")
    outs = got if isinstance(got, (list, tuple)) else [got]
    for o in outs:
        if not str(o.device).startswith("wgpu"):
            raise SweepFailure(f"wgpu: the result left the device ({o.device})")
    ref = to_host(cpu)
    host = to_host(got)
    if isinstance(ref, list):
        for g, e in zip(host, ref):
            compare(g, e, rtol=rtol, atol=atol, what="wgpu vs cpu")
    else:
        compare(host, ref, rtol=rtol, atol=atol, what="wgpu vs cpu")


def finite_difference(f, arrays, wrt, h=1e-6):
    """d sum(f(arrays)) / d arrays[wrt], central differences in float64."""
    arrays = [np.array(a, dtype=np.float64, copy=True) if i == wrt else a for i, a in enumerate(arrays)]
    x = arrays[wrt]
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    g = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        up = float(np.sum(f(*arrays)))
        flat[i] = old - h
        down = float(np.sum(f(*arrays)))
        flat[i] = old
        g[i] = (up - down) / (2 * h)
    return grad


def finite(x):
    return math.isfinite(float(np.max(np.abs(x)))) if np.size(x) else True
