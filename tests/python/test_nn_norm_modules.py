"""Normalization modules and Dropout against NumPy references.

These run the fused kernels of the ``_core`` contract (layer_norm, rms_norm, group_norm,
batch_norm, dropout), which live on another branch: before that branch is merged most
of these fail with AttributeError; that is expected.
"""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F


def np_(t):
    return np.asarray(t.numpy(), dtype=np.float64)


def ref_layer_norm(x, ndims, w=None, b=None, eps=1e-5):
    axes = tuple(range(x.ndim - ndims, x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    y = (x - mu) / np.sqrt(var + eps)
    if w is not None:
        y = y * w
    if b is not None:
        y = y + b
    return y


def ref_rms_norm(x, ndims, w=None, eps=1e-6):
    axes = tuple(range(x.ndim - ndims, x.ndim))
    y = x / np.sqrt((x * x).mean(axis=axes, keepdims=True) + eps)
    return y if w is None else y * w


def ref_group_norm(x, g, w, b, eps=1e-5):
    n, c = x.shape[:2]
    xg = x.reshape(n, g, -1)
    y = (xg - xg.mean(-1, keepdims=True)) / np.sqrt(xg.var(-1, keepdims=True) + eps)
    y = y.reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return y * w.reshape(shape) + b.reshape(shape)


def bn_axes(x):
    return (0,) + tuple(range(2, x.ndim))


def ref_batch_norm(x, mean, var, w, b, eps=1e-5):
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * w.reshape(shape) + b.reshape(shape)


# ----------------------------------------------------------------------------- LayerNorm


@pytest.mark.parametrize("dtype", [fg.float32, fg.float64])
def test_layer_norm_module(rng, dtype):
    ln = nn.LayerNorm(6, dtype=dtype)
    assert ln.weight.shape == (6,) and ln.bias.shape == (6,) and ln.weight.dtype == dtype
    np.testing.assert_array_equal(np_(ln.weight), np.ones(6))
    np.testing.assert_array_equal(np_(ln.bias), np.zeros(6))
    with fg.no_grad():
        ln.weight[...] = fg.tensor(rng.normal(size=6), dtype=dtype)
        ln.bias[...] = fg.tensor(rng.normal(size=6), dtype=dtype)
    x = rng.normal(2.0, 3.0, size=(3, 4, 6))
    y = ln(fg.tensor(x, dtype=dtype))
    tol = 1e-5 if dtype == fg.float32 else 1e-10
    ref = ref_layer_norm(x, 1, np_(ln.weight), np_(ln.bias))
    np.testing.assert_allclose(np_(y), ref, rtol=tol, atol=tol)
    assert y.dtype == dtype


def test_layer_norm_multi_dim_no_affine_no_bias(rng):
    x = rng.normal(size=(2, 3, 4, 5))
    ln = nn.LayerNorm((4, 5), eps=1e-3, elementwise_affine=False, dtype=fg.float64)
    assert ln.weight is None and ln.bias is None and list(ln.parameters()) == []
    np.testing.assert_allclose(np_(ln(fg.tensor(x))), ref_layer_norm(x, 2, eps=1e-3), rtol=1e-10, atol=1e-12)
    nb = nn.LayerNorm((4, 5), bias=False, dtype=fg.float64)
    assert nb.bias is None and nb.weight.shape == (4, 5)
    assert list(nb.state_dict()) == ["weight"]
    np.testing.assert_allclose(np_(nb(fg.tensor(x))), ref_layer_norm(x, 2), rtol=1e-10, atol=1e-12)
    assert repr(nn.LayerNorm(4)) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True)"


def test_layer_norm_gradients_match_finite_differences(rng):
    x = fg.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    w = fg.tensor(rng.normal(size=4), requires_grad=True)
    b = fg.tensor(rng.normal(size=4), requires_grad=True)
    assert fg.autograd.gradcheck(lambda x, w, b: F.layer_norm(x, (4,), w, b), (x, w, b))


def test_layer_norm_module_trains(rng):
    ln = nn.LayerNorm(4, dtype=fg.float64)
    x = fg.tensor(rng.normal(size=(5, 4)))
    ln(x).sum().backward()
    assert ln.weight.grad is not None and ln.bias.grad is not None
    np.testing.assert_allclose(np_(ln.bias.grad), np.full(4, 5.0))


# ----------------------------------------------------------------------------- RMSNorm


def test_rms_norm_eps_none_is_machine_epsilon(rng):
    x = rng.normal(scale=1e-4, size=(4, 8))  # mean(x^2) ~ 1e-8: eps matters
    for dtype, npdt in ((fg.float32, np.float32), (fg.float64, np.float64)):
        m = nn.RMSNorm(8, dtype=dtype)
        assert m.eps is None
        y = m(fg.tensor(x.astype(npdt)))
        eps = float(np.finfo(npdt).eps)
        ref = ref_rms_norm(x.astype(npdt).astype(np.float64), 1, eps=eps)
        np.testing.assert_allclose(np_(y), ref, rtol=1e-4 if npdt == np.float32 else 1e-10)
        wrong = ref_rms_norm(x, 1, eps=1e-6)
        assert not np.allclose(np_(y), wrong, rtol=1e-2)


def test_rms_norm_explicit_eps_and_weight(rng):
    x = rng.normal(size=(2, 3, 4))
    m = nn.RMSNorm((3, 4), eps=1e-5, dtype=fg.float64)
    with fg.no_grad():
        m.weight[...] = fg.tensor(rng.normal(size=(3, 4)))
    np.testing.assert_allclose(np_(m(fg.tensor(x))), ref_rms_norm(x, 2, np_(m.weight), 1e-5), rtol=1e-10)
    nw = nn.RMSNorm(4, elementwise_affine=False)
    assert nw.weight is None
    assert repr(nn.RMSNorm(4)) == "RMSNorm((4,), eps=None, elementwise_affine=True)"
    xg = fg.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    wg = fg.tensor(rng.normal(size=4), requires_grad=True)
    assert fg.autograd.gradcheck(lambda x, w: F.rms_norm(x, 4, w, 1e-5), (xg, wg))


# ----------------------------------------------------------------------------- GroupNorm


def test_group_norm(rng):
    x = rng.normal(1.0, 2.0, size=(2, 6, 3, 2))
    gn = nn.GroupNorm(3, 6, dtype=fg.float64)
    with fg.no_grad():
        gn.weight[...] = fg.tensor(rng.normal(size=6))
        gn.bias[...] = fg.tensor(rng.normal(size=6))
    y = gn(fg.tensor(x))
    np.testing.assert_allclose(np_(y), ref_group_norm(x, 3, np_(gn.weight), np_(gn.bias)), rtol=1e-10, atol=1e-12)
    assert repr(gn) == "GroupNorm(3, 6, eps=1e-05, affine=True)"


def test_group_norm_divisibility():
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError):
        F.group_norm(fg.randn((2, 6, 3)), 4)
    assert nn.GroupNorm(2, 6, affine=False).weight is None


