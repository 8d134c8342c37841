"""Layers and containers against NumPy: Linear, activations, Flatten, Identity,
Sequential, ModuleList, Residual, and a small training smoke test."""

import math
import warnings

import numpy as np
import pytest
from conftest import np_gelu, np_sigmoid

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F


def np_(t):
    return np.asarray(t.numpy(), dtype=np.float64)


# ----------------------------------------------------------------------------- Linear


@pytest.mark.parametrize("dtype", [fg.float32, fg.float64])
def test_linear_forward_matches_numpy(dtype):
    fg.manual_seed(1)
    lin = nn.Linear(5, 3, dtype=dtype)
    assert lin.weight.shape == (3, 5) and lin.bias.shape == (3,)
    assert lin.weight.dtype == dtype and lin.bias.dtype == dtype
    x = fg.randn((4, 5), dtype=dtype)
    y = lin(x)
    ref = np_(x) @ np_(lin.weight).T + np_(lin.bias)
    rtol = 1e-5 if dtype == fg.float32 else 1e-12
    np.testing.assert_allclose(np_(y), ref, rtol=rtol, atol=rtol)
    assert y.dtype == dtype
    # Batched (3-D) input and no bias.
    lin2 = nn.Linear(5, 2, bias=False, dtype=dtype)
    assert lin2.bias is None
    x3 = fg.randn((2, 4, 5), dtype=dtype)
    np.testing.assert_allclose(np_(lin2(x3)), np_(x3) @ np_(lin2.weight).T, rtol=rtol, atol=rtol)


def test_linear_backward_matches_hand_formula():
    lin = nn.Linear(3, 2, dtype=fg.float64)
    x = fg.randn((4, 3), dtype=fg.float64)
    g = np.arange(8, dtype=np.float64).reshape(4, 2)
    (lin(x) * fg.tensor(g)).sum().backward()
    np.testing.assert_allclose(np_(lin.weight.grad), g.T @ np_(x), rtol=1e-12)
    np.testing.assert_allclose(np_(lin.bias.grad), g.sum(0), rtol=1e-12)


def test_functional_linear_uses_a_transposed_view():
    w = fg.randn((3, 5))
    assert w.mT._shares_storage(w)
    x = fg.randn((2, 5))
    np.testing.assert_allclose(np_(F.linear(x, w)), np_(x) @ np_(w).T, rtol=1e-5)
    b = fg.randn((3,))
    np.testing.assert_allclose(np_(F.linear(x, w, b)), np_(x) @ np_(w).T + np_(b), rtol=1e-5)


def test_linear_default_init_bounds_and_statistics():
    fg.manual_seed(123)
    fan_in, out = 64, 512
    lin = nn.Linear(fan_in, out)
    bound = 1 / math.sqrt(fan_in)
    w = np_(lin.weight)
    b = np_(lin.bias)
    assert np.all(np.abs(w) <= bound) and np.all(np.abs(b) <= bound)
    assert np.abs(w).max() > 0.99 * bound  # fills the whole range
    n = w.size
    sd = bound / math.sqrt(3)  # std of U(-bound, bound)
    assert abs(w.mean()) < 5 * sd / math.sqrt(n)
    assert abs(w.std() - sd) < 0.03 * sd
    assert abs(b.mean()) < 5 * sd / math.sqrt(out)


def test_linear_init_is_reproducible_with_manual_seed():
    fg.manual_seed(7)
    a = nn.Linear(4, 4)
    fg.manual_seed(7)
    b = nn.Linear(4, 4)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    c = nn.Linear(4, 4)
    assert not np.array_equal(a.weight.numpy(), c.weight.numpy())


# ----------------------------------------------------------------------------- activations

X = np.array([[-3.0, -1.0, -0.5, 0.0], [0.25, 1.0, 2.0, 4.0]])


