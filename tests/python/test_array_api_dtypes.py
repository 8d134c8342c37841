"""The Array API's data type functions and inspection namespace: result_type and
can_cast against a hand-written promotion table (the standard's, with PyTorch's
answers where it is silent), finfo/iinfo against NumPy, isdtype, the constants and
__array_namespace_info__().

The promotion logic is checked for every dtype name in the table (whether or not this
build has it); the public functions are checked on the dtypes this build exposes."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ferrograd as fg
from ferrograd._array_api import _dtypes

NAMES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
         "float16", "bfloat16", "float32", "float64", "complex64", "complex128"]
SHORT = ["b", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "bf", "f4", "f8", "c8", "c16"]

# Row x column -> result. The standard's table for same-kind pairs and signed/unsigned
# mixes; beyond it: bool goes to the other dtype, an integer with a floating dtype gives
# that dtype, f2+bf -> f4, a signed int with u8 -> f8 (as NumPy), and f2/bf with
# complex -> c8.
TABLE_TEXT = """
     b   i1  i2  i4  i8  u1  u2  u4  u8  f2  bf  f4  f8  c8  c16
b    b   i1  i2  i4  i8  u1  u2  u4  u8  f2  bf  f4  f8  c8  c16
i1   i1  i1  i2  i4  i8  i2  i4  i8  f8  f2  bf  f4  f8  c8  c16
i2   i2  i2  i2  i4  i8  i2  i4  i8  f8  f2  bf  f4  f8  c8  c16
i4   i4  i4  i4  i4  i8  i4  i4  i8  f8  f2  bf  f4  f8  c8  c16
i8   i8  i8  i8  i8  i8  i8  i8  i8  f8  f2  bf  f4  f8  c8  c16
u1   u1  i2  i2  i4  i8  u1  u2  u4  u8  f2  bf  f4  f8  c8  c16
u2   u2  i4  i4  i4  i8  u2  u2  u4  u8  f2  bf  f4  f8  c8  c16
u4   u4  i8  i8  i8  i8  u4  u4  u4  u8  f2  bf  f4  f8  c8  c16
u8   u8  f8  f8  f8  f8  u8  u8  u8  u8  f2  bf  f4  f8  c8  c16
f2   f2  f2  f2  f2  f2  f2  f2  f2  f2  f2  f4  f4  f8  c8  c16
bf   bf  bf  bf  bf  bf  bf  bf  bf  bf  f4  bf  f4  f8  c8  c16
f4   f4  f4  f4  f4  f4  f4  f4  f4  f4  f4  f4  f4  f8  c8  c16
f8   f8  f8  f8  f8  f8  f8  f8  f8  f8  f8  f8  f8  f8  c16 c16
c8   c8  c8  c8  c8  c8  c8  c8  c8  c8  c8  c8  c8  c16 c8  c16
c16  c16 c16 c16 c16 c16 c16 c16 c16 c16 c16 c16 c16 c16 c16 c16
"""


def _parse_table():
    rows = [line.split() for line in TABLE_TEXT.strip().splitlines()]
    header, body = rows[0], rows[1:]
    full = dict(zip(SHORT, NAMES))
    return {(full[r[0]], full[c]): full[v] for r in body for c, v in zip(header, r[1:])}


TABLE = _parse_table()
AVAILABLE = [n for n in NAMES if isinstance(getattr(fg, n, None), fg.dtype)]
INTS = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
FLOATS = {"float16", "bfloat16", "float32", "float64", "complex64", "complex128"}


def test_table_is_symmetric_and_complete():
    assert len(TABLE) == len(NAMES) ** 2
    for a, b in itertools.product(NAMES, NAMES):
        assert TABLE[a, b] == TABLE[b, a], (a, b)


@pytest.mark.parametrize("a", NAMES)
def test_promote_names_matches_table_for_every_pair(a):
    for b in NAMES:
        assert _dtypes.promote_names([a, b]) == TABLE[a, b], (a, b)


def _expected_many(names):
    """The promotion of several dtypes by the table: integers count only without
    floating dtypes (so the answer does not depend on the order), a fold otherwise."""
    floats = [n for n in names if n in FLOATS]
    group = floats or names
    out = group[0]
    for n in group[1:]:
        out = TABLE[out, n]
    return out


@given(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6), st.randoms())
def test_promote_names_many_is_order_independent(names, rnd):
    shuffled = list(names)
    rnd.shuffle(shuffled)
    assert _dtypes.promote_names(names) == _dtypes.promote_names(shuffled) == _expected_many(names)


@given(st.lists(st.sampled_from(AVAILABLE), min_size=1, max_size=5), st.data())
def test_result_type_of_dtypes_and_arrays(names, data):
    args = [getattr(fg, n) if data.draw(st.booleans()) else fg.empty((1,), dtype=getattr(fg, n)) for n in names]
    expected = _expected_many(names)
    if expected not in AVAILABLE:
        with pytest.raises(TypeError, match=expected):
            fg.result_type(*args)
    else:
        assert fg.result_type(*args) == getattr(fg, expected)


@pytest.mark.parametrize("a", AVAILABLE)
@pytest.mark.parametrize("b", AVAILABLE)
def test_result_type_agrees_with_binary_ops(a, b):
    x = fg.ones((2,), dtype=getattr(fg, a))
    y = fg.ones((2,), dtype=getattr(fg, b))
    assert (x + y).dtype == fg.result_type(x, y) == getattr(fg, TABLE[a, b])


# A Python scalar is weak: it only lifts the kind (to the default dtype of its kind).
SCALAR_CASES = [
    ("bool", True, "bool"), ("bool", 1, "int64"), ("bool", 1.0, "float32"),
    ("int8", 1, "int8"), ("int64", 2.5, "float32"), ("uint8", True, "uint8"),
    ("float16", 1.0, "float16"), ("float64", 1, "float64"), ("bfloat16", 3, "bfloat16"),
    ("float32", 1j, "complex64"), ("float64", 1j, "complex128"), ("int32", 1j, "complex64"),
    ("bool", 1j, "complex64"), ("complex64", 1.0, "complex64"), ("complex128", True, "complex128"),
]


@pytest.mark.parametrize("name,scalar,expected", SCALAR_CASES)
def test_weak_scalars_by_name(name, scalar, expected):
    assert _dtypes._with_scalar(name, scalar) == expected


@pytest.mark.parametrize("name", AVAILABLE)
@pytest.mark.parametrize("scalar", [True, 3, 2.5])
def test_result_type_with_scalars_agrees_with_binary_ops(name, scalar):
    x = fg.ones((2,), dtype=getattr(fg, name))
    expected = _dtypes._with_scalar(name, scalar)
    assert fg.result_type(x, scalar) == fg.result_type(scalar, getattr(fg, name)) == getattr(fg, expected)
    assert (x + scalar).dtype == getattr(fg, expected)


def test_result_type_errors():
    with pytest.raises(ValueError, match="at least one array or dtype"):
        fg.result_type(1, 2.0)
    with pytest.raises(ValueError, match="at least one array or dtype"):
        fg.result_type()
    with pytest.raises(TypeError, match="argument 1"):
        fg.result_type(fg.float32, "not a dtype")
    with pytest.raises(TypeError, match="argument 0"):
        fg.result_type(None, fg.float32)


@pytest.mark.parametrize("a", AVAILABLE)
def test_can_cast_is_promotion_to_the_target(a):
    for b in AVAILABLE:
        expected = TABLE[a, b] == b
        assert fg.can_cast(getattr(fg, a), getattr(fg, b)) is expected, (a, b)
        assert fg.can_cast(fg.zeros((1,), dtype=getattr(fg, a)), getattr(fg, b)) is expected, (a, b)


def test_can_cast_examples_and_errors():
    assert fg.can_cast(fg.bool, fg.float64)
    assert fg.can_cast(fg.int64, fg.float32)
    assert not fg.can_cast(fg.float32, fg.int64)
    assert not fg.can_cast(fg.float64, fg.float32)
    with pytest.raises(TypeError, match="'to' must be a dtype"):
        fg.can_cast(fg.float32, fg.zeros(1))
    with pytest.raises(TypeError, match="'from_'"):
        fg.can_cast(1.0, fg.float32)


def test_isdtype_kinds():
    kinds = {
        "bool": {"bool"},
        "signed integer": {"int8", "int16", "int32", "int64"},
        "unsigned integer": {"uint8", "uint16", "uint32", "uint64"},
        "real floating": {"float16", "bfloat16", "float32", "float64"},
        "complex floating": {"complex64", "complex128"},
    }
    kinds["integral"] = kinds["signed integer"] | kinds["unsigned integer"]
    kinds["numeric"] = kinds["integral"] | kinds["real floating"] | kinds["complex floating"]
    for name in AVAILABLE:
        dt = getattr(fg, name)
        for kind, members in kinds.items():
            assert fg.isdtype(dt, kind) is (name in members), (name, kind)
        assert fg.isdtype(dt, dt) is True
        assert fg.isdtype(dt, ("bool", dt)) is True
        assert fg.isdtype(dt, tuple(k for k in kinds if name not in kinds[k])) is False


def test_isdtype_errors():
    with pytest.raises(ValueError, match="unknown kind 'floating'"):
        fg.isdtype(fg.float32, "floating")
    with pytest.raises(TypeError, match="not an array"):
        fg.isdtype(fg.zeros(1), "bool")


NUMPY_FLOATS = {"float16": np.float16, "float32": np.float32, "float64": np.float64}


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_float_limits_match_numpy(name):
    ref = np.finfo(NUMPY_FLOATS[name])
    bits, eps, big, small, normal = _dtypes._finfo_values(name)
    assert (bits, eps, big, small, normal) == (ref.bits, float(ref.eps), float(ref.max), float(ref.min),
                                               float(ref.smallest_normal))


def test_bfloat16_limits():
    # bfloat16 is float32 with 16 fewer mantissa bits: same exponent range.
    bits, eps, big, small, normal = _dtypes._finfo_values("bfloat16")
    f32 = np.finfo(np.float32)
    assert (bits, eps, normal) == (16, 2.0**-7, float(f32.smallest_normal))
    assert big == -small == float.fromhex("0x1.fep127")


@pytest.mark.parametrize("name", [n for n in AVAILABLE if n in FLOATS])
def test_finfo_public(name):
    dt = getattr(fg, name)
    real = {"complex64": "float32", "complex128": "float64"}.get(name, name)
    for arg in (dt, fg.ones((2,), dtype=dt)):
        info = fg.finfo(arg)
        assert info.dtype == getattr(fg, real)
        assert (info.bits, info.eps, info.max, info.min, info.smallest_normal) == _dtypes._finfo_values(real)
        assert all(isinstance(v, float) for v in (info.eps, info.max, info.min, info.smallest_normal))


@pytest.mark.parametrize("name", sorted(INTS))
def test_int_limits_match_numpy(name):
    ref = np.iinfo(getattr(np, name))
    assert _dtypes._iinfo_values(name) == (ref.bits, int(ref.max), int(ref.min))


@pytest.mark.parametrize("name", [n for n in AVAILABLE if n in INTS])
def test_iinfo_public(name):
    dt = getattr(fg, name)
    for arg in (dt, fg.zeros((1,), dtype=dt)):
        info = fg.iinfo(arg)
        assert info.dtype == dt
        assert (info.bits, info.max, info.min) == _dtypes._iinfo_values(name)


def test_info_errors():
    with pytest.raises(TypeError, match="floating-point dtype, got int64"):
        fg.finfo(fg.int64)
    with pytest.raises(TypeError, match="integer dtype, got float32"):
        fg.iinfo(fg.float32)
    with pytest.raises(TypeError, match="integer dtype, got bool"):
        fg.iinfo(fg.bool)
    with pytest.raises(TypeError):
        fg.finfo(3.0)


def test_constants():
    assert fg.e == math.e and fg.pi == math.pi and fg.inf == math.inf
    assert isinstance(fg.nan, float) and math.isnan(fg.nan)
    assert fg.newaxis is None
    x = fg.arange(3)
    assert x[fg.newaxis].shape == (1, 3)


class TestNamespaceInfo:
    info = fg.__array_namespace_info__()

    def test_capabilities(self):
        caps = self.info.capabilities()
        assert caps == {"boolean indexing": True, "data-dependent shapes": True, "max dimensions": None}
        # No dimension limit on the CPU, really.
        assert fg.zeros((1,) * 40).ndim == 40

    def test_devices(self):
        devs = self.info.devices()
        assert isinstance(devs, list) and fg.device("cpu") in devs
        assert self.info.default_device() == fg.device("cpu") == fg.zeros(1).device

    def test_default_dtypes_are_what_asarray_makes(self):
        d = self.info.default_dtypes()
        assert d["real floating"] == fg.asarray(1.0).dtype == fg.float32
        assert d["integral"] == fg.asarray(1).dtype == fg.int64
        assert d["indexing"] == fg.argmax(fg.zeros(3)).dtype == fg.int64
        assert ("complex floating" in d) == ("complex64" in AVAILABLE)
        assert self.info.default_dtypes(device="cpu") == d

    def test_dtypes(self):
        all_ = self.info.dtypes()
        assert list(all_) == [n for n in AVAILABLE if n not in ("float16", "bfloat16")]
        assert all(all_[n] == getattr(fg, n) for n in all_)
        assert set(self.info.dtypes(kind="real floating")) == {n for n in all_ if n.startswith("float")}
        assert set(self.info.dtypes(kind=("bool", "signed integer"))) == {n for n in all_ if n == "bool" or n.startswith("int")}
        assert self.info.dtypes(kind="numeric").keys() == all_.keys() - {"bool"}

    def test_dtypes_per_device_are_creatable(self):
        for dev in self.info.devices():
            for name, dt in self.info.dtypes(device=dev).items():
                assert fg.empty((1,), dtype=dt, device=dev).dtype == dt

    def test_bad_device(self):
        with pytest.raises(ValueError, match="unknown device 'cuda'"):
            self.info.dtypes(device="cuda")
        with pytest.raises(ValueError, match="unknown device"):
            self.info.default_dtypes(device="tpu")


def test_array_namespace_versions():
    x = fg.zeros(2)
    assert x.__array_namespace__() is fg
    assert x.__array_namespace__(api_version="2024.12") is fg
    assert fg.__array_api_version__ == "2024.12"
    with pytest.raises(ValueError, match="unsupported array API version '2099.01'"):
        x.__array_namespace__(api_version="2099.01")
