"""The parity cases of test_wgpu_parity.py, one list per op family of the tensor core.
Shapes stay small (at most a few hundred elements) so the suite runs in a few minutes
on a software Vulkan driver."""

import math

import numpy as np

import ferrograd as fg
from wgpu_cases import (
    EXACT,
    SUMS,
    TOL,
    TRANS,
    Case,
    Inp,
    bools,
    int64s,
    layout_input,
    signed,
    small_ints,
    uniform,
)

RNG = np.random.default_rng(1111)
SHAPE = (5, 6)
ALL_LAYOUTS = ("contig", "transposed", "stepped", "negstep", "expanded")


def _gen_layouts(name, fn, gen, tol, grad=True, shape=SHAPE):
    """A case per layout of a 2-D input, plus zero-size (0, 6) and 0-d inputs."""
    out = [
        Case(f"{name}-{lay}", fn, [layout_input(RNG, lay, shape, gen)], grad=grad, tol=tol)
        for lay in ALL_LAYOUTS
    ]
    out.append(Case(f"{name}-zero", fn, [gen(RNG, (0, 6))], grad=grad, tol=tol))
    out.append(Case(f"{name}-0d", fn, [gen(RNG, ())], grad=grad, tol=tol))
    return out


# ----------------------------------------------------------------- unary math
_ROUND_EDGES = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -0.49, 0.51], dtype=np.float32)


def _with_halves(rng, shape):
    x = signed(0.1, 3.0)(rng, shape)
    flat = x.reshape(-1)
    n = min(flat.size, _ROUND_EDGES.size)
    flat[:n] = _ROUND_EDGES[:n]
    return flat.reshape(shape)


UNARY = [
    ("neg", lambda x: -x, signed(0.1, 3), TOL),
    ("abs", lambda x: x.abs(), signed(0.1, 3), TOL),
    ("sign", lambda x: x.sign(), signed(0.1, 3), TOL),
    ("floor", lambda x: x.floor(), _with_halves, TOL),
    ("ceil", lambda x: x.ceil(), _with_halves, TOL),
    ("round", lambda x: x.round(), _with_halves, TOL),
    ("exp", lambda x: x.exp(), uniform(-4, 4), TRANS),
    ("log", lambda x: x.log(), uniform(0.05, 5), TRANS),
    ("log1p", lambda x: x.log1p(), uniform(-0.9, 3), TRANS),
    ("expm1", lambda x: x.expm1(), uniform(-3, 3), TRANS),
    ("sqrt", lambda x: x.sqrt(), uniform(0.05, 5), TRANS),
    ("sin", lambda x: x.sin(), uniform(-4, 4), TRANS),
    ("cos", lambda x: x.cos(), uniform(-4, 4), TRANS),
    ("tanh", lambda x: x.tanh(), uniform(-3, 3), TRANS),
    ("sigmoid", lambda x: x.sigmoid(), uniform(-6, 6), TRANS),
    ("relu", lambda x: x.relu(), signed(0.1, 3), TOL),
    ("gelu", lambda x: x.gelu(), uniform(-4, 4), TRANS),
    ("gelu_tanh", lambda x: x.gelu("tanh"), uniform(-4, 4), TRANS),
    ("erf", lambda x: x.erf(), uniform(-3, 3), TRANS),
    ("fg.exp", lambda x: fg.exp(x), uniform(-2, 2), TRANS),
    ("square", lambda x: x.square(), signed(0.1, 3), TOL),
]

UNARY_CASES = [c for name, fn, gen, tol in UNARY for c in _gen_layouts(name, fn, gen, tol)]

# ----------------------------------------------------------------- binary arithmetic
_BINOPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "floordiv": lambda a, b: a // b,
    "mod": lambda a, b: a % b,
    "pow": lambda a, b: a**b,
    "maximum": lambda a, b: fg.maximum(a, b),
    "minimum": lambda a, b: fg.minimum(a, b),
}
_LHS = signed(0.2, 3)
_RHS = signed(0.5, 3)  # a divisor: no zeros
_POS = uniform(0.3, 2.5)  # pow's base: a non-integer exponent needs a positive one


