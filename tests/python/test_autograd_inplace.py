"""Autograd through in-place ops: setitem, augmented assignment, fill_, and writes
through views, which rebase the graph as PyTorch does (CopySlices / AsStrided).

Gradients are checked against closed forms in float64 and with gradcheck /
gradgradcheck.
"""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.autograd import gradcheck, gradgradcheck


def leaf(a, dtype=np.float64):
    return fg.tensor(np.asarray(a, dtype=dtype), requires_grad=True)


def npy(t):
    return np.array(np.asarray(t.detach()), copy=True)


def close(t, expected, rtol=1e-12, atol=1e-12):
    assert t is not None, "expected a gradient, got None"
    np.testing.assert_allclose(npy(t), np.asarray(expected, dtype=np.float64), rtol=rtol, atol=atol)


X = np.array([0.5, -1.0, 2.0, 1.5])


# ----- what is refused -----

@pytest.mark.parametrize("write", [
    lambda x: x.__iadd__(1.0),
    lambda x: x.__setitem__(0, 1.0),
    lambda x: x.fill_(0.0),
    lambda x: x[1:].__imul__(2.0),
    lambda x: x[None].mT.__setitem__(0, 3.0),
])
def test_writes_into_a_leaf_that_requires_grad_or_its_views_raise(write):
    x = leaf(X)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        write(x)
    np.testing.assert_array_equal(npy(x), X)  # nothing was written


def test_leaf_update_under_no_grad_is_allowed():
    x = leaf(X)
    with fg.no_grad():
        x -= 0.5
        x[0] = 7.0
    assert x.is_leaf and x.requires_grad and x.grad_fn is None
    np.testing.assert_array_equal(npy(x), [7.0, -1.5, 1.5, 1.0])


def test_writing_through_a_broadcast_view_raises_while_recording():
    y = leaf(X) * 1.0
    b = y[None].broadcast_to((3, 4))
    with pytest.raises(RuntimeError, match="more than one element"):
        b += 1.0


def test_saved_tensor_overwritten_in_place_raises_at_backward():
    x = leaf(X)
    y = x * 1.0
    z = y.exp()  # saves y
    y += 1.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


# ----- augmented assignment on non-leaves -----

def test_iadd_on_a_non_leaf_rebases_its_grad_fn():
    x = leaf(X)
    y = x.exp()
    y += 1.0
    assert y.grad_fn == "AddBackward" and not y.is_leaf
    y.sum().backward()
    close(x.grad, np.exp(X))


def test_chain_of_inplace_ops_matches_the_out_of_place_gradient():
    x = leaf(X)
    y = x * 2.0
    y += x
    y -= 1.0
    y *= x
    y /= 2.0
    y.sum().backward()
    # y = (3x - 1) * x / 2 -> dy/dx = (6x - 1) / 2
    close(x.grad, (6 * X - 1) / 2)


def test_self_multiplication_in_place():
    x = leaf(X)
    b = x * 2.0 + 1.0
    b *= b
    b.sum().backward()
    close(x.grad, 4 * (2 * X + 1))


def test_earlier_consumers_keep_the_value_they_read():
    x = leaf(X)
    y = x * 2.0
    z = y + 1.0  # add saves nothing: the write below does not invalidate it
    y *= 5.0
    (z.sum() + y.sum()).backward()
    close(x.grad, np.full(4, 2.0 + 10.0))


def test_inplace_with_a_value_of_another_dtype():
    y = leaf(X, np.float32) * 1.0
    w = leaf([1.0, 2.0, 3.0, 4.0])  # float64
    y += w * w
    assert y.dtype == fg.float32
    y.sum().backward()
    assert w.grad.dtype == fg.float64
    close(w.grad, 2 * np.array([1.0, 2.0, 3.0, 4.0]))


# ----- setitem -----

def test_setitem_value_gets_the_gradient_of_the_written_region():
    w = leaf([1.0, 2.0])
    x = fg.zeros(4, dtype=fg.float64)
    x[1:3] = w * 3.0
    assert x.requires_grad and not x.is_leaf and x.grad_fn == "CopySlices"
    (x * fg.tensor([1.0, 2.0, 3.0, 4.0], dtype=fg.float64)).sum().backward()
    close(w.grad, [6.0, 9.0])


