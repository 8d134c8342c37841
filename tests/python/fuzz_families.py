"""The op families of the fuzz sweep: for each, a hypothesis strategy that draws a
case (a plain dict) and a function that runs it against NumPy (see fuzz_support)."""

import operator

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.lib.array_utils import normalize_axis_index

import ferrograd as fg
from fuzz_support import (
    DTYPES,
    LAYOUTS,
    NP,
    Refuse,
    SweepFailure,
    check,
    check_device,
    float_result,
    is_float,
    kind_of,
    promote,
    compare,
    store,
    to_host,
    values,
)

seeds = st.integers(0, 2**32 - 1)
dtypes = st.sampled_from(DTYPES)
layouts = st.sampled_from(LAYOUTS)
REFUSE = (TypeError, RuntimeError)


def _f64(x):
    return np.asarray(x).astype(np.float64)


def _cast(x, dtype):
    """An operand (array or Python scalar) converted to a NumPy array of dtype."""
    return np.asarray(x).astype(NP[dtype])


def _tol(dtype, f32, f64):
    return f32 if dtype == "float32" else f64 if dtype == "float64" else 0.0


@st.composite
def broadcast_shapes(draw, n, max_dims=3):
    """n mutually broadcastable shapes; sometimes one axis of the result is 0 in every
    input that does not broadcast along it (zero-size operands)."""
    bs = draw(hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=max_dims, min_side=1, max_side=4))
    shapes = [list(s) for s in bs.input_shapes]
    result = bs.result_shape
    if result and draw(st.integers(0, 5)) == 0:
        r = draw(st.integers(0, len(result) - 1))
        hit = False
        for s in shapes:
            if len(s) > r and (s[-1 - r] != 1 or result[-1 - r] == 1):
                s[-1 - r] = 0
                hit = True
        assert hit
    return [tuple(s) for s in shapes]


def small_shape(min_dims=0, max_dims=3):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=4)


def _run(case, cpu_call, reference, compare_kw, dev_call=None):
    check(cpu_call, reference, compare_kw=compare_kw)
    if case.get("device", "cpu") != "cpu" and dev_call is not None:
        check_device(cpu_call, dev_call)


def _operands(case, specs, value_kw=None):
    """Build (numpy values, cpu tensors, device tensors) for specs: each spec is
    ("t", dtype, layout, shape) or ("s", python scalar)."""
    rng = np.random.default_rng(case["seed"])
    value_kw = value_kw or [{}] * len(specs)
    arrays, cpu, dev = [], [], []
    on_dev = case.get("device", "cpu") != "cpu"
    for spec, kw in zip(specs, value_kw):
        if spec[0] == "s":
            arrays.append(spec[1])
            cpu.append(spec[1])
            dev.append(spec[1])
            continue
        _, dtype, layout, shape = spec
        s = store(rng, shape, dtype, layout, **kw)
        arrays.append(s.array)
        cpu.append(s.tensor()[1])
        dev.append(s.tensor(case["device"])[1] if on_dev and dtype == "float32" else None)
    if any(d is None for d in dev):
        dev = None
    return arrays, cpu, dev


# ---------------------------------------------------------------------------
# binary elementwise operators
# ---------------------------------------------------------------------------

ARITH = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": operator.pow,
}
MINMAX = {"maximum": (fg.maximum, np.maximum), "minimum": (fg.minimum, np.minimum)}
CMP = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}
BINARY_OPS = list(ARITH) + list(MINMAX) + list(CMP)
SCALARS = [True, False, 0, 2, -3, 0.5, -1.5, 2.0, 0.0]
# Power-of-two divisors keep floor(a / b) exact, so // and % cannot depend on how
# the quotient is rounded (0 and infinities test the special cases).
DIVISORS = np.array([-2.0, -1.0, -0.5, 0.25, 0.5, 1.0, 4.0, 0.0, np.inf, -np.inf])


@st.composite
def binary_case(draw, devices):
    op = draw(st.sampled_from(BINARY_OPS))
    sa, sb = draw(broadcast_shapes(2))
    specs = []
    for shape in (sa, sb):
        if draw(st.integers(0, 5)) == 0:
            specs.append(("s", draw(st.sampled_from(SCALARS))))
        else:
            specs.append(("t", draw(dtypes), draw(layouts), shape))
    if all(s[0] == "s" for s in specs):
        specs[0] = ("t", draw(dtypes), draw(layouts), sa)
    return dict(family="binary", op=op, specs=specs, specials=draw(st.booleans()), seed=draw(seeds), device=draw(st.sampled_from(devices)))


