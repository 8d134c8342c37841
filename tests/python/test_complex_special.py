"""Complex elementary functions: the special values of the Array API standard (the
C99 Annex G tables its docstrings copy), their conj / odd / even symmetries, signed
zeros on branch cuts, and accuracy on finite inputs against NumPy and Taylor series.
Also sign(-0.0) = +0 for real floats."""

import cmath
import math

import numpy as np
import pytest

import ferrograd as fg

INF, NAN = math.inf, math.nan
PI = math.pi
CDTYPES = [np.complex64, np.complex128]
REAL_OF = {np.complex64: np.float32, np.complex128: np.float64}


class Any:
    """An expected component whose sign the standard leaves unspecified."""

    def __init__(self, mag):
        self.mag = mag

    def __neg__(self):
        return self

    def __repr__(self):
        return f"±{self.mag}"


ANY0, ANYINF = Any(0.0), Any(INF)

# Inputs standing for the standard's classes of values
ZEROS = [0.0, -0.0]
FINITE = [0.0, -0.0, 1.5, -2.5]  # "a finite number"
POS = [0.75, 3.0]  # "a positive (i.e., greater than 0) finite number"
NONZERO = [1.5, -2.5]  # "a nonzero finite number"


def cis_times(m):
    """m * cis(b) for a real m (the table's '+infinity * cis(b)', '+0 * cis(b)')."""
    return (lambda a, b: m * math.cos(b), lambda a, b: m * math.sin(b))


