"""``fg.autograd.Function``: Python-defined differentiable operations (forward/backward
static methods, ctx), checked with gradcheck/gradgradcheck and closed forms, and the
errors for bad backward answers."""

import numpy as np
import pytest

import ferrograd as fg


def f64(a, requires_grad=True):
    return fg.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


class Cube(fg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x


class ScaledMul(fg.autograd.Function):
    """x * y * scale with a non-tensor argument (its gradient slot is None)."""

    @staticmethod
    def forward(ctx, x, y, scale):
        ctx.save_for_backward(x, y)
        ctx.scale = scale
        return x * y * scale

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        gx = grad * y * ctx.scale if ctx.needs_input_grad[0] else None
        gy = grad * x * ctx.scale if ctx.needs_input_grad[1] else None
        return gx, gy, None


def test_cube_gradient_matches_closed_form_and_names_node():
    a = np.random.default_rng(0).standard_normal((3, 4))
    x = f64(a)
    y = Cube.apply(x)
    assert y.grad_fn == "CubeBackward"
    np.testing.assert_allclose(y.detach().numpy(), a**3)
    (y * f64(np.full((3, 4), 2.0), False)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * a**2, rtol=1e-12)


def test_gradcheck_and_gradgradcheck_on_custom_functions():
    rng = np.random.default_rng(1)
    x = f64(rng.standard_normal(5))
    assert fg.autograd.gradcheck(Cube.apply, (x,))
    assert fg.autograd.gradgradcheck(Cube.apply, (x,))
    y = f64(rng.standard_normal(5))
    assert fg.autograd.gradcheck(lambda a, b: ScaledMul.apply(a, b, 0.5), (x, y))


def test_function_composes_with_builtin_ops_and_broadcast_inputs():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    x, y = f64(a), f64(b)
    out = (ScaledMul.apply(x.exp(), y, 2.0) + x).sum()
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * b * np.exp(a) + 1, rtol=1e-12)
    np.testing.assert_allclose(y.grad.numpy(), 2 * np.exp(a), rtol=1e-12)


def test_needs_input_grad_and_no_record_without_grad():
    seen = {}

    class Probe(fg.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            seen["needs"] = ctx.needs_input_grad
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g, g

    x, y = f64([1.0, 2.0]), f64([3.0, 4.0], requires_grad=False)
    assert Probe.apply(x, y).grad_fn == "ProbeBackward"
    assert seen["needs"] == (True, False)
    with fg.no_grad():
        out = Probe.apply(x, y)
    assert out.grad_fn is None and not out.requires_grad
    assert seen["needs"] == (False, False)


def test_wrong_gradient_shape_is_a_clear_error():
    class BadShape(fg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g.sum()

    x = f64(np.ones((3, 4)))
    with pytest.raises(RuntimeError, match=r"BadShapeBackward returned an invalid gradient at index 0.*\(3, 4\)"):
        BadShape.apply(x).sum().backward()


def test_wrong_number_of_gradients_is_a_clear_error():
    class TooMany(fg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(RuntimeError, match="incorrect number of gradients \\(expected 1, got 2\\)"):
        TooMany.apply(f64([1.0])).sum().backward()


def test_non_tensor_gradient_and_gradient_for_non_tensor_arg_are_errors():
    class NotTensor(fg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return 3.0

    with pytest.raises(TypeError, match="returned a float as gradient 0"):
        NotTensor.apply(f64([1.0])).sum().backward()

    class GradForScale(fg.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            return x * scale

        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(RuntimeError, match="position 1, but the corresponding forward input was not a Tensor"):
        GradForScale.apply(f64([1.0]), 2.0).sum().backward()


def test_exception_in_backward_propagates_unchanged():
    class Boom(fg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise KeyError("boom in backward")

    with pytest.raises(KeyError, match="boom in backward"):
        Boom.apply(f64([1.0])).sum().backward()
    # The engine is usable afterwards, and the stale error does not leak into it.
    x = f64([2.0])
    Cube.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [12.0])


def test_inplace_edit_of_saved_tensor_is_detected():
    x = f64([1.0, 2.0])
    h = x * 1.0
    y = Cube.apply(h)
    h += 1.0  # in place: bumps the storage version the node recorded
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_instantiating_or_tuple_outputs_are_refused():
    with pytest.raises(RuntimeError, match="call Cube.apply"):
        Cube()

    class Pair(fg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x, x

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(NotImplementedError, match="single Tensor"):
        Pair.apply(f64([1.0]))
    with pytest.raises(TypeError, match="save_for_backward can only save tensors"):
        fg.autograd.FunctionCtx((True,)).save_for_backward(1.0)