def binary_ref(op, a, b):
    ka, kb = kind_of(a), kind_of(b)
    r = promote(ka, kb)
    bools = [k in ("bool", "pybool") for k in (ka, kb)]
    if op in CMP:
        return CMP[op](_cast(a, r), _cast(b, r))
    if op in MINMAX:
        return MINMAX[op][1](_cast(a, r), _cast(b, r))
    if op == "sub" and any(bools):
        # PyTorch refuses subtraction with a bool operand; ferrograd refuses bool - bool
        # and computes bool - int in int64 as NumPy does.
        alt = None if all(bools) else _cast(a, r) - _cast(b, r)
        raise Refuse(REFUSE, alt, "sub with a bool operand")
    if r == "bool":
        if op == "add":
            return np.logical_or(_cast(a, r), _cast(b, r))
        if op == "mul":
            return np.logical_and(_cast(a, r), _cast(b, r))
        if op == "truediv":
            return (_f64(a) / _f64(b)).astype(np.float32)
        # //, % and ** of two bools: computed in int64 (PyTorch has no bool kernels).
        alt = ARITH[op](_cast(a, "int64"), _cast(b, "int64"))
        raise Refuse(REFUSE, alt, f"{op} of two bools")
    if op == "truediv":
        rr = float_result(r)
        return (_f64(_cast(a, rr)) / _f64(_cast(b, rr))).astype(NP[rr])
    if r == "int64":
        if op == "pow" and np.any(_cast(b, r) < 0):
            raise Refuse((ValueError, RuntimeError), None, "int ** negative int")
        return ARITH[op](_cast(a, r), _cast(b, r))
    return ARITH[op](_f64(_cast(a, r)), _f64(_cast(b, r))).astype(NP[r])


def binary_run(case):
    op = case["op"]
    specs = [tuple(s) for s in case["specs"]]
    kw = []
    for i, s in enumerate(specs):
        d = {"specials": case["specials"]}
        if i == 1 and op in ("floordiv", "mod") and s[0] == "t" and is_float(s[1]):
            d = {"choices": DIVISORS if case["specials"] else DIVISORS[:7]}
        if i == 1 and op == "pow" and s[0] == "t" and s[1] == "int64":
            d = {"low": 0, "high": 4}
        kw.append(d)
    arrays, cpu, dev = _divisor_values(case, specs, kw)
    r = promote(*(kind_of(a) for a in arrays))
    fgop = MINMAX[op][0] if op in MINMAX else CMP.get(op) or ARITH[op]
    if op == "truediv":
        r = float_result(r)
    if op in ("pow",):
        tol = dict(rtol=_tol(r, 1e-5, 1e-13))
    elif op == "mod":
        tol = dict(rtol=_tol(r, 1e-6, 1e-15), scale=np.abs(_f64(arrays[0])) + np.abs(_f64(arrays[1])))
    else:
        tol = dict(rtol=_tol(r, 1e-6, 1e-15))
    _run(
        case,
        lambda: fgop(cpu[0], cpu[1]),
        lambda: binary_ref(op, arrays[0], arrays[1]),
        tol,
        None if dev is None else (lambda: fgop(dev[0], dev[1])),
    )


def _divisor_values(case, specs, kw):
    """_operands, with float divisors drawn from a fixed set where asked."""
    plain = [{k: v for k, v in d.items() if k != "choices"} for d in kw]
    arrays, cpu, dev = _operands(case, specs, plain)
    for i, d in enumerate(kw):
        if "choices" in d:
            rng = np.random.default_rng(case["seed"] + 1)
            _, dtype, layout, shape = specs[i]
            s = store(rng, shape, dtype, layout)
            s.base = rng.choice(d["choices"], size=s.base.shape).astype(NP[dtype])
            arrays[i] = s.array
            cpu[i] = s.tensor()[1]
            if dev is not None:
                dev[i] = s.tensor(case["device"])[1]
    return arrays, cpu, dev


# ---------------------------------------------------------------------------
# unary functions
# ---------------------------------------------------------------------------

FLOAT_FNS = {
    "exp": np.exp,
    "log": np.log,
    "log1p": np.log1p,
    "expm1": np.expm1,
    "sqrt": np.sqrt,
    "sin": np.sin,
    "cos": np.cos,
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0))),
    "erf": lambda x: _erf(x),
}
_erf = np.vectorize(__import__("math").erf, otypes=[np.float64])
SAME_FNS = {
    "neg": (operator.neg, np.negative),
    "abs": (fg.abs, np.abs),
    "relu": (fg.relu, lambda x: np.maximum(x, np.zeros((), x.dtype))),
    "sign": (fg.sign, np.sign),
    "floor": (fg.floor, np.floor),
    "ceil": (fg.ceil, np.ceil),
    "round": (fg.round, np.round),
    "square": (lambda t: t.square(), np.square),
}
PRED_FNS = {"isnan": np.isnan, "isinf": np.isinf, "isfinite": np.isfinite, "logical_not": np.logical_not}
UNARY_OPS = list(FLOAT_FNS) + list(SAME_FNS) + list(PRED_FNS)


@st.composite
def unary_case(draw, devices):
    return dict(
        family="unary",
        op=draw(st.sampled_from(UNARY_OPS)),
        dtype=draw(dtypes),
        layout=draw(layouts),
        shape=draw(small_shape()),
        specials=draw(st.booleans()),
        seed=draw(seeds),
        device=draw(st.sampled_from(devices)),
    )


def unary_ref(op, x):
    dt = x.dtype.name
    if op in PRED_FNS:
        return PRED_FNS[op](x)
    if op in FLOAT_FNS:
        r = float_result(dt)
        out = FLOAT_FNS[op](_f64(_cast(x, r))).astype(NP[r])
        if op == "gelu" and not is_float(dt):
            raise Refuse(REFUSE, out, "gelu of an integer tensor")
        return out
    if dt == "bool":
        if op == "neg":
            raise Refuse(REFUSE, None, "negation of bool")
        if op in ("abs", "floor", "ceil", "round", "sign"):
            raise Refuse(REFUSE, x.copy(), f"{op} of bool")
        if op == "square":
            raise Refuse(REFUSE, x.copy(), "square of bool")
        raise Refuse(REFUSE, None, f"{op} of bool")
    return SAME_FNS[op][1](x)


