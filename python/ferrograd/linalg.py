"""``ferrograd.linalg``: the linear-algebra extension of the Python Array API standard
(2024.12), with NumPy's and PyTorch's behaviour where the standard leaves room.

    import ferrograd as fg
    a = fg.randn((4, 3, 3), dtype=fg.float64)
    q, r = fg.linalg.qr(a)                   # named tuple (Q, R), per matrix of the stack
    x = fg.linalg.solve(a, fg.ones(3))       # (4, 3)
    fg.linalg.det(a).sum().backward()        # differentiable

Every function works on a matrix (M, N) or a stack of them (..., M, N) and maps over
the leading dims. The decompositions (cholesky, det, slogdet, inv, solve, qr, eigh,
eigvalsh, svd, svdvals) are ferrograd's own Rust code (no LAPACK): LU with partial
pivoting, Householder QR, tridiagonal QL for eigh and one-sided Jacobi for the SVD, all
in float64 internally and returned in the input's dtype. They run on the CPU: a tensor
on another device (wgpu) is copied to the host and the results back to its device.
The other functions (norms, trace, cross, tensordot, pinv, matrix_power, ...) are
compositions of tensor ops and run where their input lives.

Integer inputs: matmul, tensordot, vecdot, outer, cross, trace, diagonal and
matrix_power (n >= 0) keep the integer dtype; the other functions promote integers to
float32 (the default float, as ``fg.exp`` does). Failures (a singular matrix for inv or
solve, a matrix that is not positive-definite for cholesky, an input that is not a
square matrix) raise :class:`LinAlgError`, a ``ValueError`` subclass like NumPy's.

Gradients: solve, inv, det, slogdet (logabsdet), cholesky, eigh, eigvalsh, svd, svdvals
and qr have backward formulas (PyTorch's); the composite functions differentiate
through their tensor ops. See docs/linalg.md.
"""

import builtins
import math
import operator
from collections import namedtuple

from . import _core
from ._core import LinAlgError

Tensor = _core.Tensor

__all__ = [
    "LinAlgError",
    "cholesky",
    "cross",
    "det",
    "diagonal",
    "eigh",
    "eigvalsh",
    "inv",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "matrix_transpose",
    "outer",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "tensordot",
    "trace",
    "vecdot",
    "vector_norm",
]

EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
QRResult = namedtuple("QRResult", ["Q", "R"])
SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])

_EPS = {"float32": 1.1920928955078125e-07, "float64": 2.220446049250313e-16}


def _t(x):
    return x if isinstance(x, Tensor) else _core._tensor(x, None, False, None, False)


def _is_float(x):
    return x.dtype.name.startswith("float")


def _is_complex(x):
    return x.dtype.name.startswith("complex")


def _floating(x):
    """``x`` itself when it is floating-point, else cast to float32 (the default float)."""
    if _is_float(x) or _is_complex(x):
        return x
    if x.dtype == _core.bool:
        raise TypeError("linalg: not supported for bool tensors")
    return x.astype(_core.float32, True)


def _check_matrix(name, x):
    if x.ndim < 2:
        raise LinAlgError(
            f"{name}: {x.ndim}-dimensional array given; the input must have at least 2 dimensions (..., M, N)"
        )


def _check_square(name, x):
    _check_matrix(name, x)
    if x.shape[-1] != x.shape[-2]:
        raise LinAlgError(f"{name}: the last 2 dimensions of the input must be square, got shape {tuple(x.shape)}")


def _moveaxis(x, src, dst):
    nd = x.ndim
    src, dst = src % nd, dst % nd
    order = [i for i in range(nd) if i != src]
    order.insert(dst, src)
    return x.permute(*order) if order != list(range(nd)) else x


def _conj(x):
    if _is_complex(x):
        from . import conj  # complex support lives in the top-level namespace

        return conj(x)
    return x


def _eps(x):
    """Machine epsilon of x's (real) precision."""
    return _EPS["float64"] if x.dtype.name in ("float64", "complex128") else _EPS["float32"]


# --------------------------------------------------------------- decompositions


def cholesky(x, /, *, upper=False):
    """The lower Cholesky factor L of a (stack of) symmetric positive-definite matrix,
    ``x = L @ L.mT``, read from the lower triangle of ``x``; the upper factor
    ``U = L.mT`` with ``upper=True``. Raises :class:`LinAlgError` when a matrix is not
    positive-definite. Runs on the CPU (a wgpu tensor is copied there and back)."""
    return _core._linalg_cholesky(_t(x), builtins.bool(upper))