def _binary_cases(name, op):
    lhs = _POS if name == "pow" else _LHS
    tol = TRANS if name in ("pow", "div", "floordiv", "mod") else TOL
    r = RNG
    shapes = [
        ("same", lhs(r, (5, 6)), _RHS(r, (5, 6))),
        ("bcast_row", lhs(r, (5, 6)), _RHS(r, (6,))),
        ("bcast_outer", lhs(r, (5, 1)), _RHS(r, (1, 6))),
        ("bcast_3d", lhs(r, (2, 1, 6)), _RHS(r, (3, 1))),
        ("with_0d", lhs(r, (5, 6)), _RHS(r, ())),
        ("0d_0d", lhs(r, ()), _RHS(r, ())),
        ("zero", lhs(r, (0, 6)), _RHS(r, (6,))),
    ]
    cases = [Case(f"{name}-{tag}", op, [a, b], tol=tol) for tag, a, b in shapes]
    cases.append(
        Case(
            f"{name}-transposed",
            op,
            [Inp(lhs(r, (6, 5)), lambda t: t.T), Inp(_RHS(r, (10, 6)), lambda t: t[1::2])],
            tol=tol,
        )
    )
    cases.append(Case(f"{name}-scalar", lambda a: op(a, 1.7), [lhs(r, (5, 6))], tol=tol))
    cases.append(Case(f"{name}-rscalar", lambda b: op(1.7, b), [_RHS(r, (5, 6))], tol=tol))
    cases.append(Case(f"{name}-intscalar", lambda a: op(a, 2), [lhs(r, (5, 6))], tol=tol))
    return cases


BINARY_CASES = [c for name, op in _BINOPS.items() for c in _binary_cases(name, op)]
# Integer exponents of negative bases are defined (PyTorch and NumPy agree).
BINARY_CASES += [
    Case("pow-neg_base_sq", lambda a: a**2, [_LHS(RNG, (5, 6))], tol=TRANS),
    Case("pow-neg_base_cube", lambda a: a**3.0, [_LHS(RNG, (5, 6))], tol=TRANS),
    Case("fg.add-fn", lambda a, b: fg.add(a, b), [_LHS(RNG, (4, 6)), _RHS(RNG, (6,))]),
    Case("fg.divide-fn", lambda a, b: fg.divide(a, b), [_LHS(RNG, (4, 6)), _RHS(RNG, (4, 6))]),
]

# ----------------------------------------------------------------- comparisons, logical
_CMPS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def _cmp_cases(name, op):
    r, ints = RNG, small_ints()
    return [
        Case(f"{name}-same", op, [ints(r, (5, 6)), ints(r, (5, 6))], grad=False, tol=EXACT),
        Case(f"{name}-bcast", op, [ints(r, (5, 6)), ints(r, (6,))], grad=False, tol=EXACT),
        Case(f"{name}-scalar", lambda a: op(a, 0.0), [ints(r, (5, 6))], grad=False, tol=EXACT),
        Case(f"{name}-rscalar", lambda a: op(1, a), [ints(r, (5, 6))], grad=False, tol=EXACT),
        Case(
            f"{name}-transposed",
            op,
            [Inp(ints(r, (6, 5)), lambda t: t.T), ints(r, (5, 6))],
            grad=False,
            tol=EXACT,
        ),
        Case(f"{name}-int64", op, [int64s(-2, 3)(r, (5, 6)), int64s(-2, 3)(r, (5, 6))], tol=EXACT),
        Case(f"{name}-zero", op, [ints(r, (0, 6)), ints(r, (6,))], grad=False, tol=EXACT),
    ]


CMP_CASES = [c for name, op in _CMPS.items() for c in _cmp_cases(name, op)]


def _zeros_sprinkled(rng, shape):
    x = small_ints(-1, 2)(rng, shape)  # about a third of them zero: falsy
    return x


_LOGIC = {
    "and": fg.logical_and,
    "or": fg.logical_or,
    "xor": fg.logical_xor,
}
LOGIC_CASES = []
for _n, _f in _LOGIC.items():
    LOGIC_CASES += [
        Case(f"logical_{_n}-bool", _f, [bools(RNG, (5, 6)), bools(RNG, (5, 6))], tol=EXACT),
        Case(f"logical_{_n}-bool_bcast", _f, [bools(RNG, (5, 6)), bools(RNG, (6,))], tol=EXACT),
        Case(
            f"logical_{_n}-float",
            _f,
            [_zeros_sprinkled(RNG, (5, 6)), _zeros_sprinkled(RNG, (5, 6))],
            grad=False,
            tol=EXACT,
        ),
        Case(
            f"logical_{_n}-bool_transposed",
            _f,
            [Inp(bools(RNG, (6, 5)), lambda t: t.T), bools(RNG, (5, 6))],
            tol=EXACT,
        ),
    ]