def unary_run(case):
    op = case["op"]
    spec = ("t", case["dtype"], case["layout"], tuple(case["shape"]))
    (x,), (t,), dev = _operands(case, [spec], [{"specials": case["specials"]}])
    fn = SAME_FNS[op][0] if op in SAME_FNS else getattr(fg, op)
    r = float_result(case["dtype"]) if op in FLOAT_FNS else case["dtype"]
    tol = dict(rtol=_tol(r, 1e-4, 1e-12), atol=_tol(r, 1e-6, 1e-13)) if op in FLOAT_FNS else {}
    _run(case, lambda: fn(t), lambda: unary_ref(op, x), tol, None if dev is None else (lambda: fn(dev[0])))


# ---------------------------------------------------------------------------
# matmul: 1-D, 2-D and batched operands, every dtype pair
# ---------------------------------------------------------------------------


@st.composite
def matmul_shapes(draw):
    m, k, n = (draw(st.integers(0, 4)) for _ in range(3))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, min_side=1, max_side=3))
    ba, bb = batch.input_shapes
    kind_a = draw(st.sampled_from(["vec", "mat", "batch", "batch", "scalar"] if draw(st.integers(0, 9)) == 0 else ["vec", "mat", "batch"]))
    kind_b = draw(st.sampled_from(["vec", "mat", "batch"]))
    kb = k + 1 if draw(st.integers(0, 9)) == 0 else k
    sa = {"vec": (k,), "mat": (m, k), "batch": tuple(ba) + (m, k), "scalar": ()}[kind_a]
    sb = {"vec": (kb,), "mat": (kb, n), "batch": tuple(bb) + (kb, n)}[kind_b]
    return sa, sb


@st.composite
def matmul_case(draw, devices):
    sa, sb = draw(matmul_shapes())
    return dict(
        family="matmul",
        specs=[("t", draw(dtypes), draw(layouts), sa), ("t", draw(dtypes), draw(layouts), sb)],
        specials=draw(st.integers(0, 4)) == 0,
        seed=draw(seeds),
        device=draw(st.sampled_from(devices)),
    )


def matmul_ref(a, b):
    r = promote(a.dtype.name, b.dtype.name)
    if r == "bool":
        raise Refuse(REFUSE + (ValueError,), None, "matmul of two bools (refused, before or after the shape check)")
    if a.ndim == 0 or b.ndim == 0:
        raise Refuse((ValueError,), None, "matmul of a 0-d operand")
    out = np.matmul(_f64(a), _f64(b))  # raises ValueError on mismatched shapes
    if r == "int64":
        out = np.matmul(a.astype(np.int64), b.astype(np.int64))
    out = out.astype(NP[r]) if r != "bool" else out
    if "bool" in (a.dtype.name, b.dtype.name):
        # PyTorch has no bool matmul; a bool operand promoted to int64/float is fine.
        raise Refuse(REFUSE, None if r == "bool" else out, "matmul with a bool operand")
    return out


def matmul_run(case):
    specs = [tuple(s) for s in case["specs"]]
    (a, b), (ta, tb), dev = _operands(case, specs, [{"specials": case["specials"]}] * 2)
    r = promote(a.dtype.name, b.dtype.name)
    tol = {}
    if is_float(r) and a.ndim and b.ndim:
        try:
            scale = np.matmul(np.abs(_f64(a)), np.abs(_f64(b)))
        except ValueError:
            scale = None
        tol = dict(rtol=_tol(r, 1e-5, 1e-13), atol=_tol(r, 1e-6, 1e-14), scale=scale)
    _run(case, lambda: ta @ tb, lambda: matmul_ref(a, b), tol, None if dev is None else (lambda: dev[0] @ dev[1]))
    if case["seed"] % 3 == 0:
        check(lambda: fg.matmul(ta, tb), lambda: matmul_ref(a, b), compare_kw=tol)


# ---------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------

REDUCTIONS = ["sum", "mean", "max", "min", "argmax", "argmin", "prod", "var", "std", "logsumexp", "all", "any"]