def det(x, /):
    """The determinant of each square matrix, shape ``x.shape[:-2]`` (LU with partial
    pivoting, in float64). Differentiable, at singular matrices too (the cofactor
    matrix). Runs on the CPU (a wgpu tensor is copied there and back)."""
    return _core._linalg_det(_t(x))


def slogdet(x, /):
    """``(sign, logabsdet)`` of each square matrix, a named tuple: the determinant is
    ``sign * exp(logabsdet)`` without overflow; ``(0, -inf)`` for a singular matrix.
    ``logabsdet`` is differentiable. Runs on the CPU (a wgpu tensor is copied there and
    back)."""
    return SlogdetResult(*_core._linalg_slogdet(_t(x)))


def inv(x, /):
    """The inverse of each square matrix. Raises :class:`LinAlgError` for a singular
    matrix (an exactly zero pivot). Runs on the CPU (a wgpu tensor is copied there and
    back)."""
    return _core._linalg_inv(_t(x))


def solve(x1, x2, /):
    """The solution X of ``x1 @ X = x2``: ``x1`` is (..., M, M); ``x2`` is a vector (M,)
    (the result is then (..., M)) or a stack (..., M, K) whose batch dims broadcast
    against ``x1``'s. Raises :class:`LinAlgError` for a singular ``x1``. Runs on the CPU
    (a wgpu tensor is copied there and back)."""
    return _core._linalg_solve(_t(x1), _t(x2))


def qr(x, /, *, mode="reduced"):
    """The QR decomposition ``x = Q @ R`` by Householder reflections, a named tuple
    ``(Q, R)``: Q (..., M, K) with orthonormal columns and R (..., K, N) upper triangular,
    K = min(M, N) (``mode='reduced'``), or Q (..., M, M) and R (..., M, N)
    (``mode='complete'``). R's diagonal may be negative (as LAPACK's). Runs on the CPU (a
    wgpu tensor is copied there and back)."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode must be 'reduced' or 'complete', got {mode!r}")
    return QRResult(*_core._linalg_qr(_t(x), mode == "complete"))


def eigh(x, /):
    """Eigenvalues (ascending) and eigenvectors of a (stack of) symmetric matrix, read
    from its lower triangle: a named tuple ``(eigenvalues, eigenvectors)``, the vectors
    being the columns of ``eigenvectors``. Householder tridiagonalization then implicit
    QL (EISPACK's tred2/tql2) in float64. Runs on the CPU (a wgpu tensor is copied there
    and back)."""
    return EighResult(*_core._linalg_eigh(_t(x)))


def eigvalsh(x, /):
    """The eigenvalues (ascending) of a (stack of) symmetric matrix (see :func:`eigh`)."""
    return _core._linalg_eigvalsh(_t(x))


def svd(x, /, *, full_matrices=True):
    """The singular value decomposition ``x = U @ diag(S) @ Vh``, a named tuple
    ``(U, S, Vh)``: S (..., K) descending; U (..., M, M) and Vh (..., N, N) with
    ``full_matrices``, else U (..., M, K) and Vh (..., K, N). One-sided Jacobi in float64
    (small singular values to high relative accuracy). Runs on the CPU (a wgpu tensor is
    copied there and back)."""
    return SVDResult(*_core._linalg_svd(_t(x), builtins.bool(full_matrices)))


def svdvals(x, /):
    """The singular values (..., K), descending (see :func:`svd`)."""
    return _core._linalg_svdvals(_t(x))


# ------------------------------------------------------ functions built on them


def matmul(x1, x2, /):
    """The matrix product (``fg.matmul``)."""
    return _t(x1) @ x2


def matrix_transpose(x, /):
    """Swaps the last two axes (a view), ``x.mT``."""
    x = _t(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose: the input must have at least 2 dimensions, got {x.ndim}")
    return x.mT


def diagonal(x, /, *, offset=0):
    """The diagonal ``offset`` (above the main one when positive, below when negative) of
    each matrix, shape ``x.shape[:-2] + (length,)``; empty when the offset is beyond the
    matrix."""
    x = _t(x)
    _check_matrix("diagonal", x)
    offset = operator.index(offset)
    m, n = x.shape[-2:]
    if offset >= 0:
        size, start = builtins.max(0, builtins.min(m, n - offset)), offset
    else:
        size, start = builtins.max(0, builtins.min(m + offset, n)), -offset * n
    flat = x.reshape(tuple(x.shape[:-2]) + (m * n,))
    idx = _core.arange(size, device=x.device) * (n + 1) + start if size else _core.zeros((0,), dtype=_core.int64, device=x.device)
    return flat.take(idx, -1)


def trace(x, /, *, offset=0, dtype=None):
    """The sum of diagonal ``offset`` of each matrix (0 for an empty one), in ``dtype``
    when given, else in ``x``'s dtype (bool sums to int64)."""
    d = diagonal(x, offset=offset)
    if dtype is not None:
        d = d.astype(dtype, False) if d.dtype != dtype else d
    return d.sum(-1, False)