# function -> list of (real inputs, imaginary inputs, expected real, expected imag),
# hand-copied from the "Special cases / For complex floating-point operands" lists of
# array_api_stubs/_2024_12/elementwise_functions.py. An expected component is a float
# (compared with its sign of zero; NaN matches any NaN), Any (either sign) or a
# function of the input (a, b).
TABLES = {
    "acos": [
        (ZEROS, [0.0], PI / 2, -0.0),
        (ZEROS, [NAN], PI / 2, NAN),
        (FINITE, [INF], PI / 2, -INF),
        (NONZERO, [NAN], NAN, NAN),
        ([-INF], POS, PI, -INF),
        ([INF], POS, 0.0, -INF),
        ([-INF], [INF], 3 * PI / 4, -INF),
        ([INF], [INF], PI / 4, -INF),
        ([INF, -INF], [NAN], NAN, ANYINF),
        ([NAN], FINITE, NAN, NAN),
        ([NAN], [INF], NAN, -INF),
        ([NAN], [NAN], NAN, NAN),
    ],
    "acosh": [
        (ZEROS, [0.0], 0.0, PI / 2),
        (FINITE, [INF], INF, PI / 2),
        (NONZERO, [NAN], NAN, NAN),
        ([0.0], [NAN], NAN, Any(PI / 2)),
        ([-INF], POS, INF, PI),
        ([INF], POS, INF, 0.0),
        ([-INF], [INF], INF, 3 * PI / 4),
        ([INF], [INF], INF, PI / 4),
        ([INF, -INF], [NAN], INF, NAN),
        ([NAN], FINITE, NAN, NAN),
        ([NAN], [INF], INF, NAN),
        ([NAN], [NAN], NAN, NAN),
    ],
    "asinh": [
        ([0.0], [0.0], 0.0, 0.0),
        (POS, [INF], INF, PI / 2),
        (FINITE, [NAN], NAN, NAN),
        ([INF], POS, INF, 0.0),
        ([INF], [INF], INF, PI / 4),
        ([NAN], [0.0], NAN, 0.0),
        ([NAN], NONZERO, NAN, NAN),
        ([NAN], [INF], ANYINF, NAN),
        ([NAN], [NAN], NAN, NAN),
    ],
    "atanh": [
        ([0.0], [0.0], 0.0, 0.0),
        ([0.0], [NAN], 0.0, NAN),
        ([1.0], [0.0], INF, 0.0),
        (POS, [INF], 0.0, PI / 2),
        (NONZERO, [NAN], NAN, NAN),
        ([INF], POS, 0.0, PI / 2),
        ([INF], [INF], 0.0, PI / 2),
        ([INF], [NAN], 0.0, NAN),
        ([NAN], FINITE, NAN, NAN),
        ([NAN], [INF], ANY0, PI / 2),
        ([NAN], [NAN], NAN, NAN),
    ],
    "cosh": [
        ([0.0], [0.0], 1.0, 0.0),
        ([0.0], [INF], NAN, ANY0),
        ([0.0], [NAN], NAN, ANY0),
        (NONZERO, [INF], NAN, NAN),
        (NONZERO, [NAN], NAN, NAN),
        ([INF], [0.0], INF, 0.0),
        ([INF], NONZERO, *cis_times(INF)),
        ([INF], [INF], ANYINF, NAN),
        ([INF], [NAN], INF, NAN),
        ([NAN], ZEROS, NAN, ANY0),
        ([NAN], NONZERO, NAN, NAN),
        ([NAN], [NAN], NAN, NAN),
    ],
    "sinh": [
        ([0.0], [0.0], 0.0, 0.0),
        ([0.0], [INF], ANY0, NAN),
        ([0.0], [NAN], ANY0, NAN),
        (POS, [INF], NAN, NAN),
        (POS, [NAN], NAN, NAN),
        ([INF], [0.0], INF, 0.0),
        ([INF], POS, *cis_times(INF)),
        ([INF], [INF], ANYINF, NAN),
        ([INF], [NAN], ANYINF, NAN),
        ([NAN], [0.0], NAN, 0.0),
        ([NAN], NONZERO, NAN, NAN),
        ([NAN], [NAN], NAN, NAN),
    ],
    "tanh": [
        ([0.0], [0.0], 0.0, 0.0),
        (NONZERO, [INF], NAN, NAN),
        ([0.0], [INF], 0.0, NAN),
        (NONZERO, [NAN], NAN, NAN),
        ([0.0], [NAN], 0.0, NAN),
        ([INF], POS, 1.0, 0.0),
        ([INF], [INF], 1.0, ANY0),
        ([INF], [NAN], 1.0, ANY0),
        ([NAN], [0.0], NAN, 0.0),
        ([NAN], NONZERO + [INF], NAN, NAN),
        ([NAN], [NAN], NAN, NAN),
    ],
    "exp": [
        (ZEROS, [0.0], 1.0, 0.0),
        (FINITE, [INF], NAN, NAN),
        (FINITE, [NAN], NAN, NAN),
        ([INF], [0.0], INF, 0.0),
        ([-INF], FINITE, *cis_times(0.0)),
        ([INF], NONZERO, *cis_times(INF)),
        ([-INF], [INF], ANY0, ANY0),
        ([INF], [INF], ANYINF, NAN),
        ([-INF], [NAN], ANY0, ANY0),
        ([INF], [NAN], ANYINF, NAN),
        ([NAN], [0.0], NAN, 0.0),
        ([NAN], NONZERO + [INF], NAN, NAN),
        ([NAN], [NAN], NAN, NAN),
    ],
    "expm1": [
        (ZEROS, [0.0], 0.0, 0.0),
        (FINITE, [INF], NAN, NAN),
        (FINITE, [NAN], NAN, NAN),
        ([INF], [0.0], INF, 0.0),
        ([-INF], FINITE, -1.0, cis_times(0.0)[1]),
        ([INF], NONZERO, *cis_times(INF)),
        ([-INF], [INF], -1.0, ANY0),
        ([INF], [INF], ANYINF, NAN),
        ([-INF], [NAN], -1.0, ANY0),
        ([INF], [NAN], ANYINF, NAN),
        ([NAN], [0.0], NAN, 0.0),
        ([NAN], NONZERO + [INF], NAN, NAN),
        ([NAN], [NAN], NAN, NAN),
    ],
    "log": [
        ([-0.0], [0.0], -INF, PI),
        ([0.0], [0.0], -INF, 0.0),
        (FINITE, [INF], INF, PI / 2),
        (FINITE, [NAN], NAN, NAN),
        ([-INF], POS, INF, PI),
        ([INF], POS, INF, 0.0),
        ([-INF], [INF], INF, 3 * PI / 4),
        ([INF], [INF], INF, PI / 4),
        ([INF, -INF], [NAN], INF, NAN),
        ([NAN], FINITE, NAN, NAN),
        ([NAN], [INF], INF, NAN),
        ([NAN], [NAN], NAN, NAN),
    ],
    "log1p": [
        ([-1.0], [0.0], -INF, 0.0),
        (FINITE, [INF], INF, PI / 2),
        (FINITE, [NAN], NAN, NAN),
        ([-INF], POS, INF, PI),
        ([INF], POS, INF, 0.0),
        ([-INF], [INF], INF, 3 * PI / 4),
        ([INF], [INF], INF, PI / 4),
        ([INF, -INF], [NAN], INF, NAN),
        ([NAN], FINITE, NAN, NAN),
        ([NAN], [INF], INF, NAN),
        ([NAN], [NAN], NAN, NAN),
    ],
    "sqrt": [
        (ZEROS, [0.0], 0.0, 0.0),
        (FINITE + [INF, -INF, NAN], [INF], INF, INF),
        (FINITE, [NAN], NAN, NAN),
        ([-INF], POS, 0.0, INF),
        ([INF], POS, INF, 0.0),
        ([-INF], [NAN], NAN, ANYINF),
        ([INF], [NAN], INF, NAN),
        ([NAN], FINITE, NAN, NAN),
        ([NAN], [NAN], NAN, NAN),
    ],
    "sign": [
        (ZEROS, ZEROS, 0.0, 0.0),
        ([NAN], FINITE + [INF, NAN], NAN, NAN),
        (FINITE + [INF], [NAN], NAN, NAN),
    ],
}