@st.composite
def reduce_case(draw, devices):
    op = draw(st.sampled_from(REDUCTIONS))
    shape = draw(small_shape())
    nd = len(shape)
    kind = draw(st.sampled_from(["none", "int", "int", "tuple"] if not op.startswith("arg") else ["none", "int", "int"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-nd - 1, nd))  # one out of range on each side
    else:
        axis = tuple(draw(st.lists(st.integers(-nd - 1, nd), min_size=0, max_size=nd + 1)))
    return dict(
        family="reduce",
        op=op,
        dtype=draw(dtypes),
        layout=draw(layouts),
        shape=shape,
        axis=axis,
        keepdims=draw(st.booleans()),
        correction=draw(st.sampled_from([0, 1, 2])),
        specials=draw(st.integers(0, 3)) == 0,
        seed=draw(seeds),
        device=draw(st.sampled_from(devices)),
    )


def reduce_ref(op, x, axis, keepdims, correction):
    dt = x.dtype.name
    if x.ndim == 0 and axis is not None and axis not in ((), 0, -1, (0,), (-1,)):
        np.sum(x, axis=axis)  # raises AxisError
    if x.ndim == 0 and axis is not None and axis != ():
        # NumPy rejects axis 0 of a 0-d array; PyTorch accepts dims 0 and -1.
        alt = None
        try:
            alt = reduce_ref(op, x, None, keepdims, correction)
        except Refuse as r:
            alt = r.alt
        raise Refuse((IndexError, ValueError), alt, "axis 0 of a 0-d tensor")
    kw = dict(axis=axis, keepdims=keepdims)
    if op in ("sum", "prod"):
        r = dt if is_float(dt) else "int64"
        return getattr(np, op)(x.astype(NP[r]), **kw)
    if op == "mean":
        r = float_result(dt)
        return np.mean(_f64(_cast(x, r)), **kw).astype(NP[r])
    if op in ("max", "min", "argmax", "argmin"):
        out = getattr(np, op)(x, **kw)
        return out.astype(np.int64) if op.startswith("arg") else out
    if op in ("var", "std"):
        r = float_result(dt)
        return getattr(np, op)(_f64(_cast(x, r)), ddof=correction, **kw).astype(NP[r])
    if op == "logsumexp":
        r = float_result(dt)
        v = _f64(_cast(x, r))
        if v.size:
            m = np.max(v, axis=axis, keepdims=True)
        else:
            np.sum(v, axis=axis)  # axis checks
            m = np.zeros([1] * v.ndim)
        m = np.where(np.isfinite(m), m, 0.0)
        out = np.log(np.sum(np.exp(v - m), **kw)) + (m if keepdims else np.squeeze(m, axis=axis) if axis is not None else m.reshape(()))
        return np.asarray(out).astype(NP[r])
    return getattr(np, op)(x, **kw)


def reduce_run(case):
    op, axis = case["op"], case["axis"]
    axis = tuple(axis) if isinstance(axis, list) else axis
    spec = ("t", case["dtype"], case["layout"], tuple(case["shape"]))
    (x,), (t,), dev = _operands(case, [spec], [{"specials": case["specials"]}])
    kw = dict(axis=axis, keepdims=case["keepdims"])
    if op in ("var", "std"):
        kw["correction"] = case["correction"]
    fn = getattr(fg, op)
    r = x.dtype.name if op in ("max", "min") else float_result(x.dtype.name) if op in ("mean", "var", "std", "logsumexp") else x.dtype.name
    tol = {}
    if is_float(r) and op in ("sum", "mean", "prod"):
        with np.errstate(all="ignore"):
            try:
                scale = np.asarray(getattr(np, op)(np.abs(_f64(x)), axis=axis, keepdims=case["keepdims"]))
            except (ValueError, IndexError, TypeError):
                scale = None
        n = max(x.size, 1)
        tol = dict(rtol=_tol(r, 1e-6 * (1 + n / 8), 1e-14 * n), scale=scale)
    elif is_float(r):
        tol = dict(rtol=_tol(r, 1e-5, 1e-11), atol=_tol(r, 1e-5, 1e-12))
    _run(
        case,
        lambda: fn(t, **kw),
        lambda: reduce_ref(op, x, axis, case["keepdims"], case["correction"]),
        tol,
        None if dev is None else (lambda: fn(dev[0], **kw)),
    )


# ---------------------------------------------------------------------------
# where, concat, stack
# ---------------------------------------------------------------------------


@st.composite
def where_case(draw, devices):
    shapes = draw(broadcast_shapes(3))
    cond_dtype = "bool" if draw(st.integers(0, 4)) else draw(dtypes)
    specs = [("t", cond_dtype, draw(layouts), shapes[0])]
    for s in shapes[1:]:
        specs.append(("s", draw(st.sampled_from(SCALARS))) if draw(st.integers(0, 5)) == 0 else ("t", draw(dtypes), draw(layouts), s))
    return dict(family="where", specs=specs, specials=draw(st.booleans()), seed=draw(seeds), device=draw(st.sampled_from(devices)))


def where_ref(c, a, b):
    r = promote(kind_of(a), kind_of(b))
    out = np.where(c, _cast(a, r), _cast(b, r))
    if c.dtype != np.bool_:
        raise Refuse((TypeError,), out, "a non-bool condition")
    return out


def where_run(case):
    specs = [tuple(s) for s in case["specs"]]
    (c, a, b), (tc, ta, tb), dev = _operands(case, specs, [{"specials": case["specials"]}] * 3)
    _run(case, lambda: fg.where(tc, ta, tb), lambda: where_ref(c, a, b), {}, None if dev is None else (lambda: fg.where(*dev)))


@st.composite
def join_case(draw, devices):
    op = draw(st.sampled_from(["concat", "stack"]))
    n = draw(st.integers(1, 3))
    base = list(draw(small_shape(0, 3)))
    nd = len(base)
    axis = draw(st.integers(-nd - 2, nd + 1))
    if op == "concat" and draw(st.integers(0, 4)) == 0:
        axis = None
    shapes = []
    for _ in range(n):
        s = list(base)
        if op == "concat" and isinstance(axis, int) and -nd <= axis < nd:
            s[axis] = draw(st.integers(0, 3))
        if nd and draw(st.integers(0, 9)) == 0:
            s[draw(st.integers(0, nd - 1))] += 1  # a mismatched operand
        shapes.append(tuple(s))
    specs = [("t", draw(dtypes), draw(layouts), s) for s in shapes]
    return dict(family="join", op=op, specs=specs, axis=axis, seed=draw(seeds), device=draw(st.sampled_from(devices)))


def join_ref(op, arrays, axis):
    r = promote(*(a.dtype.name for a in arrays))
    arrays = [a.astype(NP[r]) for a in arrays]
    if op == "stack":
        return np.stack(arrays, axis=axis)
    return np.concatenate(arrays, axis=axis)


def join_run(case):
    specs = [tuple(s) for s in case["specs"]]
    arrays, tensors, dev = _operands(case, specs)
    fn = getattr(fg, case["op"])
    axis = case["axis"]
    _run(
        case,
        lambda: fn(tensors, axis=axis),
        lambda: join_ref(case["op"], arrays, axis),
        {},
        None if dev is None else (lambda: fn(dev, axis=axis)),
    )


# ---------------------------------------------------------------------------
# indexing: getitem, take, take_along_axis
# ---------------------------------------------------------------------------


@st.composite
def index_entry(draw, size, rest_shape):
    kind = draw(st.sampled_from(["int", "slice", "slice", "none", "ellipsis", "array", "tensor", "mask", "list"]))
    hi = max(size, 1)
    if kind == "int":
        return ("int", draw(st.integers(-hi - 1, hi)))
    if kind == "slice":
        bound = st.one_of(st.none(), st.integers(-hi - 2, hi + 2))
        return ("slice", draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, 3, -1, -2])))
    if kind == "none":
        return ("none",)
    if kind == "ellipsis":
        return ("ellipsis",)
    if kind == "mask":
        k = draw(st.integers(1, max(1, len(rest_shape))))
        return ("mask", k, draw(st.booleans()))
    n = draw(st.lists(st.integers(-hi, hi - 1) if draw(st.integers(0, 9)) else st.integers(-hi - 1, hi), min_size=0, max_size=4))
    return (kind, n)


