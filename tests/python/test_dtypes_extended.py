"""The dtypes beyond bool/int64/float32/float64: int8/16/32, uint8/16/32/64, float16,
bfloat16, complex64 and complex128. Each is checked against NumPy (arithmetic wraps
and rounds as NumPy's), through every way data crosses a boundary (NumPy, DLPack,
safetensors, ndarray-free byte views), and through the promotion table."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ferrograd as fg

INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
FLOATS = ["float16", "float32", "float64"]
COMPLEX = ["complex64", "complex128"]
NUMPY_DTYPES = ["bool"] + INTS + FLOATS + COMPLEX


def _np(t):
    return np.asarray(t)


@pytest.mark.parametrize("name", NUMPY_DTYPES)
def test_numpy_round_trip_keeps_dtype_values_and_memory(name):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((3, 4)) * 50).astype(name)
    if name.startswith("complex"):
        a = a + 1j * (rng.standard_normal((3, 4)) * 50).astype(name)
    t = fg.asarray(a)
    assert t.dtype == getattr(fg, name) and t.dtype == a.dtype
    back = _np(t)
    assert back.dtype == a.dtype
    np.testing.assert_array_equal(back, a)
    a.flat[0] = a.flat[1]  # shares memory both ways
    assert _np(t).flat[0] == a.flat[1]


@pytest.mark.parametrize("name", NUMPY_DTYPES)
def test_dlpack_both_ways(name):
    a = np.arange(6).reshape(2, 3).astype(name)
    t = fg.from_dlpack(a)
    assert t.dtype == a.dtype
    np.testing.assert_array_equal(_np(t), a)
    b = np.from_dlpack(t)
    assert b.dtype == a.dtype
    np.testing.assert_array_equal(b, a)


@pytest.mark.parametrize("name", [n for n in NUMPY_DTYPES if n != "complex128"] + ["bfloat16"])
def test_safetensors_round_trip(tmp_path, name):
    t = fg.asarray(np.arange(-3, 9).reshape(3, 4)).astype(getattr(fg, name))
    path = tmp_path / "t.safetensors"
    fg.save({"t": t}, path)
    back = fg.load(path)["t"]
    assert back.dtype == t.dtype
    assert back.tolist() == t.tolist()


def test_complex128_refuses_safetensors_clearly(tmp_path):
    with pytest.raises(TypeError, match="complex128"):
        fg.save({"z": fg.asarray([1j], dtype=fg.complex128)}, tmp_path / "z.safetensors")


def test_bfloat16_to_numpy_is_values_not_bits():
    t = fg.asarray([1.5, -2.0, 3.0e10], dtype=fg.bfloat16)
    a = np.asarray(t)
    assert a.dtype.name in ("bfloat16", "float32")
    np.testing.assert_array_equal(a.astype(np.float32)[:2], [1.5, -2.0])
    # bfloat16 keeps float32's exponent and 8 bits of mantissa: 3e10 rounds to a
    # multiple of 2**27 (its exponent is 34: 34 - 7 = 27)
    assert float(a.astype(np.float64)[2]) % 2**27 == 0
    assert abs(float(a.astype(np.float64)[2]) - 3.0e10) <= 2**26
    bits = np.asarray(t.view(fg.uint16))
    assert bits.dtype == np.uint16
    assert bits[0] == np.array([1.5], np.float32).view(np.uint32)[0] >> 16


@pytest.mark.parametrize("name", INTS)
def test_integer_arithmetic_wraps_as_numpy(name):
    info = np.iinfo(name)
    rng = np.random.default_rng(1)
    a = rng.integers(info.min, info.max, 64, dtype=name, endpoint=True)
    b = rng.integers(info.min, info.max, 64, dtype=name, endpoint=True)
    b[b == 0] = 1
    ta, tb = fg.asarray(a), fg.asarray(b)
    with np.errstate(all="ignore"):
        for op in ("__add__", "__sub__", "__mul__", "__floordiv__", "__mod__", "__and__", "__or__", "__xor__"):
            got = getattr(ta, op)(tb)
            want = getattr(a, op)(b)
            assert got.dtype == want.dtype, op
            np.testing.assert_array_equal(_np(got), want, err_msg=op)
        np.testing.assert_array_equal(_np(~ta), ~a)
        np.testing.assert_array_equal(_np(-ta), -a)
        shifts = rng.integers(0, info.bits, 64).astype(name)
        np.testing.assert_array_equal(_np(ta << fg.asarray(shifts)), a << shifts)
        np.testing.assert_array_equal(_np(ta >> fg.asarray(shifts)), a >> shifts)


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_half_types_compute_in_float32_and_round_once(name):
    rng = np.random.default_rng(2)
    a32 = rng.standard_normal(256).astype(np.float32)
    b32 = rng.standard_normal(256).astype(np.float32)
    ta, tb = fg.asarray(a32).astype(getattr(fg, name)), fg.asarray(b32).astype(getattr(fg, name))
    # reference: the stored values, an exact float32 op, one rounding back
    ra, rb = _np(ta.float()), _np(tb.float())
    for op in ("__add__", "__mul__", "__truediv__"):
        got = getattr(ta, op)(tb)
        assert got.dtype == getattr(fg, name)
        want = fg.asarray(getattr(ra, op)(rb)).astype(getattr(fg, name))
        assert got.tolist() == want.tolist(), op
    if name == "float16":
        np.testing.assert_array_equal(_np(ta + tb), ra.astype(np.float16) + rb.astype(np.float16))
    assert ta.sum().dtype == getattr(fg, name)
    np.testing.assert_allclose(float(ta.sum()), ra.astype(np.float64).sum(), rtol=1e-2)


@pytest.mark.parametrize("name", COMPLEX)
def test_complex_arithmetic_and_functions_match_numpy(name):
    rng = np.random.default_rng(3)
    a = (rng.standard_normal(40) + 1j * rng.standard_normal(40)).astype(name)
    b = (rng.standard_normal(40) + 1j * rng.standard_normal(40)).astype(name)
    ta, tb = fg.asarray(a), fg.asarray(b)
    tol = dict(rtol=2e-5, atol=1e-6) if name == "complex64" else dict(rtol=1e-12, atol=1e-14)
    for op in ("__add__", "__sub__", "__mul__", "__truediv__", "__pow__"):
        got = getattr(ta, op)(tb)
        assert got.dtype == a.dtype, op
        np.testing.assert_allclose(_np(got), getattr(a, op)(b), err_msg=op, **tol)
    for f in ("exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "expm1",
              "log1p", "log2", "log10", "asin", "acos", "atan", "asinh", "acosh", "atanh"):
        nf = {"asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "asinh": np.arcsinh,
              "acosh": np.arccosh, "atanh": np.arctanh}.get(f, getattr(np, f, None))
        got = getattr(fg, f)(ta)
        assert got.dtype == a.dtype, f
        np.testing.assert_allclose(_np(got), nf(a), err_msg=f, **tol)
    np.testing.assert_allclose(_np(fg.abs(ta)), np.abs(a), **tol)
    assert fg.abs(ta).dtype == np.abs(a).dtype
    np.testing.assert_array_equal(_np(fg.conj(ta)), np.conj(a))
    np.testing.assert_array_equal(_np(ta.real), a.real)
    np.testing.assert_array_equal(_np(ta.imag), a.imag)
    np.testing.assert_array_equal(_np(ta == tb), a == b)
    np.testing.assert_allclose(_np(ta.sum()), a.sum(), **tol)
    np.testing.assert_allclose(_np(ta.reshape(4, 10).prod(axis=1)), a.reshape(4, 10).prod(axis=1), **tol)
    np.testing.assert_allclose(_np(ta.reshape(4, 10).mean(axis=0)), a.reshape(4, 10).mean(axis=0), **tol)
    m = ta.reshape(5, 8) @ tb.reshape(8, 5)
    np.testing.assert_allclose(_np(m), a.reshape(5, 8) @ b.reshape(8, 5), **tol)
    with pytest.raises(TypeError, match="complex"):
        ta < tb
    with pytest.raises(TypeError, match="complex"):
        ta.max()


def test_complex_real_imag_are_views():
    z = fg.asarray([1 + 2j, 3 - 4j])
    r = z.real
    r[0] = 10.0
    assert z.tolist() == [10 + 2j, 3 - 4j]
    assert complex(fg.asarray(2 - 1j)) == 2 - 1j and bool(fg.asarray(1j))


@pytest.mark.parametrize("name", INTS + FLOATS + ["bfloat16"])
def test_reductions_keep_the_standards_dtypes(name):
    dt = getattr(fg, name)
    t = fg.asarray(np.arange(1, 7).reshape(2, 3)).astype(dt)
    want_sum = {"int8": fg.int64, "int16": fg.int64, "int32": fg.int64, "int64": fg.int64,
                "uint8": fg.uint64, "uint16": fg.uint64, "uint32": fg.uint64, "uint64": fg.uint64}.get(name, dt)
    assert t.sum().dtype == want_sum and int(t.sum()) == 21
    assert t.prod().dtype == want_sum and int(t.prod()) == 720
    assert t.max().dtype == dt and int(t.max()) == 6
    assert t.min(axis=0).tolist() == [1, 2, 3]
    assert t.argmax().item() == 5


def test_uint64_keeps_values_past_int64():
    big = np.array([2**64 - 1, 2**63, 5], np.uint64)
    t = fg.asarray(big)
    assert t.max().item() == 2**64 - 1 and t.argmin().item() == 2
    assert (t > fg.asarray(np.array([2**63], np.uint64))).tolist() == [True, False, False]
    assert (t // 2).tolist() == (big // 2).tolist()
    assert t.astype(fg.float64).tolist() == big.astype(np.float64).tolist()


def _same_family(a, b):
    """Pairs the standard's table covers: both bool, both integers, or both inexact
    (mixed kinds follow PyTorch, ints with floats giving the float, not NumPy)."""
    fam = lambda d: {"b": 0, "i": 1, "u": 1}.get(np.dtype(d).kind, 2)  # noqa: E731
    return fam(a) == fam(b)


PAIRS = [p for p in itertools.product(NUMPY_DTYPES, repeat=2) if _same_family(*p)]


@pytest.mark.parametrize("a,b", PAIRS)
def test_promotion_matches_numpy_where_numpy_follows_the_standard(a, b):
    want = np.result_type(a, b)
    got = (fg.asarray(np.ones(2, a)) + fg.asarray(np.ones(2, b))).dtype
    assert got == want


@settings(max_examples=60, deadline=None)
@given(src=st.sampled_from(NUMPY_DTYPES), dst=st.sampled_from(NUMPY_DTYPES),
       vals=st.lists(st.integers(0, 100), min_size=1, max_size=8))
def test_astype_matches_numpy_for_values_every_dtype_holds(src, dst, vals):
    a = np.array(vals).astype(src)
    with np.errstate(all="ignore"):
        want = a.astype(dst)
    got = fg.asarray(a).astype(getattr(fg, dst))
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(_np(got), want)


@settings(max_examples=40, deadline=None)
@given(vals=st.lists(st.integers(-(2**15), 2**15 - 1), min_size=1, max_size=10),
       name=st.sampled_from(["int8", "int16", "uint8", "uint16", "int32"]))
def test_narrow_casts_wrap_as_numpy(vals, name):
    a = np.array(vals, np.int64)
    assert fg.asarray(a).astype(getattr(fg, name)).tolist() == a.astype(name).tolist()


def test_conversion_methods():
    x = fg.asarray([1.25, -2.5])
    assert x.half().dtype == fg.float16 and x.bfloat16().dtype == fg.bfloat16
    assert x.int().dtype == fg.int32 and x.byte().dtype == fg.uint8
    assert x.to(fg.int8).tolist() == [1, -2]
    assert x.cfloat().tolist() == [1.25 + 0j, -2.5 + 0j]