LOGIC_CASES += [
    Case("logical_not-bool", fg.logical_not, [bools(RNG, (5, 6))], tol=EXACT),
    Case("logical_not-float", fg.logical_not, [_zeros_sprinkled(RNG, (5, 6))], grad=False, tol=EXACT),
    Case("logical_not-bool_stepped", fg.logical_not, [Inp(bools(RNG, (10, 6)), lambda t: t[::2])], tol=EXACT),
    Case("logical_not-zero", fg.logical_not, [bools(RNG, (0, 6))], tol=EXACT),
]


def _specials(rng, shape):
    x = rng.standard_normal(shape).astype(np.float32).reshape(-1)
    x[0::5] = np.nan
    x[1::7] = np.inf
    x[2::9] = -np.inf
    return x.reshape(shape)


SPECIAL_CASES = [
    Case(f"{name}-{tag}", getattr(fg, name), [inp], grad=False, tol=EXACT)
    for name in ("isnan", "isinf", "isfinite")
    for tag, inp in (
        ("contig", Inp(_specials(RNG, (5, 6)))),
        ("transposed", Inp(_specials(RNG, (6, 5)), lambda t: t.T)),
        ("zero", Inp(_specials(RNG, (0, 3)))),
    )
]
# NaN and infinities flow through elementwise math on the GPU as on the CPU.
SPECIAL_CASES += [
    Case("exp-specials", lambda x: x.exp(), [_specials(RNG, (5, 6))], grad=False, tol=TRANS),
    Case("relu-specials", lambda x: x.relu(), [_specials(RNG, (5, 6))], grad=False, tol=TOL),
    Case("maximum-specials", fg.maximum, [_specials(RNG, (5, 6)), signed(0.1, 2)(RNG, (5, 6))], grad=False),
    Case("sum-specials", lambda x: x.sum(1), [_specials(RNG, (5, 6))], grad=False, tol=SUMS),
]

# ----------------------------------------------------------------- where, clip
WHERE_CASES = [
    Case("where-same", fg.where, [Inp(bools(RNG, (5, 6)), grad=False), _LHS(RNG, (5, 6)), _RHS(RNG, (5, 6))]),
    Case("where-bcast", fg.where, [Inp(bools(RNG, (5, 1)), grad=False), _LHS(RNG, (6,)), _RHS(RNG, (5, 6))]),
    Case("where-scalar", lambda c, x: fg.where(c, x, 0.0), [Inp(bools(RNG, (5, 6))), _LHS(RNG, (5, 6))]),
    Case("where-rscalar", lambda c, y: fg.where(c, -1.5, y), [Inp(bools(RNG, (5, 6))), _LHS(RNG, (5, 6))]),
    Case("where-cmp_on_device", lambda x, y: fg.where(x > y, x, y), [_LHS(RNG, (5, 6)), _LHS(RNG, (5, 6))]),
    Case(
        "where-transposed",
        fg.where,
        [Inp(bools(RNG, (6, 5)), lambda t: t.T), Inp(_LHS(RNG, (6, 5)), lambda t: t.T), _RHS(RNG, (5, 6))],
    ),
    Case("where-zero", fg.where, [Inp(bools(RNG, (0, 6))), _LHS(RNG, (0, 6)), _RHS(RNG, (6,))]),
]

CLIP_CASES = [
    Case("clip-both", lambda x: x.clip(-1.0, 1.5), [_LHS(RNG, (5, 6))]),
    Case("clip-min", lambda x: fg.clip(x, min=-0.5), [_LHS(RNG, (5, 6))]),
    Case("clip-max", lambda x: fg.clip(x, max=0.5), [_LHS(RNG, (5, 6))]),
    Case("clip-int_bounds", lambda x: x.clip(-1, 1), [_LHS(RNG, (5, 6))]),
    Case("clip-transposed", lambda x: x.clip(-1.0, 1.0), [Inp(_LHS(RNG, (6, 5)), lambda t: t.T)]),
    Case("clip-zero", lambda x: x.clip(-1.0, 1.0), [_LHS(RNG, (0, 6))]),
]

# ----------------------------------------------------------------- reductions
_AXES = [
    (None, False),
    (None, True),
    (0, False),
    (1, False),
    (-1, False),
    (-2, True),
    ((0, 2), False),
    ((-1, 0), True),
]
_ARG_AXES = [(None, False), (0, False), (-1, False), (1, True)]


