"""``ferrograd.autograd.Function``: differentiable operations written in Python.

PyTorch's API. Subclass :class:`Function` with two static methods::

    class Cube(fg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x * x

    y = Cube.apply(x)

``forward`` runs with graph recording off; :meth:`Function.apply` then records one graph
node for the whole call, whose backward calls ``backward(ctx, grad_output)``. ``backward``
returns one gradient per argument of ``forward`` (``None`` for an argument that is not
a tensor or needs no gradient); a single gradient may be returned bare when ``forward``
takes one argument. Gradients must match their input's shape. ``backward`` written
with differentiable tensor ops supports higher-order gradients (``create_graph=True``).

Limits: ``forward`` returns one tensor (multi-output Functions are not supported and
raise ``NotImplementedError`` when a gradient would be recorded); ``mark_dirty`` and
``mark_non_differentiable`` are not provided. A ctx that saves the output tensor keeps
the graph alive until a backward pass frees it (as PyTorch without its cycle tricks).
"""

from . import _core

Tensor = _core.Tensor

__all__ = ["Function", "FunctionCtx"]


class FunctionCtx:
    """The ``ctx`` passed to ``forward`` and ``backward``: carries state between them."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self._saved = ()

    def save_for_backward(self, *tensors):
        """Keeps tensors for ``backward`` (checked for in-place edits before it runs)."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward can only save tensors or None, but argument {i} is "
                    f"{type(t).__name__}"
                )
        self._saved = tensors

    @property
    def saved_tensors(self):
        return self._saved


class Function:
    """Base class of Python-defined differentiable operations (see the module doc)."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError(
            f"{type(self).__name__} is an autograd.Function: call {type(self).__name__}.apply(...) "
            "instead of instantiating it"
        )

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("subclasses of autograd.Function must define forward")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("subclasses of autograd.Function must define backward")

    @classmethod
    def apply(cls, *args, **kwargs):
        from .autograd import is_grad_enabled, no_grad

        if cls.forward is Function.forward:
            raise NotImplementedError(f"{cls.__name__} must define a forward staticmethod")
        grad_on = is_grad_enabled()
        needs = tuple(
            grad_on and isinstance(a, Tensor) and a.requires_grad for a in args
        )
        ctx = FunctionCtx(needs)
        with no_grad():
            out = cls.forward(ctx, *args, **kwargs)
        if not any(needs):
            return out
        if not isinstance(out, Tensor):
            raise NotImplementedError(
                f"{cls.__name__}.forward returned {type(out).__name__}; autograd.Function "
                "supports forward returning a single Tensor"
            )
        tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        inputs = [args[i] for i in tensor_positions]
        saved = [t for t in ctx.saved_tensors if t is not None]
        n_args = len(args)
        name = cls.__name__

        def run_backward(grad):
            grads = cls.backward(ctx, grad)
            if not isinstance(grads, tuple):
                grads = (grads,)
            if len(grads) != n_args:
                raise RuntimeError(
                    f"function {name}Backward returned an incorrect number of gradients "
                    f"(expected {n_args}, got {len(grads)})"
                )
            for i, g in enumerate(grads):
                if g is not None and not isinstance(args[i], Tensor):
                    raise RuntimeError(
                        f"function {name}Backward returned a gradient different than None at "
                        f"position {i}, but the corresponding forward input was not a Tensor"
                    )
            return [grads[i] for i in tensor_positions]

        return _core._record_function(name, out, inputs, saved, run_backward)