# ----------------------------------------------------------------------------- BatchNorm


def test_batch_norm_buffers_and_repr():
    bn = nn.BatchNorm1d(3)
    assert [k for k, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    np.testing.assert_array_equal(np_(bn.running_mean), np.zeros(3))
    np.testing.assert_array_equal(np_(bn.running_var), np.ones(3))
    assert bn.num_batches_tracked.dtype == fg.int64 and bn.num_batches_tracked.shape == ()
    assert bn.num_batches_tracked.item() == 0
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert repr(bn) == "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    nb = nn.BatchNorm2d(3, affine=False, track_running_stats=False)
    assert list(nb.state_dict()) == [] and nb.running_mean is None


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)])
def test_batch_norm_1d_training_and_running_stats(rng, shape):
    bn = nn.BatchNorm1d(3, dtype=fg.float64)
    rm, rv = np.zeros(3), np.ones(3)
    for step in range(3):
        x = rng.normal(step, 2.0, size=shape)
        y = bn(fg.tensor(x))
        ax = bn_axes(x)
        mean, var = x.mean(axis=ax), x.var(axis=ax)
        np.testing.assert_allclose(np_(y), ref_batch_norm(x, mean, var, np.ones(3), np.zeros(3)), rtol=1e-9, atol=1e-12)
        n = x.size // 3
        rm = 0.9 * rm + 0.1 * mean
        rv = 0.9 * rv + 0.1 * var * n / (n - 1)  # unbiased
        np.testing.assert_allclose(np_(bn.running_mean), rm, rtol=1e-10)
        np.testing.assert_allclose(np_(bn.running_var), rv, rtol=1e-10)
        assert bn.num_batches_tracked.item() == step + 1
    # eval: running stats, and nothing changes.
    bn.eval()
    x = rng.normal(size=shape)
    y = bn(fg.tensor(x))
    np.testing.assert_allclose(np_(y), ref_batch_norm(x, rm, rv, np.ones(3), np.zeros(3)), rtol=1e-9, atol=1e-12)
    assert bn.num_batches_tracked.item() == 3
    np.testing.assert_allclose(np_(bn.running_mean), rm, rtol=1e-10)