def _near_one(rng, shape):
    """Magnitudes near 1 with mixed signs: products neither overflow nor vanish."""
    return (rng.uniform(0.6, 1.4, shape) * rng.choice([-1.0, 1.0], shape)).astype(np.float32)


_REDUCTIONS = {
    "sum": (lambda x, a, k: x.sum(a, k), _LHS),
    "mean": (lambda x, a, k: x.mean(a, k), _LHS),
    "var": (lambda x, a, k: x.var(a, k), _LHS),
    "var_c1": (lambda x, a, k: fg.var(x, a, keepdims=k, correction=1), _LHS),
    "std": (lambda x, a, k: x.std(a, k), _LHS),
    "std_c1": (lambda x, a, k: fg.std(x, a, keepdims=k, correction=1), _LHS),
    "max": (lambda x, a, k: x.max(a, k), uniform(-3, 3)),
    "min": (lambda x, a, k: x.min(a, k), uniform(-3, 3)),
    "prod": (lambda x, a, k: x.prod(a, k), _near_one),
    "logsumexp": (lambda x, a, k: x.logsumexp(a, k), uniform(-3, 3)),
}


def _fmt_axis(a, k):
    s = "all" if a is None else (str(a) if isinstance(a, int) else "_".join(map(str, a)))
    return s + ("_kd" if k else "")


def _reduction_cases():
    cases = []
    for name, (f, gen) in _REDUCTIONS.items():
        for a, k in _AXES:
            cases.append(Case(f"{name}-{_fmt_axis(a, k)}", lambda x, f=f, a=a, k=k: f(x, a, k), [gen(RNG, (3, 4, 5))], tol=SUMS))
        cases.append(
            Case(
                f"{name}-permuted",
                lambda x, f=f: f(x, (0, 1), False),
                [Inp(gen(RNG, (5, 3, 4)), lambda t: t.permute(1, 2, 0))],
                tol=SUMS,
            )
        )
        cases.append(Case(f"{name}-stepped", lambda x, f=f: f(x, 1, False), [Inp(gen(RNG, (8, 6)), lambda t: t[::2, ::-1])], tol=SUMS))
        cases.append(Case(f"{name}-expanded", lambda x, f=f: f(x, None, False), [Inp(gen(RNG, (6,)), lambda t: t.broadcast_to((4, 6)))], tol=SUMS))
        cases.append(Case(f"{name}-zero_keep", lambda x, f=f: f(x, 1, False), [gen(RNG, (0, 6))], tol=SUMS))
        cases.append(Case(f"{name}-0d", lambda x, f=f: f(x, None, False), [gen(RNG, ())], tol=SUMS))
        # A wide row: more elements than one workgroup reduces alone.
        cases.append(Case(f"{name}-wide", lambda x, f=f: f(x, -1, False), [gen(RNG, (3, 700))], tol=SUMS))
    # Reducing an empty axis gives the identity (sum 0, prod 1, logsumexp -inf, mean NaN).
    for name in ("sum", "prod", "logsumexp", "mean"):
        f, gen = _REDUCTIONS[name]
        cases.append(Case(f"{name}-zero_empty_axis", lambda x, f=f: f(x, 0, False), [gen(RNG, (0, 6))], tol=SUMS))
    for name in ("argmax", "argmin"):
        for a, k in _ARG_AXES:
            cases.append(
                Case(
                    f"{name}-{_fmt_axis(a, k)}",
                    lambda x, n=name, a=a, k=k: getattr(x, n)(a, k),
                    [uniform(-3, 3)(RNG, (3, 4, 5))],
                    grad=False,
                    tol=EXACT,
                )
            )
        cases.append(Case(f"{name}-transposed", lambda x, n=name: getattr(x, n)(0), [Inp(uniform(-3, 3)(RNG, (6, 5)), lambda t: t.T)], grad=False, tol=EXACT))
        # Ties: NumPy and PyTorch return the first occurrence.
        cases.append(Case(f"{name}-ties", lambda x, n=name: getattr(x, n)(1), [small_ints(0, 2)(RNG, (5, 6))], grad=False, tol=EXACT))
    for name in ("all", "any"):
        for a, k in _AXES:
            cases.append(Case(f"{name}-{_fmt_axis(a, k)}", lambda x, n=name, a=a, k=k: getattr(x, n)(a, k), [RNG.random((3, 4, 5)) < 0.8], grad=False, tol=EXACT))
        cases.append(Case(f"{name}-float", lambda x, n=name: getattr(x, n)(1), [small_ints(-1, 2)(RNG, (5, 6))], grad=False, tol=EXACT))
        cases.append(Case(f"{name}-zero_empty_axis", lambda x, n=name: getattr(x, n)(0), [bools(RNG, (0, 6))], grad=False, tol=EXACT))
    # Counting on the device: a bool sum is int64 (accuracy = (pred == label).sum()).
    cases.append(Case("sum-bool", lambda x: x.sum(), [bools(RNG, (5, 6))], grad=False, tol=EXACT))
    cases.append(Case("sum-bool_axis", lambda x: x.sum(0), [bools(RNG, (5, 6))], grad=False, tol=EXACT))
    return cases