def test_setitem_zeroes_the_overwritten_part_of_the_old_gradient():
    x = leaf(X)
    y = x * x
    y[1] = 5.0
    y.sum().backward()
    close(x.grad, 2 * X * np.array([1, 0, 1, 1]))


def test_setitem_with_integer_arrays_and_masks():
    a = leaf([1.0, 2.0, 3.0])
    x = fg.zeros(5, dtype=fg.float64)
    x[fg.tensor([0, 4])] = a[:2] * 2.0
    (x * fg.arange(5.0, dtype=fg.float64)).sum().backward()
    close(a.grad, [0.0, 8.0, 0.0])

    b = leaf(X)
    y = b * 1.0
    y[y > 1.0] = 0.0
    (y * y).sum().backward()
    close(b.grad, 2 * X * (X <= 1.0))


def test_augmented_subscript_assignment():
    a = leaf([1.0, 2.0, 3.0])
    y = a * 1.0
    y[1:] += a[:2] * a[:2]
    y.sum().backward()
    close(a.grad, [3.0, 5.0, 1.0])


def test_setitem_under_no_grad_is_not_recorded():
    x = leaf(X)
    y = x * 3.0
    with fg.no_grad():
        y[0] = 100.0
    assert y.grad_fn == "MulBackward"
    y.sum().backward()
    close(x.grad, np.full(4, 3.0))


# ----- writes through views -----

def test_write_through_a_view_rebases_base_and_view():
    a = leaf([[1.0, 2.0], [3.0, 4.0]])
    y = a * 1.0
    v = y[0]
    v *= 10.0
    assert y.grad_fn == "CopySlices"
    assert v.grad_fn == "AsStridedBackward"
    np.testing.assert_array_equal(npy(y), [[10.0, 20.0], [3.0, 4.0]])
    (y * y).sum().backward()
    close(a.grad, [[200.0, 400.0], [6.0, 8.0]])


def test_other_views_see_the_new_graph():
    a = leaf([1.0, 2.0, 3.0])
    y = a.exp()
    u = y[1:]  # taken before the write
    y[0] = 0.0
    y[1] = 1.0
    assert u.grad_fn == "AsStridedBackward"
    u.sum().backward()
    close(a.grad, [0.0, 0.0, np.exp(3.0)])


def test_fill_on_a_view():
    a = leaf(X)
    y = a * 2.0
    y[:2].fill_(0.0)
    y.sum().backward()
    close(a.grad, [0.0, 0.0, 2.0, 2.0])


def test_gradient_of_the_view_itself_after_the_write():
    a = leaf(X)
    y = a * 1.0
    v = y[::2]
    v += 1.0
    (v * v).sum().backward()
    close(a.grad, 2 * (X + 1) * np.array([1, 0, 1, 0]))


# ----- gradcheck -----

def _basic(x, v):
    y = x * 1.0
    y[1:3] = v
    return y * y


def _transposed(x, v):
    y = x.exp()
    t = y.T
    t[0] *= v
    return y.sin()


def _advanced(x, v):
    y = x * x
    y[fg.tensor([2, 0])] = v.tanh()
    return y


def _chain(x, v):
    y = x * 1.0
    y *= x
    y += v[:1]
    y /= x.cos() + 2.0
    y[::2] -= v[1:].sum()
    return y


def _fill(x, v):
    y = x * v[:1]
    y[1:].fill_(0.5)
    return y.exp()


@pytest.mark.parametrize("fn, vshape", [
    (_basic, (2,)), (_advanced, (2,)), (_chain, (2,)), (_fill, (2,)),
])
def test_gradcheck_1d(fn, vshape):
    rng = np.random.default_rng(0)
    x = leaf(rng.uniform(0.5, 1.5, 5))
    v = leaf(rng.uniform(-1, 1, vshape))
    assert gradcheck(fn, (x, v))
    assert gradgradcheck(fn, (x, v))


def test_gradcheck_through_a_transposed_view():
    rng = np.random.default_rng(1)
    x = leaf(rng.uniform(-1, 1, (3, 4)))
    v = leaf(rng.uniform(-1, 1, (3,)))
    assert gradcheck(_transposed, (x, v))
    assert gradgradcheck(_transposed, (x, v))