def test_batch_norm_2d_with_affine(rng):
    bn = nn.BatchNorm2d(4, momentum=0.3, dtype=fg.float64)
    with fg.no_grad():
        bn.weight[...] = fg.tensor(rng.normal(size=4))
        bn.bias[...] = fg.tensor(rng.normal(size=4))
    x = rng.normal(size=(2, 4, 3, 3))
    y = bn(fg.tensor(x))
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    ref = ref_batch_norm(x, mean, var, np_(bn.weight), np_(bn.bias))
    np.testing.assert_allclose(np_(y), ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np_(bn.running_mean), 0.3 * mean, rtol=1e-10)
    np.testing.assert_allclose(np_(bn.running_var), 0.7 + 0.3 * var * 18 / 17, rtol=1e-10)


def test_batch_norm_momentum_none_is_cumulative_average(rng):
    bn = nn.BatchNorm1d(2, momentum=None, dtype=fg.float64)
    means, variances = [], []
    for _ in range(4):
        x = rng.normal(rng.normal(), 1.0 + rng.random(), size=(6, 2))
        bn(fg.tensor(x))
        means.append(x.mean(0))
        variances.append(x.var(0, ddof=1))
    np.testing.assert_allclose(np_(bn.running_mean), np.mean(means, axis=0), rtol=1e-10)
    np.testing.assert_allclose(np_(bn.running_var), np.mean(variances, axis=0), rtol=1e-10)
    assert bn.num_batches_tracked.item() == 4


def test_batch_norm_without_running_stats_uses_batch_stats_in_eval(rng):
    bn = nn.BatchNorm1d(3, track_running_stats=False, dtype=fg.float64)
    assert list(bn.buffers()) == []
    x = rng.normal(3.0, 2.0, size=(5, 3))
    ref = ref_batch_norm(x, x.mean(0), x.var(0), np.ones(3), np.zeros(3))
    np.testing.assert_allclose(np_(bn(fg.tensor(x))), ref, rtol=1e-9, atol=1e-12)
    bn.eval()
    np.testing.assert_allclose(np_(bn(fg.tensor(x))), ref, rtol=1e-9, atol=1e-12)


def test_batch_norm_input_dim_checks():
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(fg.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 1D input\)"):
        nn.BatchNorm1d(3)(fg.zeros((3,)))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(3)(fg.zeros((2, 3, 4)))


def test_batch_norm_one_value_per_channel():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        bn(fg.ones((1, 3)))
    bn.eval()
    assert bn(fg.ones((1, 3))).shape == (1, 3)


def test_batch_norm_state_dict_round_trip_and_to_float64(rng):
    a = nn.BatchNorm1d(3)
    a(fg.tensor(rng.normal(size=(4, 3)).astype(np.float32)))
    b = nn.BatchNorm1d(3)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(np_(b.running_mean), np_(a.running_mean))
    assert b.num_batches_tracked.item() == 1
    b.to(fg.float64)
    assert b.running_var.dtype == fg.float64 and b.num_batches_tracked.dtype == fg.int64
    b(fg.tensor(rng.normal(size=(4, 3))))
    assert b.num_batches_tracked.item() == 2


# ----------------------------------------------------------------------------- Dropout


def test_dropout_training_statistics_and_scaling():
    fg.manual_seed(0)
    d = nn.Dropout(0.25)
    x = fg.ones((200, 200))
    y = np_(d(x))
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 5 * np.sqrt(0.25 * 0.75 / y.size)
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)


def test_dropout_reproducible_gradient_and_edges():
    x = fg.randn((50, 40), dtype=fg.float64, requires_grad=True)
    fg.manual_seed(3)
    y1 = F.dropout(x, 0.5)
    fg.manual_seed(3)
    y2 = F.dropout(x, 0.5)
    np.testing.assert_array_equal(np_(y1), np_(y2))
    y1.sum().backward()
    mask = np_(y1) != 0
    np.testing.assert_allclose(np_(x.grad), mask * 2.0)
    np.testing.assert_array_equal(np_(F.dropout(x, 0.0)), np_(x))
    np.testing.assert_array_equal(np_(F.dropout(x, 1.0)), np.zeros((50, 40)))
    np.testing.assert_array_equal(np_(F.dropout(x, 0.5, training=False)), np_(x))
    d = nn.Dropout(0.9).eval()
    np.testing.assert_array_equal(np_(d(x)), np_(x))