def outer(x1, x2, /):
    """The outer product of two vectors, (M,) x (N,) -> (M, N)."""
    x1, x2 = _t(x1), _t(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(f"outer: both inputs must be 1-D, got shapes {tuple(x1.shape)} and {tuple(x2.shape)}")
    return x1.reshape((-1, 1)) * x2.reshape((1, -1))


def cross(x1, x2, /, *, axis=-1):
    """The cross product of 3-element vectors along ``axis`` (which must have size 3 in
    both inputs, before broadcasting); the other axes broadcast."""
    x1, x2 = _t(x1), _t(x2)
    if x1.ndim == 0 or x2.ndim == 0:
        raise ValueError("cross: the inputs must have at least one dimension")
    axis = operator.index(axis)
    if axis >= 0:
        # NumPy's reading of a non-negative axis: the same axis of both inputs.
        if x1.ndim != x2.ndim:
            raise ValueError("cross: a non-negative axis needs inputs of the same rank; use a negative axis")
        axis -= x1.ndim
    for x in (x1, x2):
        if not -x.ndim <= axis < 0:
            raise _core.AxisError(f"cross: axis {axis} is out of bounds for an array of dimension {x.ndim}")
    if x1.shape[axis] != 3 or x2.shape[axis] != 3:
        raise ValueError(
            f"cross: the axis {axis} must have size 3 in both inputs, got shapes {tuple(x1.shape)} and {tuple(x2.shape)}"
        )
    a, b = _moveaxis(x1, axis, -1), _moveaxis(x2, axis, -1)
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    c = _core.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], -1)
    return _moveaxis(c, -1, axis)


def vecdot(x1, x2, /, *, axis=-1):
    """The dot product of the vectors along ``axis`` (conjugating ``x1`` when complex);
    the other axes broadcast, the contracted one must have the same size in both."""
    x1, x2 = _t(x1), _t(x2)
    if x1.ndim == 0 or x2.ndim == 0:
        raise ValueError("vecdot: the inputs must have at least one dimension")
    axis = operator.index(axis)
    nd = builtins.max(x1.ndim, x2.ndim)
    if not -nd <= axis < nd:
        raise _core.AxisError(f"vecdot: axis {axis} is out of bounds for the broadcast shape of {nd} dimensions")
    ax = axis % nd
    s1 = (1,) * (nd - x1.ndim) + tuple(x1.shape)
    s2 = (1,) * (nd - x2.ndim) + tuple(x2.shape)
    if s1[ax] != s2[ax]:
        raise ValueError(
            f"vecdot: the contracted axis has size {s1[ax]} in x1 and {s2[ax]} in x2 (shapes {tuple(x1.shape)} and "
            f"{tuple(x2.shape)})"
        )
    prod = _conj(x1) * x2
    out = prod.sum(ax - nd, False)
    # sum widens integers to 64 bits; a dot product keeps the operands' promoted dtype
    return out if out.dtype == prod.dtype else out.astype(prod.dtype)