@pytest.mark.parametrize(
    "module,ref",
    [
        (nn.ReLU(), lambda x: np.maximum(x, 0)),
        (nn.LeakyReLU(), lambda x: np.where(x > 0, x, 0.01 * x)),
        (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
        (nn.GELU(), np_gelu),
        (nn.GELU("tanh"), lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))),
        (nn.Tanh(), np.tanh),
        (nn.Sigmoid(), np_sigmoid),
        (nn.Softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
        (nn.Softmax(dim=0), lambda x: np.exp(x) / np.exp(x).sum(0, keepdims=True)),
        (nn.Identity(1, foo=2), lambda x: x),
    ],
    ids=lambda v: repr(v) if isinstance(v, nn.Module) else "",
)
def test_activations_match_numpy(module, ref):
    x = fg.tensor(X, dtype=fg.float64)
    np.testing.assert_allclose(np_(module(x)), ref(X), rtol=1e-7, atol=1e-12)


def test_functional_activations():
    x = fg.tensor(X, dtype=fg.float64)
    np.testing.assert_allclose(np_(F.relu(x)), np.maximum(X, 0))
    np.testing.assert_allclose(np_(F.leaky_relu(x, 0.1)), np.where(X > 0, X, 0.1 * X))
    np.testing.assert_allclose(np_(F.gelu(x)), np_gelu(X), rtol=1e-7)
    np.testing.assert_allclose(np_(F.tanh(x)), np.tanh(X), rtol=1e-12)
    np.testing.assert_allclose(np_(F.sigmoid(x)), np_sigmoid(X), rtol=1e-12)
    lsm = X - np.log(np.exp(X).sum(-1, keepdims=True))
    np.testing.assert_allclose(np_(F.log_softmax(x, dim=-1)), lsm, rtol=1e-12)
    np.testing.assert_allclose(np_(F.softmax(x, dim=-1)), np.exp(lsm), rtol=1e-12)
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")


def test_leaky_relu_gradient_at_and_around_zero():
    x = fg.tensor([-2.0, 0.0, 3.0], dtype=fg.float64, requires_grad=True)
    F.leaky_relu(x, 0.1).sum().backward()
    np.testing.assert_allclose(np_(x.grad), [0.1, 0.1, 1.0])


def test_softmax_implicit_dim_warns_like_pytorch():
    x2 = fg.tensor(X)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = nn.Softmax()(x2)
    np.testing.assert_allclose(np_(y).sum(1), [1.0, 1.0], rtol=1e-6)  # dim=1 for 2-D
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y1 = F.softmax(fg.tensor([1.0, 2.0]))
    np.testing.assert_allclose(np_(y1).sum(), 1.0, rtol=1e-6)


def test_activation_reprs():
    assert repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.Softmax(dim=-1)) == "Softmax(dim=-1)"
    assert repr(nn.Tanh()) == "Tanh()" and repr(nn.Sigmoid()) == "Sigmoid()"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Identity()) == "Identity()"


def test_flatten():
    x = fg.randn((2, 3, 4, 5))
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(2)(x).shape == (2, 3, 20)
    np.testing.assert_array_equal(nn.Flatten()(x).numpy(), x.numpy().reshape(2, 60))


# ----------------------------------------------------------------------------- containers