REDUCTION_CASES = _reduction_cases()

SOFTMAX_CASES = [
    Case(f"{name}-{tag}", lambda x, n=name, a=axis: getattr(x, n)(a), [inp], tol=SUMS)
    for name in ("softmax", "log_softmax")
    for tag, axis, inp in (
        ("last", -1, Inp(uniform(-4, 4)(RNG, (3, 4, 5)))),
        ("first", 0, Inp(uniform(-4, 4)(RNG, (3, 4, 5)))),
        ("middle", 1, Inp(uniform(-4, 4)(RNG, (3, 4, 5)))),
        ("transposed", -1, Inp(uniform(-4, 4)(RNG, (6, 5)), lambda t: t.T)),
        ("wide", -1, Inp(uniform(-4, 4)(RNG, (2, 700)))),
        ("large_logits", -1, Inp(uniform(80, 100)(RNG, (4, 6)))),
        ("zero", -1, Inp(uniform(-4, 4)(RNG, (0, 6)))),
    )
]
SOFTMAX_CASES += [
    Case("fg.softmax-fn", lambda x: fg.softmax(x, axis=1), [uniform(-4, 4)(RNG, (4, 6))], tol=SUMS),
    Case("fg.log_softmax-fn", lambda x: fg.log_softmax(x, dim=0), [uniform(-4, 4)(RNG, (4, 6))], tol=SUMS),
]

# ----------------------------------------------------------------- matmul
_N = uniform(-1, 1)


def _mm(tag, a, b, fn=lambda a, b: a @ b):
    return Case(f"matmul-{tag}", fn, [a, b], tol=SUMS)


MATMUL_CASES = [
    _mm("1d_1d", _N(RNG, (7,)), _N(RNG, (7,))),
    _mm("1d_2d", _N(RNG, (7,)), _N(RNG, (7, 5))),
    _mm("2d_1d", _N(RNG, (4, 7)), _N(RNG, (7,))),
    _mm("2d", _N(RNG, (9, 7)), _N(RNG, (7, 5))),
    _mm("2d_odd", _N(RNG, (33, 17)), _N(RNG, (17, 19))),
    _mm("batched", _N(RNG, (3, 4, 7)), _N(RNG, (3, 7, 5))),
    _mm("bcast_batch", _N(RNG, (2, 1, 4, 7)), _N(RNG, (3, 7, 5))),
    _mm("bcast_2d_rhs", _N(RNG, (3, 4, 7)), _N(RNG, (7, 5))),
    _mm("1d_batched", _N(RNG, (7,)), _N(RNG, (2, 7, 5))),
    _mm("a_T", Inp(_N(RNG, (7, 4)), lambda t: t.T), _N(RNG, (7, 5))),
    _mm("b_T", _N(RNG, (4, 7)), Inp(_N(RNG, (5, 7)), lambda t: t.T)),
    _mm("both_T", Inp(_N(RNG, (7, 4)), lambda t: t.T), Inp(_N(RNG, (5, 7)), lambda t: t.T)),
    _mm("mT_batched", Inp(_N(RNG, (3, 7, 4)), lambda t: t.mT), Inp(_N(RNG, (3, 5, 7)), lambda t: t.permute(0, 2, 1))),
    _mm("permuted_batch", Inp(_N(RNG, (4, 3, 7)), lambda t: t.permute(1, 0, 2)), _N(RNG, (3, 7, 5))),
    _mm("stepped", Inp(_N(RNG, (8, 7)), lambda t: t[::2]), Inp(_N(RNG, (7, 10)), lambda t: t[:, 1::2])),
    _mm("expanded", Inp(_N(RNG, (4, 7)), lambda t: t.broadcast_to((3, 4, 7))), _N(RNG, (3, 7, 5))),
    _mm("zero_m", _N(RNG, (0, 7)), _N(RNG, (7, 5))),
    _mm("zero_k", _N(RNG, (4, 0)), _N(RNG, (0, 5))),
    _mm("fn", _N(RNG, (4, 7)), _N(RNG, (7, 5)), fn=lambda a, b: fg.matmul(a, b)),
]