def tensordot(x1, x2, /, *, axes=2):
    """The tensor contraction of ``x1`` and ``x2`` over ``axes``: an int N (the last N
    axes of x1 with the first N of x2) or two sequences of axes; the result has the free
    axes of x1 then those of x2. One matmul after permuting and reshaping."""
    x1, x2 = _t(x1), _t(x2)
    n1, n2 = x1.ndim, x2.ndim
    if isinstance(axes, (tuple, list)):
        if len(axes) != 2:
            raise ValueError("tensordot: axes must be an int or a pair of sequences of axes")
        a1, a2 = axes
        a1 = [operator.index(a1)] if not isinstance(a1, (tuple, list)) else [operator.index(i) for i in a1]
        a2 = [operator.index(a2)] if not isinstance(a2, (tuple, list)) else [operator.index(i) for i in a2]
    else:
        k = operator.index(axes)
        if k < 0:
            raise ValueError(f"tensordot: axes must be non-negative, got {k}")
        if k > n1 or k > n2:
            raise ValueError(f"tensordot: cannot contract {k} axes of arrays with {n1} and {n2} dimensions")
        a1, a2 = list(range(n1 - k, n1)), list(range(k))
    if len(a1) != len(a2):
        raise ValueError("tensordot: the two sequences of axes must have the same length")
    for axs, nd in ((a1, n1), (a2, n2)):
        for i in axs:
            if not -nd <= i < nd:
                raise _core.AxisError(f"tensordot: axis {i} is out of bounds for an array of dimension {nd}")
    a1 = [i % n1 for i in a1] if n1 else a1
    a2 = [i % n2 for i in a2] if n2 else a2
    if len(set(a1)) != len(a1) or len(set(a2)) != len(a2):
        raise ValueError("tensordot: repeated axis in axes")
    for i, j in zip(a1, a2):
        if x1.shape[i] != x2.shape[j]:
            raise ValueError(
                f"tensordot: shape mismatch for the contracted axes: {x1.shape[i]} (axis {i} of x1) != "
                f"{x2.shape[j]} (axis {j} of x2)"
            )
    free1 = [i for i in range(n1) if i not in a1]
    free2 = [j for j in range(n2) if j not in a2]
    k = math.prod(x1.shape[i] for i in a1)
    p = math.prod(x1.shape[i] for i in free1)
    q = math.prod(x2.shape[j] for j in free2)
    a = (x1.permute(*(free1 + a1)) if n1 else x1).reshape((p, k))
    b = (x2.permute(*(a2 + free2)) if n2 else x2).reshape((k, q))
    out = a @ b
    return out.reshape(tuple(x1.shape[i] for i in free1) + tuple(x2.shape[j] for j in free2))


def _norm_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if not isinstance(axis, (tuple, list)) else tuple(axis)
    out = []
    for a in axes:
        a = operator.index(a)
        if not -ndim <= a < (ndim if ndim else 1):
            raise _core.AxisError(f"axis {a} is out of bounds for array of dimension {ndim}")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError("vector_norm: repeated axis")
    return tuple(out)


def _safe_root(s, p):
    """s ** (1 / p) with a zero (not NaN) gradient where s == 0."""
    zero = s == 0
    safe = _core.where(zero, 1.0, s)
    return _core.where(zero, 0.0, safe ** (1.0 / p) if p != 2 else safe.sqrt())