def test_sequential_forward_indexing_and_keys():
    fg.manual_seed(0)
    l0, l2 = nn.Linear(3, 4), nn.Linear(4, 2)
    s = nn.Sequential(l0, nn.ReLU(), l2)
    x = fg.randn((5, 3))
    ref = np.maximum(np_(x) @ np_(l0.weight).T + np_(l0.bias), 0) @ np_(l2.weight).T + np_(l2.bias)
    np.testing.assert_allclose(np_(s(x)), ref, rtol=1e-5, atol=1e-6)
    assert len(s) == 3
    assert s[0] is l0 and s[-1] is l2 and s[-3] is l0
    assert list(s) == [l0, s[1], l2]
    with pytest.raises(IndexError):
        s[3]
    with pytest.raises(IndexError):
        s[-4]
    head = s[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is l0
    assert s[::-1][0] is l2
    assert list(s.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    s.append(nn.Tanh())
    assert len(s) == 4 and isinstance(s[3], nn.Tanh)
    del s[1]
    assert [type(m).__name__ for m in s] == ["Linear", "Linear", "Tanh"]
    assert list(s.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    s[2] = nn.Sigmoid()
    assert isinstance(s[2], nn.Sigmoid)


def test_sequential_from_ordered_dict():
    from collections import OrderedDict

    s = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(s.state_dict()) == ["fc.weight", "fc.bias"]
    assert isinstance(s.act, nn.ReLU) and s[1] is s.act


def test_module_list():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3
    assert len(list(layers.parameters())) == 6
    assert list(layers.state_dict())[:2] == ["0.weight", "0.bias"]
    extra = nn.Linear(2, 2)
    layers.append(extra)
    assert layers[-1] is extra and layers.index(extra) == 3
    first = nn.ReLU()
    layers.insert(0, first)
    assert layers[0] is first and layers.index(extra) == 4 and len(layers) == 5
    layers.extend([nn.Tanh(), nn.Sigmoid()])
    assert len(layers) == 7
    assert [type(m).__name__ for m in layers][-2:] == ["Tanh", "Sigmoid"]
    sub = layers[1:3]
    assert isinstance(sub, nn.ModuleList) and len(sub) == 2
    del layers[0]
    assert list(layers._modules) == [str(i) for i in range(6)]
    with pytest.raises(ValueError):
        layers.index(nn.ReLU())
    with pytest.raises(IndexError):
        layers[10]
    with pytest.raises(NotImplementedError):
        layers(fg.zeros((1, 2)))

    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList(nn.Linear(2, 2) for _ in range(2))

        def forward(self, x):
            for b in self.blocks:
                x = b(x)
            return x

    st = Stack()
    assert [k for k, _ in st.named_parameters()] == [
        "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias"]
    assert st(fg.ones((1, 2))).shape == (1, 2)


def test_residual():
    fg.manual_seed(3)
    inner = nn.Linear(4, 4, dtype=fg.float64)
    r = nn.Residual(inner)
    x = fg.randn((3, 4), dtype=fg.float64)
    ref = np_(x) + np_(x) @ np_(inner.weight).T + np_(inner.bias)
    np.testing.assert_allclose(np_(r(x)), ref, rtol=1e-12)
    assert list(r.state_dict()) == ["fn.weight", "fn.bias"]
    assert r.fn is inner and list(r.children()) == [inner]
    assert repr(r) == "Residual(\n  (fn): Linear(in_features=4, out_features=4, bias=True)\n)"
    # d/dx (x + fn(x)) = 1 + fn'(x): with fn the identity (empty Sequential), 2.
    xg = fg.randn((2, 4), dtype=fg.float64, requires_grad=True)
    nn.Residual(nn.Sequential())(xg).sum().backward()
    np.testing.assert_allclose(np_(xg.grad), np.full((2, 4), 2.0))
    with pytest.raises(TypeError, match="Module"):
        nn.Residual(lambda x: x)


def test_dropout_construction_and_eval_identity():
    for bad in (-0.1, 1.5, "0.5"):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(bad)
    d = nn.Dropout(0.3)
    assert repr(d) == "Dropout(p=0.3, inplace=False)"
    d.eval()
    x = fg.randn((4, 4))
    np.testing.assert_array_equal(d(x).numpy(), x.numpy())
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, p=2.0)


# ----------------------------------------------------------------------------- training


def test_mlp_fits_a_nonlinear_target_with_sgd():
    fg.manual_seed(0)
    rng = np.random.default_rng(0)
    xs = rng.uniform(-2, 2, size=(128, 2)).astype(np.float32)
    ys = (np.sin(xs[:, :1]) * np.cos(xs[:, 1:])).astype(np.float32)
    x, y = fg.tensor(xs), fg.tensor(ys)

    model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 1))

    def loss_fn():
        d = model(x) - y
        return (d * d).mean()

    first = loss_fn().item()
    lr = 0.2
    for _ in range(400):
        model.zero_grad()
        loss = loss_fn()
        loss.backward()
        with fg.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
    last = loss_fn().item()
    assert last < first / 10, (first, last)