@st.composite
def getitem_case(draw, devices):
    shape = draw(small_shape(0, 3))
    entries = []
    dim = 0
    for _ in range(draw(st.integers(0, len(shape) + 1))):
        size = shape[dim] if dim < len(shape) else 1
        e = draw(index_entry(size, shape[dim:]))
        entries.append(e)
        if e[0] in ("int", "slice", "array", "tensor", "list"):
            dim += 1
        elif e[0] == "mask":
            dim += e[1]
    single = draw(st.booleans())  # x[i] rather than x[(i,)]
    return dict(family="getitem", dtype=draw(dtypes), layout=draw(layouts), shape=shape, entries=entries, single=single, seed=draw(seeds), device=draw(st.sampled_from(devices)))


def _index(entries, shape, rng, lib):
    """The index tuple for NumPy (lib=np) or ferrograd (lib=fg): masks and integer
    arrays become ndarrays or tensors; 'list' stays a Python list."""
    idx = []
    dim = 0
    for e in entries:
        kind = e[0]
        if kind == "int":
            idx.append(e[1])
            dim += 1
        elif kind == "slice":
            idx.append(slice(e[1], e[2], e[3]))
            dim += 1
        elif kind == "none":
            idx.append(None)
        elif kind == "ellipsis":
            idx.append(Ellipsis)
        elif kind == "mask":
            mshape = tuple(shape[dim : dim + e[1]])
            m = np.random.default_rng(len(idx)).random(mshape) < 0.5 if e[2] else np.ones(mshape, bool)
            idx.append(fg.tensor(m) if lib is fg else m)
            dim += e[1]
        else:
            arr = np.asarray(e[1], dtype=np.int64)
            if kind == "list":
                idx.append(list(e[1]))
            else:
                idx.append(fg.tensor(arr) if (lib is fg and kind == "tensor") else arr)
            dim += 1
    return idx


def getitem_run(case):
    spec = ("t", case["dtype"], case["layout"], tuple(case["shape"]))
    (x,), (t,), dev = _operands(case, [spec])
    rng = np.random.default_rng(0)
    ni = _index(case["entries"], x.shape, rng, np)
    fi = _index(case["entries"], x.shape, rng, fg)
    if case["single"] and len(ni) == 1:
        ni, fi = ni[0], fi[0]
    else:
        ni, fi = tuple(ni), tuple(fi)
    _run(case, lambda: t[fi], lambda: x[ni], {}, None if dev is None else (lambda: dev[0][fi]))


