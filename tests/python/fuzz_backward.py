"""The backward family of the fuzz sweep: gradients of float inputs stored in every
layout, against central differences of the NumPy reference in float64.

The leaf that requires grad is the storage (base) of each input; the layout's view is
applied after it, so every gradient also flows back through a view op. The loss is
sum(out * w) with fixed random weights w.
"""

import numpy as np
from hypothesis import strategies as st

import ferrograd as fg
from fuzz_families import _erf, layouts, matmul_shapes, seeds, small_shape
from fuzz_support import NP, SweepFailure, check, finite_difference, promote, store

POS = {"low": 0.5, "high": 3.0}  # away from the singularities of log, sqrt, pow
AWAY = {"low": 0.3, "high": 2.0}  # |x| bounded away from 0 (abs, relu, division)


def _softmax(v, axis):
    z = v - np.max(v, axis=axis, keepdims=True)
    return np.exp(z) / np.sum(np.exp(z), axis=axis, keepdims=True)


def _lse(v, axis):
    m = np.max(v, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(v - m), axis=axis, keepdims=True)) + m


# name -> (number of inputs, value kwargs per input, fg function, numpy function).
# Functions take the case's `arg` (an axis, an index, ...) as their last argument.
OPS = {
    "exp": (1, [{"low": -2, "high": 2}], lambda t, a: fg.exp(t), lambda x, a: np.exp(x)),
    "log": (1, [POS], lambda t, a: fg.log(t), lambda x, a: np.log(x)),
    "sqrt": (1, [POS], lambda t, a: fg.sqrt(t), lambda x, a: np.sqrt(x)),
    "sin": (1, [{}], lambda t, a: fg.sin(t), lambda x, a: np.sin(x)),
    "tanh": (1, [{}], lambda t, a: fg.tanh(t), lambda x, a: np.tanh(x)),
    "sigmoid": (1, [{}], lambda t, a: fg.sigmoid(t), lambda x, a: 1 / (1 + np.exp(-x))),
    "gelu": (1, [{}], lambda t, a: fg.gelu(t), lambda x, a: 0.5 * x * (1 + _erf(x / np.sqrt(2)))),
    "erf": (1, [{}], lambda t, a: fg.erf(t), lambda x, a: _erf(x)),
    "log1p": (1, [POS], lambda t, a: fg.log1p(t), lambda x, a: np.log1p(x)),
    "abs": (1, [AWAY], lambda t, a: fg.abs(-t), lambda x, a: np.abs(-x)),
    "relu": (1, [{"low": -2.0, "high": -0.2}], lambda t, a: fg.relu(t * -1.0 + 0.0), lambda x, a: np.maximum(-x, 0.0)),
    "square": (1, [{}], lambda t, a: t.square(), lambda x, a: x * x),
    "add": (2, [{}, {}], lambda s, t, a: s + t, lambda x, y, a: x + y),
    "sub": (2, [{}, {}], lambda s, t, a: s - t, lambda x, y, a: x - y),
    "mul": (2, [{}, {}], lambda s, t, a: s * t, lambda x, y, a: x * y),
    "truediv": (2, [{}, AWAY], lambda s, t, a: s / t, lambda x, y, a: x / y),
    "pow": (2, [POS, {"low": -2, "high": 2}], lambda s, t, a: s**t, lambda x, y, a: x**y),
    "pow0": (1, [{"low": -1, "high": 1}], lambda t, a: (t * 0.0) ** 0.0 + t ** 2.0, lambda x, a: np.ones_like(x) + x**2),
    "maximum": (2, [{}, {}], lambda s, t, a: fg.maximum(s, t), lambda x, y, a: np.maximum(x, y)),
    "matmul": (2, [{}, {}], lambda s, t, a: s @ t, lambda x, y, a: np.matmul(x, y)),
    "sum": (1, [{}], lambda t, a: fg.sum(t, axis=a), lambda x, a: np.sum(x, axis=a)),
    "mean": (1, [{}], lambda t, a: fg.mean(t, axis=a), lambda x, a: np.mean(x, axis=a)),
    "prod": (1, [{}], lambda t, a: fg.prod(t, axis=a), lambda x, a: np.prod(x, axis=a)),
    "var": (1, [{}], lambda t, a: fg.var(t, axis=a, correction=1), lambda x, a: np.var(x, axis=a, ddof=1)),
    "std": (1, [{}], lambda t, a: fg.std(t, axis=a), lambda x, a: np.std(x, axis=a)),
    "logsumexp": (1, [{}], lambda t, a: fg.logsumexp(t, axis=a, keepdims=True), lambda x, a: _lse(x, a)),
    "softmax": (1, [{}], lambda t, a: fg.softmax(t, axis=a), lambda x, a: _softmax(x, a)),
    "log_softmax": (1, [{}], lambda t, a: fg.log_softmax(t, axis=a), lambda x, a: np.log(_softmax(x, a))),
    "where": (2, [{}, {}], lambda s, t, a: fg.where(fg.tensor(a), s, t), lambda x, y, a: np.where(a, x, y)),
    "concat": (2, [{}, {}], lambda s, t, a: fg.concat([s, t], axis=a), lambda x, y, a: np.concatenate([x, y], axis=a)),
    "stack": (2, [{}, {}], lambda s, t, a: fg.stack([s, t], axis=a), lambda x, y, a: np.stack([x, y], axis=a)),
    "getitem": (1, [{}], lambda t, a: t[_fg_index(a)], lambda x, a: x[a]),
    "take": (1, [{}], lambda t, a: fg.take(t, fg.tensor(a)), lambda x, a: np.take(x, a)),
    "take_along_axis": (1, [{}], lambda t, a: fg.take_along_axis(t, fg.tensor(a), -1), lambda x, a: np.take_along_axis(x, a, -1)),
    "reshape": (1, [{}], lambda t, a: fg.reshape(t, (-1,)), lambda x, a: x.reshape(-1)),
    "permute": (1, [{}], lambda t, a: fg.permute_dims(t, a), lambda x, a: np.transpose(x, a)),
    "flatten": (1, [{}], lambda t, a: fg.flatten(t, a), lambda x, a: x.reshape(x.shape[:a] + (int(np.prod(x.shape[a:])),))),
    "flip": (1, [{}], lambda t, a: fg.flip(t, axis=0), lambda x, a: np.flip(x, axis=0)),
}