# Symmetries the standard requires on top of the tables: every function is
# conjugate-symmetric; some are also odd or even in z.
ODD = {"asinh", "atanh", "sinh", "tanh", "asin", "atan", "sin", "tan"}
EVEN = {"cosh", "cos"}


def negate(e):
    return (lambda a, b: -e(a, b)) if callable(e) else -e


def table_cases():
    for name, rows in TABLES.items():
        for res, ims, ere, eim in rows:
            for a in res:
                for b in ims:
                    # the listed quadrant, then its images under the symmetries
                    yield name, a, b, ere, eim
                    if name == "sign":
                        continue
                    # f(conj z) = conj f(z): (a, -b) -> (re, -im), evaluated at (a, b)
                    yield name, a, -b, lambda x, y, e=ere: _at(e, x, -y), lambda x, y, e=eim: -_at(e, x, -y)
                    if name in ODD:
                        yield name, -a, -b, lambda x, y, e=ere: -_at(e, -x, -y), lambda x, y, e=eim: -_at(e, -x, -y)
                        yield name, -a, b, lambda x, y, e=ere: -_at(e, -x, y), lambda x, y, e=eim: _at(e, -x, y)
                    if name in EVEN:
                        yield name, -a, -b, lambda x, y, e=ere: _at(e, -x, -y), lambda x, y, e=eim: _at(e, -x, -y)
                        yield name, -a, b, lambda x, y, e=ere: _at(e, -x, y), lambda x, y, e=eim: -_at(e, -x, y)


def _at(e, a, b):
    return e(a, b) if callable(e) else e


def component_ok(got, want, ulps):
    """NaN matches NaN; zeros and infinities match with their sign unless `want`
    is Any; other values within a few ulps of the dtype."""
    if isinstance(want, Any):
        return abs(float(got)) == want.mag or (want.mag != 0 and math.isclose(abs(float(got)), want.mag, rel_tol=ulps))
    got, want = float(got), float(want)
    if math.isnan(want):
        return math.isnan(got)
    if want == 0 or math.isinf(want):
        return got == want and math.copysign(1, got) == math.copysign(1, want)
    return math.isclose(got, want, rel_tol=ulps)


def fg_apply(name, values, dtype):
    out = getattr(fg, name)(fg.asarray(np.asarray(values, dtype=dtype)))
    return np.asarray(out.numpy())