# ----------------------------------------------------------------- copies and casts
_F2I = signed(0.2, 5)  # casting float -> int truncates toward zero


def _cast(tag, gen, src_shape, dt, view=None, grad=False):
    return Case(f"astype-{tag}", lambda x, dt=dt: x.astype(dt), [Inp(gen(RNG, src_shape), view, grad=grad)], grad=grad, tol=EXACT)


COPY_CASES = [
    Case("contiguous-transposed", lambda x: x.contiguous(), [Inp(_LHS(RNG, (6, 5)), lambda t: t.T)], tol=EXACT),
    Case("contiguous-stepped", lambda x: x.contiguous(), [Inp(_LHS(RNG, (10, 6)), lambda t: t[::2, ::-3])], tol=EXACT),
    Case("contiguous-expanded", lambda x: x.contiguous(), [Inp(_LHS(RNG, (6,)), lambda t: t.broadcast_to((4, 6)))], tol=EXACT),
    Case("contiguous-permuted", lambda x: x.contiguous(), [Inp(_LHS(RNG, (2, 3, 4)), lambda t: t.permute(2, 0, 1))], tol=EXACT),
    Case("contiguous-0d", lambda x: x.contiguous(), [_LHS(RNG, ())], tol=EXACT),
    Case("clone-transposed", lambda x: x.clone(), [Inp(_LHS(RNG, (6, 5)), lambda t: t.T)], tol=EXACT),
    _cast("f32_i64", _F2I, (5, 6), fg.int64),
    _cast("f32_bool", small_ints(-1, 2), (5, 6), fg.bool),
    _cast("i64_f32", int64s(-1000, 1000), (5, 6), fg.float32),
    _cast("i64_bool", int64s(-2, 3), (5, 6), fg.bool),
    _cast("bool_f32", bools, (5, 6), fg.float32),
    _cast("bool_i64", bools, (5, 6), fg.int64),
    _cast("f32_f32", _LHS, (5, 6), fg.float32, grad=True),
    _cast("f32_i64_transposed", _F2I, (6, 5), fg.int64, view=lambda t: t.T),
    _cast("i64_f32_stepped", int64s(-9, 9), (10, 6), fg.float32, view=lambda t: t[::2]),
    _cast("bool_f32_zero", bools, (0, 6), fg.float32),
    Case("astype-float_grad_flows", lambda x: x.astype(fg.int64).astype(fg.float32) * x, [_F2I(RNG, (5, 6))]),
]

# ----------------------------------------------------------------- views feeding ops
VIEW_CASES = [
    Case("view-reshape_of_transposed", lambda x: x.T.reshape(3, 10).exp(), [_N(RNG, (5, 6))], tol=TRANS),
    Case("view-reshape_then_sum", lambda x: x.reshape(2, 15).sum(1), [_N(RNG, (5, 6))], tol=SUMS),
    Case("view-expand_mul", lambda x, y: x.broadcast_to((4, 5, 6)) * y, [_N(RNG, (5, 6)), _N(RNG, (4, 1, 1))]),
    Case("view-expand_method", lambda x: x.reshape(1, 6).expand(4, 6) - 1.0, [_N(RNG, (6,))]),
    Case("view-permute_matmul", lambda x, y: x.permute(2, 0, 1) @ y, [_N(RNG, (4, 7, 3)), _N(RNG, (7, 5))], tol=SUMS),
    Case("view-unsqueeze_squeeze", lambda x: (x.unsqueeze(0) + x.unsqueeze(1)).squeeze(), [_N(RNG, (6,))]),
    Case("view-flatten_softmax", lambda x: x.permute(1, 0, 2).flatten(1).softmax(-1), [_N(RNG, (2, 3, 4))], tol=SUMS),
    Case("view-chain_of_views", lambda x: x[1:, ::2].T[::-1].relu(), [_N(RNG, (6, 8))]),
]
