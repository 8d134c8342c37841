"""Reverse-mode automatic differentiation: the Python front of ferrograd's autograd.

The engine itself (graph recording, backward functions, the topological sweep) lives
in Rust (``ferrograd._core``); this module adds the PyTorch-style Python API around it:

* :func:`grad` -- gradients of outputs with respect to inputs, without touching
  ``.grad`` (like ``torch.autograd.grad``);
* :class:`no_grad`, :class:`enable_grad`, :class:`set_grad_enabled` and
  :func:`is_grad_enabled` -- switch graph recording off and on, as context managers
  or decorators;
* :func:`gradcheck` and :func:`gradgradcheck` -- compare analytic gradients with
  central finite differences, the standard way to test a backward formula;
* :class:`Function` -- differentiable operations written in Python (forward/backward
  static methods, ``ctx.save_for_backward``), see ``autograd_function.py``.

Notation. For a function ``y = f(x)`` from ``R^n`` to ``R^m`` the Jacobian is the
``m x n`` matrix ``J[j, k] = d y_j / d x_k``. Reverse mode never forms ``J``: given a
cotangent ``v`` (the ``grad_outputs``, shaped like ``y``) one backward sweep returns the
vector-Jacobian product ``v^T J`` (shaped like ``x``), i.e. the gradient of the scalar
``sum(y * v)`` with respect to ``x``. :func:`gradcheck` recovers ``J`` one row at a time
by choosing ``v`` = the ``j``-th one-hot vector.
"""

import functools
import inspect

import numpy as np

from . import _core

Tensor = _core.Tensor

from .autograd_function import Function, FunctionCtx  # noqa: E402 (re-exported API)

__all__ = [
    "grad",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "gradcheck",
    "gradgradcheck",
    "GradcheckError",
    "Function",
    "FunctionCtx",
]


# ---------------------------------------------------------------------------
# grad
# ---------------------------------------------------------------------------


def _tensor_tuple(obj, what):
    """A tuple of tensors from a tensor or a sequence of tensors (TypeError otherwise)."""
    if isinstance(obj, Tensor):
        return (obj,)
    try:
        items = tuple(obj)
    except TypeError:
        raise TypeError(
            f"{what} must be a tensor or a sequence of tensors, got {type(obj).__name__}"
        ) from None
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}[{i}] must be a tensor, got {type(t).__name__}")
    return items