ALL_CASES = list(table_cases())


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name", sorted(TABLES))
def test_standard_special_cases(name, dtype):
    cases = [c for c in ALL_CASES if c[0] == name]
    z = np.array([complex(a, b) for _, a, b, _, _ in cases], dtype=dtype)
    # complex(a, b) keeps signed zeros; check the array really holds them
    assert [math.copysign(1, v.imag) for v in z] == [math.copysign(1, b) for _, _, b, _, _ in cases]
    got = fg_apply(name, z, dtype)
    ulps = 4 * float(np.finfo(REAL_OF[dtype]).eps)
    bad = []
    for (n, a, b, ere, eim), w in zip(cases, got):
        want = (_at(ere, a, b), _at(eim, a, b))
        if not (component_ok(w.real, want[0], ulps) and component_ok(w.imag, want[1], ulps)):
            bad.append(f"{n}({a!r}, {b!r}) = {w!r}, want {want!r}")
    assert not bad, "\n".join(bad)
    assert len(cases) >= 10


SPECIAL_VALUES = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 1e-30, INF, -INF, NAN]
GRID = [complex(a, b) for a in SPECIAL_VALUES for b in SPECIAL_VALUES]
FUNCS = ["acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "exp", "expm1",
         "log", "log1p", "log2", "log10", "sin", "sinh", "sqrt", "tan", "tanh"]


def same_complex(x, y):
    """Equal as C99 values: NaN matches NaN, and the sign of a zero or infinity must
    match unless the other component is NaN (where C99 leaves that sign open)."""
    for p, q, op, oq in ((x.real, y.real, x.imag, y.imag), (x.imag, y.imag, x.real, y.real)):
        if math.isnan(p) or math.isnan(q):
            if not (math.isnan(p) and math.isnan(q)):
                return False
            continue
        if p != q:
            if not math.isclose(p, q, rel_tol=1e-6 if x.dtype == np.complex64 else 1e-15):
                return False
        elif (p == 0 or math.isinf(p)) and math.copysign(1, p) != math.copysign(1, q):
            if not (math.isnan(op) or math.isnan(oq)):
                return False
    return True


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name", FUNCS)
def test_symmetries_on_special_grid(name, dtype):
    z = np.array(GRID, dtype=dtype)
    f = lambda v: fg_apply(name, v, dtype)  # noqa: E731
    w, wc = f(z), f(np.conj(z))
    bad = [(v, a, b) for v, a, b in zip(z, w, wc) if not same_complex(np.conj(a), b)]
    assert not bad, f"{name}(conj z) != conj {name}(z): {bad[:5]}"
    if name in ODD or name in EVEN:
        wn = f(-z)
        want = -w if name in ODD else w
        bad = [(v, a, b) for v, a, b in zip(z, want, wn) if not same_complex(a, b)]
        assert not bad, f"{name} parity: {bad[:5]}"


def _mul_i(z):
    """i * z componentwise, (-y, x): complex multiplication would turn inf into NaN."""
    return np.array([complex(-v.imag, v.real) for v in z], dtype=z.dtype)


def _mul_neg_i(z):
    return np.array([complex(v.imag, -v.real) for v in z], dtype=z.dtype)


# The standard (and C99) define these through their partners: sin(z) = -i sinh(iz),
# cos(z) = cosh(iz), tan(z) = -i tanh(iz), asin(z) = -i asinh(iz), atan(z) = -i atanh(iz).
DERIVED = {"sin": ("sinh", True), "cos": ("cosh", False), "tan": ("tanh", True),
           "asin": ("asinh", True), "atan": ("atanh", True)}


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name", sorted(DERIVED))
def test_circular_functions_follow_hyperbolic_definitions(name, dtype):
    partner, times_neg_i = DERIVED[name]
    z = np.array(GRID, dtype=dtype)
    got = fg_apply(name, z, dtype)
    w = fg_apply(partner, _mul_i(z), dtype)
    want = _mul_neg_i(w) if times_neg_i else w
    bad = [(v, a, b) for v, a, b in zip(z, got, want) if not same_complex(a, b)]
    assert not bad, bad[:5]


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name,ln", [("log2", math.log(2)), ("log10", math.log(10))])
def test_log2_log10_scale_log(name, ln, dtype):
    z = np.array(GRID, dtype=dtype)
    got = fg_apply(name, z, dtype)
    w = fg_apply("log", z, dtype)
    # componentwise: NumPy's complex / real turns infinities into NaN
    want = np.array([complex(v.real / ln, v.imag / ln) for v in w], dtype=dtype)
    bad = [(v, a, b) for v, a, b in zip(z, got, want) if not same_complex(a, b)]
    assert not bad, bad[:5]