@st.composite
def gather_case(draw, devices):
    op = draw(st.sampled_from(["take", "take_along_axis"]))
    shape = draw(small_shape(0, 3))
    nd = len(shape)
    axis = draw(st.integers(-nd - 1, nd))
    if op == "take" and draw(st.booleans()):
        axis = None
    if op == "take":
        ishape = draw(small_shape(0, 2))
    else:
        ishape = list(shape)
        if nd and axis is not None and -nd <= axis < nd:
            ishape[axis] = draw(st.integers(0, 4))
        ishape = tuple(ishape)
    idtype = "int64" if draw(st.integers(0, 7)) else draw(dtypes)
    return dict(
        family="gather",
        op=op,
        dtype=draw(dtypes),
        layout=draw(layouts),
        shape=shape,
        axis=axis,
        index=("t", idtype, draw(layouts), ishape),
        bad=draw(st.integers(0, 9)) == 0,
        seed=draw(seeds),
        device=draw(st.sampled_from(devices)),
    )


def gather_ref(op, x, i, axis):
    if i.dtype.kind != "i":
        # PyTorch takes int64 indices only; an index or axis error may come first.
        raise Refuse((TypeError, IndexError, ValueError), None, "a non-integer index tensor")
    if op == "take":
        if x.ndim == 0 and axis is not None:
            # NumPy takes axis 0 of a 0-d array as if it were 1-d; an AxisError is fine too.
            raise Refuse((IndexError, ValueError), np.take(x, i, axis=axis), "axis of a 0-d tensor")
        out = np.take(x, i, axis=axis)
        if out.size == 0 and i.size:
            # NumPy skips the bounds check when nothing is taken; PyTorch does not.
            raise Refuse((IndexError,), out, "out-of-range indices and an empty result")
        return out
    if i.ndim != x.ndim:
        raise Refuse((ValueError, IndexError), None, "indices of another rank")
    return np.take_along_axis(x, i, axis=axis)


def gather_run(case):
    op, axis = case["op"], case["axis"]
    spec = ("t", case["dtype"], case["layout"], tuple(case["shape"]))
    rng = np.random.default_rng(case["seed"])
    x_s = store(rng, spec[3], spec[1], spec[2])
    x, t = x_s.array, x_s.tensor()[1]
    _, idtype, ilayout, ishape = case["index"]
    n = x.size if axis is None else (x.shape[axis] if x.ndim and -x.ndim <= axis < x.ndim else 1)
    lo, hi = (-n - 2, n + 2) if case["bad"] else (-max(n, 1), max(n, 1))
    if n == 0 and not case["bad"]:
        lo, hi = 0, 1
    i_s = store(rng, ishape, idtype, ilayout, low=lo, high=hi) if idtype == "int64" else store(rng, ishape, idtype, ilayout)
    i, ti = i_s.array, i_s.tensor()[1]
    fn = getattr(fg, op)
    call = (lambda: fn(t, ti, axis=axis)) if op == "take" else (lambda: fn(t, ti, axis))
    check(call, lambda: gather_ref(op, x, i, axis))


# ---------------------------------------------------------------------------
# shape manipulation
# ---------------------------------------------------------------------------

SHAPE_OPS = ["reshape", "permute", "flatten", "squeeze", "expand_dims", "transpose", "flip", "T", "mT", "broadcast_to"]


@st.composite
def shape_case(draw, devices):
    op = draw(st.sampled_from(SHAPE_OPS))
    shape = draw(small_shape(0, 4))
    nd = len(shape)
    ax = st.integers(-nd - 1, nd)
    if op == "reshape":
        size = int(np.prod(shape))
        dims = []
        rest = size
        for _ in range(draw(st.integers(0, 3))):
            divs = [d for d in range(1, 5) if rest % d == 0] if rest else [0, 1, 2]
            d = draw(st.sampled_from(divs))
            dims.append(d)
            rest = rest // d if d else 0
        dims.append(rest)
        if draw(st.booleans()):
            dims[draw(st.integers(0, len(dims) - 1))] = -1
        if draw(st.integers(0, 9)) == 0:
            dims[0] += 1  # a size mismatch
        arg = tuple(dims)
    elif op == "permute":
        arg = tuple(draw(st.permutations(range(nd))))
        if draw(st.integers(0, 9)) == 0:
            arg = arg + (0,)
    elif op == "flatten":
        arg = (draw(ax), draw(ax))
    elif op in ("squeeze", "flip"):
        arg = draw(st.one_of(st.none(), ax, st.lists(st.integers(-nd, max(nd - 1, 0)), max_size=nd).map(tuple)))
    elif op == "expand_dims":
        arg = draw(st.integers(-nd - 2, nd + 1))
    elif op == "transpose":
        arg = (draw(ax), draw(ax))
    elif op == "broadcast_to":
        arg = tuple(draw(st.lists(st.integers(1, 3), max_size=2))) + tuple(s if draw(st.integers(0, 3)) else s + 1 for s in shape)
    else:
        arg = None
    return dict(family="shape", op=op, dtype=draw(dtypes), layout=draw(layouts), shape=shape, arg=arg, seed=draw(seeds), device=draw(st.sampled_from(devices)))