def _grad_outputs_list(grad_outputs, n):
    """``grad_outputs`` as a list of ``n`` entries, each a tensor or None."""
    if grad_outputs is None:
        return [None] * n
    if isinstance(grad_outputs, Tensor):
        gos = [grad_outputs]
    else:
        try:
            gos = list(grad_outputs)
        except TypeError:
            raise TypeError(
                "grad_outputs must be None, a tensor or a sequence of tensors/None, "
                f"got {type(grad_outputs).__name__}"
            ) from None
    if len(gos) != n:
        raise ValueError(
            f"grad_outputs has {len(gos)} entries but there are {n} outputs; "
            "pass one per output (None for ones, allowed only for one-element outputs)"
        )
    for i, g in enumerate(gos):
        if g is not None and not isinstance(g, Tensor):
            raise TypeError(f"grad_outputs[{i}] must be a tensor or None, got {type(g).__name__}")
    return gos


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated).

    With outputs ``y_1..y_m`` and cotangents ``v_1..v_m`` (``grad_outputs``), returns for
    every input ``x_k`` the vector-Jacobian product

        g_k = sum_i  v_i^T (d y_i / d x_k)   =   d/dx_k  sum_i sum(y_i * v_i),

    shaped like ``x_k``. ``.grad`` of leaves is left untouched (unlike ``backward``).

    Arguments:
        outputs: a tensor or a sequence of tensors (differentiated).
        inputs: a tensor or a sequence of tensors (leaves or intermediate results).
        grad_outputs: None, a tensor, or a sequence with one tensor-or-None per output;
            None means ones, which is only allowed for one-element outputs (a non-scalar
            output needs an explicit cotangent, else the engine raises RuntimeError).
        retain_graph: keep the graph's saved tensors so that it can be differentiated
            again; defaults to ``create_graph``.
        create_graph: record the backward computation itself, so the returned gradients
            require grad and can be differentiated again (higher-order derivatives).
        allow_unused: if an input does not influence the outputs, return None for it
            instead of raising RuntimeError.

    Returns a tuple with one entry per input: a tensor, or None for an unused input
    when ``allow_unused``.
    """
    outs = _tensor_tuple(outputs, "outputs")
    ins = _tensor_tuple(inputs, "inputs")
    gos = _grad_outputs_list(grad_outputs, len(outs))
    if retain_graph is None:
        retain_graph = create_graph
    result = _core._grad(list(outs), list(ins), gos, bool(retain_graph), bool(create_graph),
                         bool(allow_unused))
    return tuple(result)


# ---------------------------------------------------------------------------
# Grad mode
# ---------------------------------------------------------------------------


def is_grad_enabled():
    """True when operations are recorded for autograd (the default), False inside
    ``no_grad`` or after ``set_grad_enabled(False)``."""
    return bool(_core._is_grad_enabled())


def _set(mode):
    """Set grad mode; returns the previous mode."""
    return bool(_core._set_grad_enabled(bool(mode)))


class _GradModeContext:
    """Base class: a context manager that sets grad mode to ``self._mode`` on entry and
    restores the previous mode on exit (also when the block raises), and that can
    decorate a function (or generator function) to run it entirely in that mode.

    Entering the same instance several times (nested or recursive) is supported: each
    entry pushes the mode it replaced.
    """

    _mode = None  # set by subclasses

    def __init__(self):
        self._prev = []

    def __enter__(self):
        self._prev.append(_set(self._mode))
        return self

    def __exit__(self, exc_type, exc, tb):
        _set(self._prev.pop())
        return False

    def _clone(self):
        return type(self)()

    def __call__(self, func):
        """Use as a decorator: ``@fg.no_grad()`` (or ``@fg.no_grad``)."""
        if not callable(func):
            raise TypeError(f"{type(self).__name__}() can decorate a callable, got {func!r}")
        if inspect.isgeneratorfunction(func):
            return self._wrap_generator(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self._clone():
                return func(*args, **kwargs)

        return wrapper

    def _wrap_generator(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            gen = func(*args, **kwargs)
            # Each step of the generator runs in the mode; the caller's mode is restored
            # between steps (as torch does).
            try:
                with self._clone():
                    item = next(gen)
                while True:
                    try:
                        sent = yield item
                    except GeneratorExit:
                        with self._clone():
                            gen.close()
                        raise
                    except BaseException as e:  # noqa: BLE001 - forwarded into gen
                        with self._clone():
                            item = gen.throw(e)
                    else:
                        with self._clone():
                            item = gen.send(sent)
            except StopIteration as stop:
                return stop.value

        return wrapper


class no_grad(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Disable graph recording: results computed inside do not require grad and keep no
    history, which saves memory and time (inference, parameter updates).

        with fg.no_grad():
            w -= lr * w.grad          # not recorded

        @fg.no_grad()                 # or @fg.no_grad
        def evaluate(model, x): ...

    The previous mode is restored on exit, even if the block raises.
    Leaves created inside may still be given ``requires_grad=True``.
    """

    _mode = False

    def __new__(cls, orig_func=None):
        # ``@fg.no_grad`` without parentheses passes the function here.
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class enable_grad(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Enable graph recording, e.g. inside a ``no_grad`` block:

        with fg.no_grad():
            with fg.enable_grad():
                y = x * 2             # recorded: y.requires_grad if x.requires_grad

    Works as a decorator too. The previous mode is restored on exit.
    """

    _mode = True

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class set_grad_enabled(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Set grad mode to ``mode`` (a bool).

    Called as a function, it takes effect immediately::

        fg.set_grad_enabled(False)    # recording off from here on

    As a context manager, the mode before the call is restored on exit::

        with fg.set_grad_enabled(is_training):
            ...

    As a decorator (``@fg.set_grad_enabled(False)``) the function runs in ``mode`` and
    the decoration itself leaves the current mode unchanged.
    """

    def __init__(self, mode):
        super().__init__()
        self._mode = bool(mode)
        # Like torch: the mode changes at construction; exit restores what was before.
        self._prev.append(_set(self._mode))

    def __enter__(self):
        # The mode was set in __init__; re-entering the same object (rare) sets it again.
        if not self._prev:
            self._prev.append(_set(self._mode))
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._prev:
            _set(self._prev.pop())
        return False

    def _clone(self):
        clone = object.__new__(type(self))
        _GradModeContext.__init__(clone)
        clone._mode = self._mode
        return clone

    def __call__(self, func):
        # Decorating: undo the immediate effect of the constructor.
        if self._prev:
            _set(self._prev.pop())
        return super().__call__(func)


# ---------------------------------------------------------------------------
# gradcheck
# ---------------------------------------------------------------------------


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` / :func:`gradgradcheck` when an analytic gradient
    differs from its finite-difference estimate (or has the wrong shape/dtype)."""


def _is_float(t):
    return t.dtype == _core.float64 or t.dtype == _core.float32


def _to_numpy64(t):
    """A private float64 NumPy copy of a tensor (detached, CPU)."""
    if t.requires_grad:
        t = t.detach()
    if t.device.type != "cpu":
        t = t.to("cpu")
    return np.array(np.asarray(t), dtype=np.float64, copy=True)


def _as_tuple(x):
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _position(shape, flat_index):
    """The multi-index of ``flat_index`` (row-major) in ``shape``, as a tuple of ints."""
    if len(shape) == 0:
        return ()
    return tuple(int(i) for i in np.unravel_index(flat_index, shape))


def _numerical_jacobian(fn, arrays, wrt, eps=1e-6):
    """Central-difference Jacobians of a NumPy-level function.

    ``fn(list_of_arrays) -> list_of_arrays`` (float64). For each input index ``i`` in
    ``wrt`` and each output ``o``, returns ``J[i][o]``, an array of shape
    ``(arrays[i].size, outputs[o].size)`` with

        J[i][o][k, j] = (y_j(x + eps e_k) - y_j(x - eps e_k)) / (2 eps),

    which approximates ``d y_j / d x_k`` with error O(eps^2 * f''').
    Each input element is perturbed in place on a private contiguous copy and restored.
    Returns ``(J, outputs_at_x)``, J as ``{i: [J[i][0], J[i][1], ...]}``.
    """
    # order="C": a private C-contiguous copy, so that ``reshape(-1)`` below is a view
    # (np.array keeps a transposed input's F order by default).
    arrays = [np.array(a, dtype=np.float64, copy=True, order="C") if k in wrt else a
              for k, a in enumerate(arrays)]
    base_out = [np.asarray(o, dtype=np.float64) for o in fn(list(arrays))]
    jac = {}
    for i in wrt:
        x = arrays[i]
        flat = x.reshape(-1)  # a view: x is a fresh C-contiguous copy
        assert x.size == 0 or np.shares_memory(flat, x)
        cols = [np.zeros((x.size, o.size)) for o in base_out]
        for k in range(x.size):
            orig = flat[k]
            flat[k] = orig + eps
            plus = [np.asarray(o, dtype=np.float64).reshape(-1) for o in fn(list(arrays))]
            flat[k] = orig - eps
            minus = [np.asarray(o, dtype=np.float64).reshape(-1) for o in fn(list(arrays))]
            flat[k] = orig
            for o, (p, m) in enumerate(zip(plus, minus)):
                if p.size != base_out[o].size or m.size != base_out[o].size:
                    raise GradcheckError(
                        f"output {o} changed size under a perturbation of input {i}"
                    )
                cols[o][k, :] = (p - m) / (2.0 * eps)
        jac[i] = cols
    return jac, base_out


def _mismatch_message(input_index, output_index, input_shape, output_shape, k, j,
                      analytical, numerical, atol, rtol):
    """The message of a GradcheckError for entry (k, j) of the Jacobian of output
    ``output_index`` with respect to input ``input_index``."""
    pin = _position(input_shape, k)
    pout = _position(output_shape, j)
    diff = abs(analytical - numerical)
    allowed = atol + rtol * abs(numerical)
    return (
        f"Jacobian mismatch for output {output_index} with respect to input {input_index}: "
        f"d output[{output_index}]{list(pout)} / d input[{input_index}]{list(pin)} is "
        f"analytical={analytical!r} but numerical={numerical!r} "
        f"(|difference|={diff:.3g} > atol + rtol*|numerical|={allowed:.3g}; "
        f"input element {k} of shape {tuple(input_shape)}, "
        f"output element {j} of shape {tuple(output_shape)})"
    )


def _compare_jacobians(analytical, numerical, input_index, output_index, input_shape,
                       output_shape, atol, rtol):
    """Check ``|a - n| <= atol + rtol * |n|`` elementwise for two Jacobians of shape
    ``(input size, output size)``; raise GradcheckError naming the worst entry."""
    analytical = np.asarray(analytical, dtype=np.float64)
    numerical = np.asarray(numerical, dtype=np.float64)
    if analytical.shape != numerical.shape:
        raise GradcheckError(
            f"Jacobian of output {output_index} with respect to input {input_index} has "
            f"shape {analytical.shape} (analytical) vs {numerical.shape} (numerical)"
        )
    if analytical.size == 0:
        return
    diff = np.abs(analytical - numerical)
    bad = ~(diff <= atol + rtol * np.abs(numerical))  # NaN counts as a mismatch
    if bad.any():
        excess = np.where(bad, np.nan_to_num(diff - (atol + rtol * np.abs(numerical)),
                                             nan=np.inf), -np.inf)
        k, j = np.unravel_index(int(np.argmax(excess)), analytical.shape)
        raise GradcheckError(_mismatch_message(
            input_index, output_index, input_shape, output_shape, int(k), int(j),
            float(analytical[k, j]), float(numerical[k, j]), atol, rtol))


def _fg_float64(array, requires_grad=False):
    # np.array, not np.ascontiguousarray: the latter turns 0-d arrays into shape (1,).
    return _core._tensor(np.array(array, dtype=np.float64, order="C"), _core.float64, True,
                         None, bool(requires_grad))


def _fg_like(array, like):
    """A new contiguous tensor holding ``array`` with ``like``'s dtype (no grad)."""
    return _core._tensor(np.array(array, order="C"), like.dtype, True, None, False)


def _check_inputs(inputs):
    inputs = _as_tuple(inputs)
    wrt = []
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad:
            if x.dtype != _core.float64:
                raise ValueError(
                    f"gradcheck: input {i} requires grad but has dtype {x.dtype.name}; "
                    "finite differences need float64 -- pass x.astype(fg.float64) "
                    "(then .requires_grad_()) instead"
                )
            wrt.append(i)
    if not wrt:
        raise ValueError("gradcheck: no input tensor has requires_grad=True; nothing to check")
    return inputs, wrt


def _analytical_jacobian(outputs, inputs, wrt):
    """``J[i][o]`` of shape ``(inputs[i].size, outputs[o].size)`` from one backward sweep
    per output element (cotangent = one-hot), with shape/dtype checks on every
    returned gradient. Outputs that do not require grad (or are not floating point)
    have a zero Jacobian."""
    from_inputs = [inputs[i] for i in wrt]
    jac = {i: [np.zeros((inputs[i].size, o.size)) for o in outputs] for i in wrt}
    for o, out in enumerate(outputs):
        if not (isinstance(out, Tensor) and out.requires_grad and _is_float(out)):
            continue
        shape = tuple(out.shape)
        if out.size == 0:
            # No rows, but the backward of an empty cotangent must still work and give
            # empty/zero gradients of the inputs' shapes.
            v = _fg_like(np.zeros(shape), out)
            gs = grad(out, from_inputs, v, retain_graph=True, allow_unused=True)
            for i, g in zip(wrt, gs):
                _check_grad_value(g, inputs[i], i, o)
                if g is not None and np.any(_to_numpy64(g) != 0):
                    raise GradcheckError(
                        f"gradient of the empty output {o} with respect to input {i} is "
                        "not zero"
                    )
            continue
        for j in range(out.size):
            onehot = np.zeros(out.size)
            onehot[j] = 1.0
            v = _fg_like(onehot.reshape(shape), out)
            gs = grad(out, from_inputs, v, retain_graph=True, allow_unused=True)
            if len(gs) != len(from_inputs):
                raise GradcheckError(
                    f"grad returned {len(gs)} gradients for {len(from_inputs)} inputs"
                )
            for i, g in zip(wrt, gs):
                if g is None:
                    continue
                _check_grad_value(g, inputs[i], i, o)
                jac[i][o][:, j] = _to_numpy64(g).reshape(-1)
    return jac


def _check_grad_value(g, x, i, o):
    if g is None:
        return
    if not isinstance(g, Tensor):
        raise GradcheckError(
            f"gradient of output {o} with respect to input {i} is a {type(g).__name__}, "
            "not a tensor"
        )
    if tuple(g.shape) != tuple(x.shape):
        raise GradcheckError(
            f"gradient of output {o} with respect to input {i} has shape {tuple(g.shape)} "
            f"but the input has shape {tuple(x.shape)}"
        )
    if g.dtype != x.dtype:
        raise GradcheckError(
            f"gradient of output {o} with respect to input {i} has dtype {g.dtype.name} "
            f"but the input has dtype {x.dtype.name}"
        )


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Check the gradients of ``fn`` at ``inputs`` against central finite differences.

    ``inputs`` is a tensor or a tuple (non-tensor entries are passed through); the
    tensors with ``requires_grad`` are checked and must be float64. ``fn(*inputs)``
    returns a tensor or a tuple of tensors.

    For every checked input ``x_i`` and output ``y_o``:

    * analytical: row ``j`` of ``J = d y_o / d x_i`` is ``grad(y_o, x_i, e_j)`` (one
      backward sweep per output element, cotangent = the ``j``-th one-hot ``e_j``);
    * numerical: column ``k`` is ``(y_o(x + eps e_k) - y_o(x - eps e_k)) / (2 eps)``,
      evaluated on perturbed float64 copies of the inputs (error O(eps^2));
    * they must agree entrywise: ``|a - n| <= atol + rtol * |n|``.

    Every returned gradient must also have the input's shape and dtype, and empty
    outputs must give zero gradients. At least one output must require grad (a fn whose
    outputs record no graph is reported, rather than passing vacuously). Zero-size inputs/outputs make empty Jacobians,
    which pass trivially.

    ``fn`` is called with the given (possibly strided) inputs for the analytical part,
    so backward is exercised on that layout; the finite differences call it with
    contiguous copies (same values), since forward results do not depend on layout.

    Returns True; on a mismatch raises :class:`GradcheckError` naming the input index,
    the output index, the element positions and both values (or returns False if
    ``raise_exception=False``).
    """
    try:
        inputs, wrt = _check_inputs(inputs)
        outputs = _as_tuple(fn(*inputs))
        for o, out in enumerate(outputs):
            if not isinstance(out, Tensor):
                raise TypeError(f"gradcheck: fn returned a {type(out).__name__} as output {o}; "
                                "expected tensors")
        if not any(out.requires_grad and _is_float(out) for out in outputs):
            # Nothing to differentiate: a comparison would pass vacuously (both Jacobians
            # zero for a constant fn) or only say "analytical 0"; a recording problem is
            # the likelier cause, so say so.
            raise GradcheckError(
                "gradcheck: none of fn's outputs requires grad although inputs "
                f"{wrt} do; was the graph recorded (grad mode on, differentiable ops)?"
            )
        if all(inputs[i].size == 0 for i in wrt) and all(out.size == 0 for out in outputs):
            _analytical_jacobian(outputs, inputs, wrt)  # still exercise backward
            return True

        analytical = _analytical_jacobian(outputs, inputs, wrt)

        def numpy_fn(arrays):
            args = list(inputs)
            for i in wrt:
                args[i] = _fg_float64(arrays[i], requires_grad=True)
            outs = _as_tuple(fn(*args))
            if len(outs) != len(outputs):
                raise GradcheckError("fn returned a different number of outputs on "
                                     "perturbed inputs")
            return [_to_numpy64(out) for out in outs]

        arrays = [(_to_numpy64(x) if k in wrt else None) for k, x in enumerate(inputs)]
        numerical, values = _numerical_jacobian(numpy_fn, arrays, wrt, eps)
        for o, (out, val) in enumerate(zip(outputs, values)):
            if tuple(val.shape) != tuple(out.shape):
                raise GradcheckError(f"output {o} has shape {tuple(out.shape)} on the given "
                                     f"inputs but {val.shape} on contiguous copies")
            if not np.allclose(val, _to_numpy64(out), rtol=1e-10, atol=1e-12, equal_nan=True):
                raise GradcheckError(f"output {o} of fn differs between the given inputs and "
                                     "contiguous copies of them (forward depends on layout)")
        for i in wrt:
            for o, out in enumerate(outputs):
                _compare_jacobians(analytical[i][o], numerical[i][o], i, o,
                                   tuple(inputs[i].shape), tuple(out.shape), atol, rtol)
        return True
    except GradcheckError:
        if raise_exception:
            raise
        return False


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True):
    """Check second derivatives of ``fn`` by finite differences of its gradients.

    With fixed cotangents ``v`` (``grad_outputs``; by default random float64 tensors
    from a fixed seed, one per output, not requiring grad) this defines

        g(x) = grad(fn(x), x, v, create_graph=True) = v^T J_fn(x),

    whose Jacobian is ``sum_j v_j * Hessian(y_j)``, and runs :func:`gradcheck` on ``g``.
    This exercises the backward of every backward formula (``create_graph=True``).
    Gradients that are None (an input unused by ``fn``) count as zeros.
    """
    inputs, wrt = _check_inputs(inputs)
    outputs = _as_tuple(fn(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(12345)
        vs = [_fg_like(rng.standard_normal(tuple(out.shape)), out) for out in outputs]
    else:
        vs = list(_as_tuple(grad_outputs))
        if len(vs) != len(outputs):
            raise ValueError(f"gradgradcheck: {len(vs)} grad_outputs for {len(outputs)} outputs")

    def first_derivative(*args):
        outs = _as_tuple(fn(*args))
        pairs = [(out, v) for out, v in zip(outs, vs) if isinstance(out, Tensor)
                 and out.requires_grad]
        xs = [args[i] for i in wrt]
        if not pairs:
            raise GradcheckError("gradgradcheck: none of fn's outputs requires grad; "
                                 "there is no first derivative to check")
        gs = grad([p[0] for p in pairs], xs, [p[1] for p in pairs], create_graph=True,
                  allow_unused=True)
        return tuple(_fg_float64(np.zeros(tuple(x.shape))) if g is None else g
                     for g, x in zip(gs, xs))

    return gradcheck(first_derivative, inputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