# --- finite inputs: signed zeros on the branch cuts, as NumPy (C99) gives them

NP_NAME = {"acos": "arccos", "acosh": "arccosh", "asin": "arcsin", "asinh": "arcsinh",
           "atan": "arctan", "atanh": "arctanh"}
CUT_VALUES = [0.0, -0.0, 0.25, -0.25, 1.0, -1.0, 3.0, -3.0]


def np_ref(name, z):
    with np.errstate(all="ignore"):
        return getattr(np, NP_NAME.get(name, name))(z)


@pytest.mark.parametrize("name", [f for f in FUNCS if f not in ("log1p", "expm1")])
def test_signed_zeros_and_cuts_match_numpy(name):
    # complex128 only: NumPy evaluates complex64 in single precision with libm's cf
    # functions, whose last bits differ from a double reference.
    z = np.array([complex(a, b) for a in CUT_VALUES for b in CUT_VALUES], dtype=np.complex128)
    got, want = fg_apply(name, z, np.complex128), np_ref(name, z)
    bad = []
    for v, g, w in zip(z, got, want):
        for p, q in ((g.real, w.real), (g.imag, w.imag)):
            ok = (math.isnan(p) and math.isnan(q)) or p == q or math.isclose(p, q, rel_tol=1e-14, abs_tol=1e-300)
            # the sign decides the side of a cut: it must agree wherever NumPy's
            # component is a (signed) zero or clearly away from it
            if ok and not math.isnan(q) and (q == 0 or abs(q) > 1e-12):
                ok = math.copysign(1, p) == math.copysign(1, q)
            if not ok:
                bad.append((v, g, w))
                break
    assert not bad, bad[:6]


def test_documented_cut_examples():
    c = lambda *v: np.array(v, dtype=np.complex128)  # noqa: E731
    got = fg_apply("sqrt", c(complex(-1, -0.0), complex(-1, 0.0), complex(-4, -0.0)), np.complex128)
    for g, w in zip(got, [-1j, 1j, -2j]):
        assert g.real == 0 and not math.copysign(1, g.real) < 0 and g.imag == w.imag
    # log on the negative axis: +-pi by the sign of the zero
    got = fg_apply("log", c(complex(-1, 0.0), complex(-1, -0.0)), np.complex128)
    assert got[0].imag == PI and got[1].imag == -PI
    # acos / asin / atanh on (1, inf): the sign of the zero picks the side
    got = fg_apply("acos", c(complex(2, 0.0), complex(2, -0.0)), np.complex128)
    assert got[0].imag < 0 < got[1].imag
    got = fg_apply("atanh", c(complex(2, 0.0), complex(2, -0.0)), np.complex128)
    assert got[0].imag == pytest.approx(PI / 2) and got[1].imag == pytest.approx(-PI / 2)
    # exact values that were wrong through num_complex's formulas
    assert fg_apply("atanh", c(complex(-1, 0.0)), np.complex128)[0] == complex(-INF, 0.0)
    assert fg_apply("tanh", c(complex(800, 1)), np.complex128)[0].real == 1.0
    # sqrt near overflow and among subnormals: scaled, so finite and full precision
    for v in (complex(1.7e308, 1.7e308), complex(-1.7e308, 1e300), complex(5e-324, 5e-324),
              complex(-3e-320, 1e-323)):
        g = fg_apply("sqrt", c(v), np.complex128)[0]
        assert g == pytest.approx(cmath.sqrt(v), rel=1e-15), v
    e = fg_apply("exp", c(complex(709.9, 0.5)), np.complex128)[0]
    assert np.isfinite(e.real) and e.real == pytest.approx(cmath.exp(complex(709.9, 0.5)).real, rel=1e-12)


# --- accuracy on finite inputs


def _random(dtype, scale, n=3000, seed=0):
    rng = np.random.default_rng(seed)
    z = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) * scale
    return z.astype(dtype)