def _np_shape_op(op, x, arg):
    if op == "reshape":
        return np.reshape(x, arg)
    if op == "permute":
        return np.transpose(x, arg)
    if op == "flatten":
        if x.ndim == 0:
            for a in arg:
                if a not in (0, -1):
                    raise Refuse((IndexError, ValueError), None, "flatten dim of a 0-d tensor")
            return x.reshape(1)
        s, e = (normalize_axis_index(a, x.ndim) for a in arg)
        if s > e:
            raise Refuse((ValueError,), None, "start_dim after end_dim")
        return x.reshape(x.shape[:s] + (int(np.prod(x.shape[s : e + 1])),) + x.shape[e + 1 :])
    if op == "squeeze":
        if x.ndim == 0 and arg is not None:
            # NumPy and PyTorch accept axis 0 / -1 of a 0-d array; an AxisError is fine too.
            raise Refuse((IndexError, ValueError), np.squeeze(x, axis=arg), "squeeze axis of a 0-d tensor")
        return np.squeeze(x, axis=arg)
    if op == "expand_dims":
        return np.expand_dims(x, arg)
    if op == "transpose":
        return np.swapaxes(x, *arg)
    if op == "flip":
        return np.flip(x, axis=arg)
    if op == "T":
        if x.ndim > 2:
            # NumPy reverses every axis; PyTorch deprecates .T beyond 2-D.
            raise Refuse((ValueError, RuntimeError), x.T, ".T of a tensor with more than 2 axes")
        return x.T
    if op == "mT":
        if x.ndim < 2:
            raise Refuse((ValueError, RuntimeError), None, ".mT of a tensor with fewer than 2 axes")
        return np.swapaxes(x, -1, -2)
    if op == "broadcast_to":
        return np.broadcast_to(x, arg)
    raise AssertionError(op)


def _fg_shape_op(op, t, arg):
    if op == "reshape":
        return fg.reshape(t, arg)
    if op == "permute":
        return fg.permute_dims(t, arg)
    if op == "flatten":
        return fg.flatten(t, *arg)
    if op == "squeeze":
        return fg.squeeze(t, axis=arg)
    if op == "expand_dims":
        return fg.expand_dims(t, axis=arg)
    if op == "transpose":
        return t.transpose(*arg)
    if op == "flip":
        return fg.flip(t, axis=arg)
    if op == "T":
        return t.T
    if op == "mT":
        return t.mT
    return fg.broadcast_to(t, arg)


def shape_run(case):
    op = case["op"]
    arg = tuple(case["arg"]) if isinstance(case["arg"], list) else case["arg"]
    spec = ("t", case["dtype"], case["layout"], tuple(case["shape"]))
    (x,), (t,), dev = _operands(case, [spec])
    out = check(lambda: _fg_shape_op(op, t, arg), lambda: np.array(_np_shape_op(op, x, arg), copy=True))
    if out is not None:
        # Reading the view through the copy kernels as well, not only through numpy().
        seen = to_host(out)
        check(lambda: out.contiguous(), lambda: seen)
        check(lambda: fg.reshape(out, (-1,)), lambda: seen.reshape(-1))
    if dev is not None:
        check_device(lambda: _fg_shape_op(op, t, arg), lambda: _fg_shape_op(op, dev[0], arg))


# ---------------------------------------------------------------------------
# softmax, log_softmax, astype
# ---------------------------------------------------------------------------


@st.composite
def softmax_case(draw, devices):
    shape = draw(small_shape(0, 3))
    nd = len(shape)
    return dict(
        family="softmax",
        op=draw(st.sampled_from(["softmax", "log_softmax"])),
        dtype=draw(dtypes),
        layout=draw(layouts),
        shape=shape,
        axis=draw(st.integers(-nd - 1, nd)),
        specials=draw(st.integers(0, 7)) == 0,
        seed=draw(seeds),
        device=draw(st.sampled_from(devices)),
    )


def softmax_ref(op, x, axis):
    r = float_result(x.dtype.name)
    v = _f64(_cast(x, r))
    if v.ndim == 0:
        if axis not in (0, -1):
            raise Refuse((IndexError, ValueError), None, "axis of a 0-d tensor")
        v2 = v.reshape(1)
        out = softmax_ref(op, v2.astype(NP[r]), 0).reshape(())
        raise Refuse((IndexError, ValueError), out, "axis 0 of a 0-d tensor")
    np.sum(v, axis=axis)  # AxisError
    m = np.max(v, axis=axis, keepdims=True) if v.size else np.zeros([1] * v.ndim)
    z = v - m  # PyTorch's formula: NaN where the row holds +inf or is all -inf
    lse = np.log(np.sum(np.exp(z), axis=axis, keepdims=True))
    out = np.exp(z - lse) if op == "softmax" else z - lse
    return out.astype(NP[r])


def softmax_run(case):
    op, axis = case["op"], case["axis"]
    spec = ("t", case["dtype"], case["layout"], tuple(case["shape"]))
    (x,), (t,), dev = _operands(case, [spec], [{"specials": case["specials"]}])
    r = float_result(case["dtype"])
    scale = 1.0 if op == "softmax" else 1.0 + np.abs(_f64(x))
    tol = dict(rtol=_tol(r, 2e-6, 1e-13), atol=_tol(r, 1e-6, 1e-14), scale=scale)
    fn = getattr(fg, op)
    _run(case, lambda: fn(t, axis=axis), lambda: softmax_ref(op, x, axis), tol, None if dev is None else (lambda: fn(dev[0], axis=axis)))


@st.composite
def cast_case(draw, devices):
    return dict(
        family="cast",
        dtype=draw(dtypes),
        to=draw(dtypes),
        layout=draw(layouts),
        shape=draw(small_shape()),
        method=draw(st.sampled_from(["fg.astype", "Tensor.astype", "Tensor.to"])),
        seed=draw(seeds),
        device=draw(st.sampled_from(devices)),
    )


