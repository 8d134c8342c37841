"""nn.init: gains, fan rules, bounds and statistics of every initializer."""

import math

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import init


def np_(t):
    return np.asarray(t.numpy(), dtype=np.float64)


def check_mean_std(a, mean, std, k=5.0, rel=0.04):
    """Sample mean within k standard errors of ``mean``; sample std within ``rel``."""
    n = a.size
    assert abs(a.mean() - mean) < k * std / math.sqrt(n), (a.mean(), mean)
    assert abs(a.std() - std) < rel * std, (a.std(), std)


def test_calculate_gain():
    for name in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                 "conv_transpose2d", "conv_transpose3d", "sigmoid"):
        assert init.calculate_gain(name) == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == pytest.approx(0.75)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "x")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_fan_in_and_fan_out():
    f = init._calculate_fan_in_and_fan_out
    assert f(fg.empty((3, 5))) == (5, 3)
    assert f(fg.empty((8, 4, 3, 3))) == (4 * 9, 8 * 9)
    assert f(fg.empty((6, 2, 5))) == (10, 30)
    for shape in ((5,), ()):
        with pytest.raises(ValueError, match="fewer than 2 dimensions"):
            f(fg.empty(shape))


def test_fills_are_in_place_and_return_the_tensor():
    p = nn.Parameter(fg.empty((4, 3)))
    for fn, args in [(init.uniform_, ()), (init.normal_, ()), (init.zeros_, ()),
                     (init.ones_, ()), (init.constant_, (2.5,)), (init.xavier_uniform_, ()),
                     (init.xavier_normal_, ()), (init.kaiming_uniform_, ()),
                     (init.kaiming_normal_, ()), (init.orthogonal_, ()),
                     (init.trunc_normal_, ())]:
        assert fn(p, *args) is p
        assert p.is_leaf and p.requires_grad and p.grad_fn is None
    init.constant_(p, 2.5)
    assert np.all(p.numpy() == 2.5)
    init.zeros_(p)
    assert np.all(p.numpy() == 0)
    init.ones_(p)
    assert np.all(p.numpy() == 1)


def test_uniform_and_normal_statistics():
    fg.manual_seed(0)
    t = fg.empty((200, 200))
    a = np_(init.uniform_(t, -2.0, 3.0))
    assert a.min() >= -2.0 and a.max() <= 3.0
    check_mean_std(a, 0.5, 5 / math.sqrt(12))
    b = np_(init.normal_(t, mean=1.5, std=0.5))
    check_mean_std(b, 1.5, 0.5)
    d = np_(init.uniform_(fg.empty((100, 100), dtype=fg.float64)))
    assert d.min() >= 0 and d.max() <= 1


def test_trunc_normal_bounds_and_statistics():
    fg.manual_seed(1)
    a = np_(init.trunc_normal_(fg.empty((200, 200)), mean=0.0, std=1.0, a=-1.0, b=1.0))
    assert a.min() >= -1.0 and a.max() <= 1.0
    # Std of the standard normal truncated to [-1, 1].
    phi = math.exp(-0.5) / math.sqrt(2 * math.pi)
    z = math.erf(1 / math.sqrt(2))
    std = math.sqrt(1 - 2 * phi / z)
    check_mean_std(a, 0.0, std)


def test_reproducible_with_manual_seed():
    fg.manual_seed(42)
    a = np_(init.kaiming_normal_(fg.empty((8, 8))))
    fg.manual_seed(42)
    b = np_(init.kaiming_normal_(fg.empty((8, 8))))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3)])
def test_xavier(shape):
    fg.manual_seed(2)
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(fg.empty(shape))
    std = math.sqrt(2 / (fan_in + fan_out))
    u = np_(init.xavier_uniform_(fg.empty(shape), gain=2.0))
    bound = 2.0 * math.sqrt(3) * std
    assert np.abs(u).max() <= bound and np.abs(u).max() > 0.99 * bound
    check_mean_std(u, 0.0, 2.0 * std)
    n = np_(init.xavier_normal_(fg.empty(shape), gain=0.5))
    check_mean_std(n, 0.0, 0.5 * std)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("relu", 0), ("leaky_relu", 0.1), ("tanh", 0)])
def test_kaiming(mode, nonlinearity, a):
    fg.manual_seed(3)
    shape = (256, 128, 2, 2)
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(fg.empty(shape))
    fan = fan_in if mode == "fan_in" else fan_out
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    u = np_(init.kaiming_uniform_(fg.empty(shape), a=a, mode=mode, nonlinearity=nonlinearity))
    bound = math.sqrt(3) * std
    assert np.abs(u).max() <= bound * (1 + 1e-6) and np.abs(u).max() > 0.99 * bound
    check_mean_std(u, 0.0, std)
    n = np_(init.kaiming_normal_(fg.empty(shape), a=a, mode=mode, nonlinearity=nonlinearity))
    check_mean_std(n, 0.0, std)


def test_kaiming_errors_and_linear_default():
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(fg.empty((3, 3)), mode="fan_avg")
    with pytest.raises(ValueError, match="fewer than 2"):
        init.kaiming_uniform_(fg.empty((3,)))
    # a = sqrt(5) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (Linear's default).
    fg.manual_seed(4)
    w = np_(init.kaiming_uniform_(fg.empty((500, 100)), a=math.sqrt(5)))
    assert np.abs(w).max() <= 0.1 * (1 + 1e-6) and np.abs(w).max() > 0.099
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(fg.empty((0, 3)))


@pytest.mark.parametrize("shape", [(6, 6), (4, 9), (9, 4), (3, 2, 2, 2)])
@pytest.mark.parametrize("dtype", [fg.float32, fg.float64])
def test_orthogonal(shape, dtype):
    fg.manual_seed(5)
    w = np_(init.orthogonal_(fg.empty(shape, dtype=dtype), gain=1.5)).reshape(shape[0], -1)
    rows, cols = w.shape
    tol = 1e-5 if dtype == fg.float32 else 1e-12
    if rows <= cols:
        np.testing.assert_allclose(w @ w.T, 2.25 * np.eye(rows), atol=tol * 10)
    else:
        np.testing.assert_allclose(w.T @ w, 2.25 * np.eye(cols), atol=tol * 10)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(fg.empty((3,)))


def test_orthogonal_differs_between_draws():
    a = np_(init.orthogonal_(fg.empty((5, 5))))
    b = np_(init.orthogonal_(fg.empty((5, 5))))
    assert not np.allclose(a, b)


def test_integer_tensors_are_refused():
    with pytest.raises(TypeError, match="floating-point"):
        init.uniform_(fg.zeros((2, 2), dtype=fg.int64))