def assert_complex_close(got, want, rtol, what, atol=0.0):
    """|got - want| <= rtol |want| + atol for finite references; where the reference
    overflowed, the infinite components must match exactly and the others closely."""
    fin = np.isfinite(want)
    err = np.abs(got[fin] - want[fin])
    lim = rtol * np.abs(want[fin]) + atol
    bad = np.flatnonzero(err > lim)
    assert bad.size == 0, (what, got[fin][bad[:3]], want[fin][bad[:3]], (err[bad] / np.abs(want[fin][bad]))[:3])
    for part in (np.real, np.imag):
        g, w = part(got[~fin]), part(want[~fin])
        finite = np.isfinite(w)
        np.testing.assert_array_equal(g[~finite], w[~finite], err_msg=what)
        np.testing.assert_allclose(g[finite], w[finite], rtol=rtol, atol=atol, err_msg=what)


# (scale of the inputs, functions whose NumPy reference is accurate there). NumPy's
# log1p is ln(1 + z) in the target precision and its tan/tanh of complex64 lose
# digits near poles, so small-scale inputs of those are checked against series below.
SCALES = [(1.0, FUNCS), (1e-3, [f for f in FUNCS if f != "log1p"]), (30.0, FUNCS), (1e4, FUNCS)]


@pytest.mark.parametrize("dtype,rtol", [(np.complex64, 1e-5), (np.complex128, 1e-12)])
@pytest.mark.parametrize("scale,names", SCALES, ids=[str(s) for s, _ in SCALES])
def test_finite_inputs_match_numpy(dtype, rtol, scale, names):
    z = _random(dtype, scale)
    for name in names:
        got = fg_apply(name, z, dtype)
        # the reference: NumPy in double precision on the same (rounded) inputs
        want = np_ref(name, z.astype(np.complex128))
        if dtype == np.complex64:
            # values past float32's range are inf either way
            with np.errstate(all="ignore"):
                want = want.astype(np.complex64).astype(np.complex128)
        # atol: a few subnormal steps of the dtype, as a correctly rounded subnormal
        # result is only absolutely accurate
        atol = 8 * float(np.finfo(REAL_OF[dtype]).smallest_subnormal)
        assert_complex_close(got.astype(np.complex128), want, rtol, f"{name} {dtype.__name__} scale={scale}", atol)


# Leading Taylor terms: with |z| ~ 1e-6 (complex128) the first omitted term is
# ~1e-24 absolute, far below the rounding of a ~1e-6 result.
TAYLOR = {
    "log1p": lambda z: z - z**2 / 2 + z**3 / 3,
    "expm1": lambda z: z + z**2 / 2 + z**3 / 6,
    "asin": lambda z: z + z**3 / 6,
    "asinh": lambda z: z - z**3 / 6,
    "atan": lambda z: z - z**3 / 3,
    "atanh": lambda z: z + z**3 / 3,
    "sin": lambda z: z - z**3 / 6,
    "sinh": lambda z: z + z**3 / 6,
    "tan": lambda z: z + z**3 / 3,
    "tanh": lambda z: z - z**3 / 3,
}


@pytest.mark.parametrize("dtype,rtol,scale", [(np.complex64, 2e-6, 1e-4), (np.complex128, 1e-14, 1e-6)])
@pytest.mark.parametrize("name", sorted(TAYLOR))
def test_small_arguments_keep_relative_accuracy(name, dtype, rtol, scale):
    z = _random(dtype, scale, n=500, seed=1)
    got = fg_apply(name, z, dtype).astype(np.complex128)
    want = TAYLOR[name](z.astype(np.complex128))
    assert_complex_close(got, want, rtol, name)


# --- real sign: the standard's sign(-0) is 0, as NumPy's


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_real_sign_of_signed_zero_is_positive_zero(dtype):
    x = fg.asarray(np.array([-0.0, 0.0, -2.0, 3.0, NAN], dtype=dtype))
    got = np.asarray(fg.sign(x).numpy(), dtype=np.float64)
    assert list(np.signbit(got[:2])) == [False, False] and list(got[:4]) == [0.0, 0.0, -1.0, 1.0]
    assert math.isnan(got[4])