def cast_run(case):
    src, dst = case["dtype"], case["to"]
    spec = ("t", src, case["layout"], tuple(case["shape"]))
    # NaN and infinity have no int64 value (PyTorch leaves it undefined): only the
    # float targets see them.
    kw = {"specials": is_float(dst) or dst == "bool"}
    if is_float(src) and dst == "int64":
        kw = {"low": -1e6, "high": 1e6}
    (x,), (t,), dev = _operands(case, [spec], [kw])
    target = {"fg.astype": lambda u: fg.astype(u, getattr(fg, dst)), "Tensor.astype": lambda u: u.astype(getattr(fg, dst)), "Tensor.to": lambda u: u.to(getattr(fg, dst))}[case["method"]]
    _run(case, lambda: target(t), lambda: x.astype(NP[dst]), {}, None if dev is None else (lambda: target(dev[0])))


# ---------------------------------------------------------------------------
# interop: NumPy arrays in (from_numpy, from_dlpack, tensor, asarray) and out
# (numpy(), np.asarray, np.from_dlpack), every dtype and stride pattern
# ---------------------------------------------------------------------------

NP_DTYPES = ["bool", "int8", "uint8", "int32", "int64", "uint64", "float16", "float32", "float64", "complex64"]
# Every NumPy dtype drawn here is a ferrograd dtype: it comes in as itself.
NATIVE = set(NP_DTYPES)
CONVERTED = {}
NP_LAYOUTS = ["contiguous", "transposed", "sliced", "flipped", "broadcast", "fortran"]


@st.composite
def interop_case(draw, devices):
    return dict(
        family="interop",
        op=draw(st.sampled_from(["from_numpy", "from_dlpack", "tensor", "asarray", "export"])),
        np_dtype=draw(st.sampled_from(NP_DTYPES)),
        layout=draw(st.sampled_from(NP_LAYOUTS)),
        shape=draw(small_shape(0, 3)),
        seed=draw(seeds),
    )


def _np_view(case):
    """A NumPy array (maybe a view) of the case's dtype and layout."""
    rng = np.random.default_rng(case["seed"])
    shape = tuple(case["shape"])
    base = values(rng, shape if case["layout"] != "sliced" else tuple(2 * s + 1 for s in shape), "int64", low=0, high=3)
    base = base.astype(case["np_dtype"])
    lay = case["layout"]
    if lay == "transposed":
        return np.ascontiguousarray(base.T).T
    if lay == "sliced":
        return base[tuple(slice(1, None, 2) for _ in shape)]
    if lay == "flipped":
        return base[tuple(slice(None, None, -1) for _ in shape)]
    if lay == "broadcast":
        return np.broadcast_to(base[(slice(0, 1),) * len(shape)] if shape and 0 not in shape else base, shape)
    if lay == "fortran":
        return np.asfortranarray(base)
    return base


def interop_ref(op, a):
    dt = a.dtype.name
    if op == "export":
        return np.array(a, copy=True)
    if dt in NATIVE:
        if op in ("from_numpy", "from_dlpack") and a.strides and any(s < 0 for s in a.strides):
            # Negative strides cannot be shared (torch.from_numpy refuses them too).
            raise Refuse((ValueError, TypeError, RuntimeError, BufferError), np.array(a), "negative strides")
        if op in ("from_numpy", "from_dlpack") and not a.flags.writeable:
            raise Refuse((ValueError, TypeError, RuntimeError, BufferError), np.array(a), "a read-only array")
        return np.array(a, copy=True)
    if op in ("from_numpy", "from_dlpack") or dt not in CONVERTED:
        raise Refuse((TypeError, BufferError), None, f"dtype {dt}")
    return a.astype(CONVERTED[dt])


def interop_run(case):
    op = case["op"]
    a = _np_view(case)
    if op == "export":
        if case["np_dtype"] not in NATIVE:
            return
        # The tensor is a view of the case's layout; the arrays exported from it must
        # hold its values.
        t = fg.tensor(np.array(a))
        if case["layout"] == "flipped" and t.ndim:
            t = t[tuple(slice(None, None, -1) for _ in range(t.ndim))]
            a = np.array(a)[tuple(slice(None, None, -1) for _ in range(a.ndim))]
        elif case["layout"] == "transposed" and t.ndim:
            t = fg.permute_dims(fg.tensor(np.array(a.T)), tuple(reversed(range(a.ndim))))
        elif case["layout"] == "sliced" and t.ndim:
            t = fg.tensor(np.repeat(np.array(a), 2, axis=0))[::2]
        check(lambda: fg.tensor(np.asarray(t)), lambda: np.array(a))
        check(lambda: fg.tensor(t.numpy()), lambda: np.array(a))
        if hasattr(np, "from_dlpack"):
            check(lambda: fg.tensor(np.from_dlpack(t)), lambda: np.array(a))
        return
    fn = getattr(fg, op)
    check(lambda: fn(a), lambda: interop_ref(op, a))
    # After a refusal the library must still work (issue 10 item 10: a double free).
    check(lambda: fn(np.ones((2, 2))), lambda: np.ones((2, 2)))