def _reduce_keep(x, how, axes, keepdims):
    if not axes:
        return x.clone()
    return getattr(x, how)(axes, keepdims)


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """The vector norm over ``axis`` (None: all elements, an int, or a tuple): ``ord`` 2
    (default), 1, inf, -inf, 0 (the count of nonzeros), or any p (``sum(|x|**p)**(1/p)``;
    negative p included). Differentiable, with a zero gradient at a zero vector."""
    x = _floating(_t(x))
    axes = _norm_axes(axis, x.ndim)
    if isinstance(ord, (str, bool)) or ord is None:
        raise ValueError(f"vector_norm: invalid ord {ord!r}")
    ord = float(ord)  # noqa: A001 (the standard's name)
    if math.isnan(ord):
        raise ValueError("vector_norm: ord must not be NaN")
    if ord == math.inf:
        return _reduce_keep(x.abs(), "max", axes, keepdims)
    if ord == -math.inf:
        return _reduce_keep(x.abs(), "min", axes, keepdims)
    if ord == 0:
        return _reduce_keep((x != 0).astype(x.dtype, True), "sum", axes, keepdims)
    if ord == 1:
        return _reduce_keep(x.abs(), "sum", axes, keepdims)
    if ord == 2:
        return _safe_root(_reduce_keep(x * x, "sum", axes, keepdims), 2)
    p = ord
    a = x.abs()
    if p > 0:
        return _safe_root(_reduce_keep(a**p, "sum", axes, keepdims), p)
    # negative p: sum(|x|^p)^(1/p), with |x| = 0 giving |x|^p = inf and a zero norm
    return _reduce_keep(a**p, "sum", axes, keepdims) ** (1.0 / p)


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """The matrix norm of each matrix: ``'fro'`` (default), ``'nuc'`` (the sum of the
    singular values), 2 / -2 (the largest / smallest singular value), 1 / -1 (max / min
    column sum of |x|), inf / -inf (max / min row sum of |x|)."""
    x = _floating(_t(x))
    _check_matrix("matrix_norm", x)
    if isinstance(ord, str):
        if ord == "fro":
            r = _safe_root((x * x).sum((-2, -1), False), 2)
        elif ord == "nuc":
            r = svdvals(x).sum(-1, False)
        else:
            raise ValueError(f"matrix_norm: invalid ord {ord!r}")
    elif ord in (2, -2):
        s = svdvals(x)
        r = s.max(-1, False) if ord == 2 else s.min(-1, False)
    elif ord in (1, -1):
        c = x.abs().sum(-2, False)
        r = c.max(-1, False) if ord == 1 else c.min(-1, False)
    elif ord in (math.inf, -math.inf):
        c = x.abs().sum(-1, False)
        r = c.max(-1, False) if ord == math.inf else c.min(-1, False)
    else:
        raise ValueError(f"matrix_norm: invalid ord {ord!r} (expected 'fro', 'nuc', 1, -1, 2, -2, inf or -inf)")
    if keepdims:
        r = r.reshape(tuple(r.shape) + (1, 1))
    return r


def matrix_power(x, n, /):
    """The n-th power of each square matrix by repeated squaring: the identity for
    n = 0, powers of the inverse for n < 0 (integer matrices are promoted to float32
    then)."""
    x = _t(x)
    _check_square("matrix_power", x)
    n = operator.index(n)
    if n == 0:
        m = x.shape[-1]
        eye = _core.eye(m, None, 0, dtype=x.dtype, device=x.device)
        return eye.broadcast_to(tuple(x.shape)).contiguous() if x.ndim > 2 else eye
    if n < 0:
        x, n = inv(x), -n
    elif n == 1:
        return x.clone()
    result, base = None, x
    while True:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if not n:
            return result
        base = base @ base


def _rtol_cutoff(s, rtol, m, n):
    """The singular-value cutoff rtol * max(S), rtol by default max(M, N) * eps."""
    smax = s.max(-1, True)
    if rtol is None:
        return smax * (builtins.max(m, n) * _eps(s))
    if isinstance(rtol, Tensor) or hasattr(rtol, "__array__") or isinstance(rtol, (list, tuple)):
        r = _t(rtol)
        return smax * r.reshape(tuple(r.shape) + (1,))
    return smax * float(rtol)


def matrix_rank(x, /, *, rtol=None):
    """The number of singular values above ``rtol * max(S)`` per matrix (int64);
    ``rtol`` (a float or an array broadcasting against the stack shape) defaults to
    ``max(M, N) * eps``."""
    x = _floating(_t(x))
    _check_matrix("matrix_rank", x)
    m, n = x.shape[-2:]
    s = svdvals(x)
    if s.shape[-1] == 0:
        return _core.zeros(tuple(x.shape[:-2]), dtype=_core.int64, device=x.device)
    return (s > _rtol_cutoff(s, rtol, m, n)).sum(-1, False)


def pinv(x, /, *, rtol=None):
    """The Moore-Penrose pseudo-inverse (..., N, M) from the SVD, singular values at or
    below ``rtol * max(S)`` treated as zero (``rtol`` defaults to ``max(M, N) * eps``)."""
    x = _floating(_t(x))
    _check_matrix("pinv", x)
    m, n = x.shape[-2:]
    if m == 0 or n == 0:
        return _core.zeros(tuple(x.shape[:-2]) + (n, m), dtype=x.dtype, device=x.device)
    u, s, vh = svd(x, full_matrices=False)
    keep = s > _rtol_cutoff(s, rtol, m, n)
    sinv = _core.where(keep, 1.0 / _core.where(keep, s, 1.0), 0.0)
    return (vh.mT * sinv.reshape(tuple(sinv.shape[:-1]) + (1, sinv.shape[-1]))) @ u.mT