def _fg_index(a):
    return tuple(fg.tensor(e) if isinstance(e, np.ndarray) else e for e in a)


@st.composite
def backward_case(draw, devices):
    op = draw(st.sampled_from(sorted(OPS)))
    n = OPS[op][0]
    shape = tuple(min(d, 3) for d in draw(small_shape(1, 3)))
    shapes = [shape] * n
    if op == "matmul":
        shapes = list(draw(matmul_shapes()))
    dts = [draw(st.sampled_from(["float32", "float64", "float64"])) for _ in range(n)]
    return dict(family="backward", op=op, shapes=shapes, dtypes=dts, layouts=[draw(layouts) for _ in range(n)], seed=draw(seeds))


def _arg(op, shape, rng):
    """The op's extra argument (axis, index, condition) for this input shape."""
    nd = len(shape)
    if op in ("sum", "mean", "prod", "var", "std", "logsumexp", "softmax", "log_softmax"):
        return int(rng.integers(-nd, nd))
    if op in ("concat",):
        return int(rng.integers(-nd, nd))
    if op == "stack":
        return int(rng.integers(-nd - 1, nd + 1))
    if op == "where":
        return rng.random(shape) < 0.5
    if op == "getitem":
        # an integer array with repeats, then a slice; both select along the first axes
        n0 = shape[0]
        first = rng.integers(-n0, n0, size=4) if n0 else np.zeros(0, np.int64)
        return (first,) + ((slice(None, None, -1),) if nd > 1 else ())
    if op == "take":
        size = int(np.prod(shape))
        return rng.integers(-size, size, size=(2, 3)) if size else np.zeros((0,), np.int64)
    if op == "take_along_axis":
        last = shape[-1]
        ishape = shape[:-1] + (3,)
        return rng.integers(-last, last, size=ishape) if last else np.zeros(shape[:-1] + (0,), np.int64)
    if op == "permute":
        return tuple(rng.permutation(nd).tolist())
    if op == "flatten":
        return int(rng.integers(0, nd))
    return None


def backward_run(case):
    op = case["op"]
    n, kws, fgfn, npfn = OPS[op]
    rng = np.random.default_rng(case["seed"])
    stored = [store(rng, tuple(s), d, lay, **kw) for s, d, lay, kw in zip(case["shapes"], case["dtypes"], case["layouts"], kws)]
    arg = _arg(op, tuple(case["shapes"][0]), rng)
    arrays = [s.array for s in stored]
    try:
        out_ref = npfn(*[a.astype(np.float64) for a in arrays], arg)
    except ValueError:
        return  # shape errors are the forward families' business
    w = rng.standard_normal(np.shape(out_ref))
    leaves, views = zip(*[s.tensor(requires_grad=True) for s in stored])
    rdtype = promote(*case["dtypes"])

    def forward():
        out = fgfn(*views, arg)
        loss = fg.sum(out * fg.tensor(w.astype(NP[rdtype])))
        loss.backward()
        return [leaf.grad if leaf.grad is not None else fg.zeros_like(leaf) for leaf in leaves]

    def expected():
        grads = []
        for i, s in enumerate(stored):
            def f(*bases, _stored=stored):
                xs = [np.asarray(st_.view_np(b)) for st_, b in zip(_stored, bases)]
                return np.sum(npfn(*xs, arg) * w)

            g = finite_difference(f, [st_.base.astype(np.float64) for st_ in stored], i)
            grads.append(g.astype(NP[case["dtypes"][i]]))
        return grads

    if not np.all(np.isfinite(out_ref)):
        return
    grads_ref = expected()
    f32 = "float32" in case["dtypes"]
    # The gradient has its leaf's dtype (PyTorch); float32 leaves get float32 slack.
    tol = dict(rtol=3e-3 if f32 else 1e-5, atol=1e-3 if f32 else 1e-6)
    if check(forward, lambda: grads_ref, compare_kw=tol) is None:
        raise SweepFailure("backward refused")
