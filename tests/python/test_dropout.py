"""`_core.dropout`: Philox mask statistics, exact scaling, reproducibility across
thread counts, backward with the forward's mask, and the edge cases."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import _core as C

N = 1 << 20


def kept(y):
    return np.asarray(y.numpy()) != 0


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.9])
def test_kept_fraction_and_mean(p):
    fg.manual_seed(1234)
    y = C.dropout(fg.ones((N,)), p, True).numpy()
    frac = (y != 0).mean()
    sigma = np.sqrt(p * (1 - p) / N)
    assert abs(frac - (1 - p)) < 5 * sigma, (frac, 1 - p)
    # E[y] = 1: each y is 1/(1-p) with prob 1-p, else 0
    sd = np.sqrt(p / (1 - p) / N)
    assert abs(y.mean(dtype=np.float64) - 1.0) < 5 * sd


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scaling_exact(rng, dtype):
    p = 0.3
    x = rng.standard_normal((37, 101)).astype(dtype)
    y = C.dropout(fg.tensor(x), p, True).numpy()
    k = y != 0
    assert y.dtype == dtype
    np.testing.assert_array_equal(y[k], x[k] * dtype(1 / (1 - p)))
    assert 0.5 < k.mean() < 0.9


def test_mask_is_independent_of_elements_not_blocks():
    # neighbouring elements (sharing a Philox block) must not be correlated
    fg.manual_seed(5)
    k = kept(C.dropout(fg.ones((N,)), 0.5, True)).astype(np.float64)
    c = np.corrcoef(k[:-1], k[1:])[0, 1]
    assert abs(c) < 5 / np.sqrt(N)


def test_same_seed_same_mask_any_thread_count():
    threads = fg.get_num_threads()
    try:
        x = fg.ones((3 * 32768 + 77,))  # several parallel chunks plus a ragged tail
        fg.set_num_threads(1)
        fg.manual_seed(42)
        a = C.dropout(x, 0.4, True).numpy()
        fg.set_num_threads(2)
        fg.manual_seed(42)
        b = C.dropout(x, 0.4, True).numpy()
        c = C.dropout(x, 0.4, True).numpy()  # next call: a fresh stream
    finally:
        fg.set_num_threads(threads)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_strided_input_uses_logical_order(rng):
    x = rng.standard_normal((64, 48)).astype(np.float32)
    fg.manual_seed(9)
    a = C.dropout(fg.tensor(np.ascontiguousarray(x.T)), 0.5, True).numpy()
    fg.manual_seed(9)
    b = C.dropout(fg.tensor(x).T, 0.5, True).numpy()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("create_graph", [False, True])
def test_backward_uses_forward_mask(rng, create_graph):
    x = fg.tensor(rng.uniform(0.5, 2.0, (50, 70)), requires_grad=True)
    y = C.dropout(x, 0.35, True)
    v = rng.standard_normal((50, 70))
    (g,) = fg.autograd.grad([y], [x], [fg.tensor(v)], create_graph=create_graph, retain_graph=True)
    k = kept(y)
    np.testing.assert_array_equal(g.numpy(), np.where(k, v * (1 / 0.65), 0.0))
    # gradcheck in float64 (the mask is fixed by the seed of each call)
    fg.manual_seed(3)
    x2 = fg.tensor(rng.standard_normal((4, 5)), requires_grad=True)

    def f(x):
        fg.manual_seed(3)
        return C.dropout(x, 0.5, True)

    assert fg.autograd.gradcheck(f, (x2,))
    # double backward: d(dx)/d(grad_output) is the same mask
    gv = fg.tensor(v, requires_grad=True)
    (g,) = fg.autograd.grad([y], [x], [gv], create_graph=True, retain_graph=True)
    (gg,) = fg.autograd.grad([g], [gv], [fg.tensor(np.ones((50, 70)))])
    np.testing.assert_array_equal(gg.numpy(), np.where(k, 1 / 0.65, 0.0))


def test_backward_accumulates_into_leaf():
    x = fg.ones((1000,), dtype=fg.float32)
    x.requires_grad_()
    y = C.dropout(x, 0.2, True)
    (y * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy() * 2)


def test_identity_and_extremes(rng):
    x = fg.tensor(rng.standard_normal((8, 9)).astype(np.float32))
    for p, training in ((0.0, True), (0.5, False), (1.0, False)):
        np.testing.assert_array_equal(C.dropout(x, p, training).numpy(), x.numpy())
    np.testing.assert_array_equal(C.dropout(x, 1.0, True).numpy(), 0.0)
    xg = fg.tensor(np.ones(10), requires_grad=True)
    C.dropout(xg, 1.0, True).sum().backward()
    np.testing.assert_array_equal(xg.grad.numpy(), 0.0)
    assert C.dropout(fg.zeros((0, 3)), 0.5).shape == (0, 3)


def test_defaults():
    fg.manual_seed(0)
    y = C.dropout(fg.ones((N,)))
    assert abs(kept(y).mean() - 0.5) < 5 * 0.5 / np.sqrt(N)
    assert set(np.unique(y.numpy())) == {0.0, 2.0}


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_bad_p(p):
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        C.dropout(fg.ones((3,)), p, True)


def test_int_input():
    with pytest.raises(TypeError, match="floating-point"):
        C.dropout(fg.tensor(np.ones(4, np.int64)), 0.5, True)
