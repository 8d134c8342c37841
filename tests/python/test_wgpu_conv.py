"""Convolution, pooling, padding and resizing on wgpu against the CPU: F.conv2d,
conv_transpose2d, max_pool2d, avg_pool2d, adaptive_avg_pool2d, interpolate and pad
(values and every gradient), nn.Conv2d, no host transfers inside a step, and one
training step of the small CNN.

Skipped as a whole, with the adapter's error as the reason, where ``fg.device("wgpu")``
raises RuntimeError (no adapter, or a build without wgpu)."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import _core as C
from ferrograd import models

pytestmark = pytest.mark.usefixtures("wgpu_device")

GPU = "wgpu"
F = fg.nn.functional


def _np(t):
    return np.array(t.to("cpu").numpy(), copy=True)


def _close(a, b, what, rtol=2e-4, atol=2e-5):
    scale = max(1.0, float(np.abs(b).max(initial=0.0)))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * scale, err_msg=what)


def _run(fn, arrays, dev, seed=9):
    """fn(*tensors) on `dev` and the gradients of every input, as NumPy arrays, for the
    upstream gradient of fixed random values."""
    ts = []
    for a in arrays:
        t = fg.tensor(a).to(dev)
        t.requires_grad = True
        ts.append(t)
    y = fn(*ts)
    g = np.random.default_rng(seed).standard_normal(y.shape).astype(np.float32)
    (y * fg.tensor(g).to(dev)).sum().backward()
    return [_np(y)] + [_np(t.grad) for t in ts]


def _parity(fn, shapes, what, seed=1):
    r = np.random.default_rng(seed)
    arrays = [r.standard_normal(s).astype(np.float32) for s in shapes]
    got, want = _run(fn, arrays, GPU), _run(fn, arrays, "cpu")
    names = ["output"] + [f"grad of input {i}" for i in range(len(shapes))]
    for a, b, name in zip(got, want, names):
        assert a.shape == b.shape, (what, name)
        _close(a, b, f"{what}: {name}")


CONV_CASES = [
    # (id, x shape, w shape, keyword arguments)
    ("plain", (2, 3, 9, 10), (4, 3, 3, 3), {}),
    ("stride_pad", (2, 3, 9, 10), (5, 3, 3, 3), dict(stride=2, padding=1)),
    ("dilation_asym", (1, 4, 11, 8), (3, 4, 3, 2), dict(stride=(2, 1), padding=(2, 0),
                                                        dilation=(2, 3))),
    ("groups", (2, 6, 7, 7), (9, 2, 3, 3), dict(padding=1, groups=3)),
    ("depthwise", (2, 5, 8, 8), (5, 1, 3, 3), dict(padding=1, groups=5)),
    ("pointwise", (3, 7, 5, 6), (4, 7, 1, 1), {}),
    ("same", (2, 3, 8, 7), (4, 3, 4, 3), dict(padding="same")),
    ("wide", (2, 8, 10, 10), (70, 8, 3, 3), dict(padding=1)),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: c[0])
def test_conv2d_matches_cpu(case):
    _, xs, ws, kw = case
    _parity(lambda x, w, b: F.conv2d(x, w, b, **kw), [xs, ws, (ws[0],)], f"conv2d {kw}")


@pytest.mark.parametrize("kw,ws", [
    (dict(stride=2, padding=1, output_padding=1), (4, 3, 3, 3)),
    (dict(stride=2, groups=2, dilation=2), (4, 2, 3, 3)),
    (dict(), (4, 5, 2, 2)),
    # output_padding past the stride (allowed below the dilation): outputs no input
    # pixel reaches.
    (dict(stride=1, dilation=2, output_padding=1), (4, 3, 3, 3)),
], ids=["stride_outpad", "groups_dilation", "plain", "outpad_past_stride"])
def test_conv_transpose2d_matches_cpu(kw, ws):
    out_channels = ws[1] * kw.get("groups", 1)
    _parity(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw),
            [(2, 4, 5, 6), ws, (out_channels,)], f"conv_transpose2d {kw}")


@pytest.mark.parametrize("kw", [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=2, stride=1, dilation=2),
    dict(kernel_size=3, stride=1),
], ids=["k2", "k3s2p1", "ceil", "dilation", "overlap"])
def test_max_pool2d_matches_cpu(kw):
    _parity(lambda x: F.max_pool2d(x, **kw), [(2, 3, 9, 8)], f"max_pool2d {kw}")
    x = np.random.default_rng(3).standard_normal((2, 3, 9, 8)).astype(np.float32)
    _, gi = F.max_pool2d(fg.tensor(x).to(GPU), return_indices=True, **kw)
    _, ci = F.max_pool2d(fg.tensor(x), return_indices=True, **kw)
    assert gi.dtype == ci.dtype
    np.testing.assert_array_equal(_np(gi), _np(ci))


def test_max_pool2d_window_in_the_padding_matches_cpu():
    # dilation 2 skips the only column: every window lies in the padding (-inf, -1)
    kw = dict(kernel_size=(3, 2), stride=(2, 3), padding=(0, 1), dilation=(1, 2))
    x = np.random.default_rng(4).standard_normal((2, 3, 7, 1)).astype(np.float32)
    gv, gi = F.max_pool2d(fg.tensor(x).to(GPU), return_indices=True, **kw)
    assert np.all(np.isneginf(_np(gv))) and np.all(_np(gi) == -1)
    xt = fg.tensor(x).to(GPU)
    xt.requires_grad = True
    F.max_pool2d(xt, **kw).sum().backward()
    assert np.all(_np(xt.grad) == 0)
    # ceil_mode over rows shorter than the kernel
    _parity(lambda t: F.max_pool2d(t, 2, 3, ceil_mode=True), [(1, 2, 1, 5)], "ceil short")


def test_max_pool2d_special_values_match_cpu():
    nan, inf = np.nan, np.inf
    x = np.array([[1, nan, 2, nan], [-inf, -inf, 5, 5], [-inf, -inf, inf, 3],
                  [7, 7, 7, 7]], np.float32).reshape(1, 1, 4, 4)
    for kw in (dict(kernel_size=2), dict(kernel_size=2, stride=1, padding=1, ceil_mode=True)):
        gv, gi = F.max_pool2d(fg.tensor(x).to(GPU), return_indices=True, **kw)
        cv, ci = F.max_pool2d(fg.tensor(x), return_indices=True, **kw)
        np.testing.assert_array_equal(_np(gv), _np(cv))
        np.testing.assert_array_equal(_np(gi), _np(ci))


@pytest.mark.parametrize("fn,shape", [
    (lambda x: F.avg_pool2d(x, 3, 2, 1), (2, 3, 9, 8)),
    (lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
     (2, 3, 9, 8)),
    (lambda x: F.adaptive_avg_pool2d(x, (3, 2)), (2, 3, 9, 8)),
    (lambda x: F.adaptive_avg_pool2d(x, 1), (2, 3, 9, 8)),
    (lambda x: F.interpolate(x, scale_factor=2), (2, 3, 4, 5)),
    (lambda x: F.interpolate(x, size=(7, 3)), (2, 3, 4, 5)),
    (lambda x: F.pad(x, (1, 2, 0, 3), value=0.5), (2, 3, 4, 5)),
    (lambda x: F.pad(x, (2, 1, 3, 1), mode="reflect"), (2, 3, 4, 5)),
], ids=["avg", "avg_ceil_nopad", "adaptive", "adaptive_1", "nearest_x2", "nearest_size",
        "pad_constant", "pad_reflect"])
def test_composed_ops_match_cpu(fn, shape):
    _parity(fn, [shape], "composed op")


def test_conv2d_layer_matches_cpu():
    cpu = fg.nn.Conv2d(3, 6, 3, stride=2, padding=1, groups=3)
    gpu = fg.nn.Conv2d(3, 6, 3, stride=2, padding=1, groups=3)
    gpu.load_state_dict(cpu.state_dict())
    gpu.to(GPU)
    x = np.random.default_rng(4).standard_normal((2, 3, 7, 7)).astype(np.float32)
    outs = []
    for m, dev in ((gpu, GPU), (cpu, "cpu")):
        y = m(fg.tensor(x).to(dev))
        (y * y).sum().backward()
        outs.append([_np(y), _np(m.weight.grad), _np(m.bias.grad)])
    for a, b, name in zip(*outs, ["output", "weight grad", "bias grad"]):
        _close(a, b, f"nn.Conv2d {name}")


def _transfers():
    s = C._wgpu_stats()
    return {k: s[k] for k in ("uploads", "readbacks")}


def test_conv_and_pool_step_without_host_transfers():
    m = fg.nn.Sequential(fg.nn.Conv2d(2, 4, 3, padding=1), fg.nn.MaxPool2d(2),
                         fg.nn.Conv2d(4, 4, 3, groups=2))
    m.to(GPU)
    x = fg.tensor(np.ones((2, 2, 8, 8), np.float32)).to(GPU)
    x.requires_grad = True
    m(x).sum().backward()  # warm-up: pipelines compiled outside the count
    before = _transfers()
    m(x).sum().backward()
    assert _transfers() == before
    assert all(p.grad.device.type == GPU for p in m.parameters())


def test_weight_gradient_is_bitwise_repeatable():
    r = np.random.default_rng(5)
    x = fg.tensor(r.standard_normal((40, 4, 6, 6)).astype(np.float32)).to(GPU)
    w = fg.tensor(r.standard_normal((8, 4, 3, 3)).astype(np.float32)).to(GPU)
    grads = []
    for _ in range(3):
        w.grad = None
        w.requires_grad = True
        F.conv2d(x, w, padding=1).sum().backward()
        grads.append(_np(w.grad))
    assert np.array_equal(grads[0], grads[1]) and np.array_equal(grads[0], grads[2])


def test_cnn_training_step_matches_cpu():
    cpu = models.build_cnn(norm="batch")
    gpu = models.build_cnn(norm="batch")
    gpu.load_state_dict(cpu.state_dict())
    gpu.to(GPU)
    r = np.random.default_rng(6)
    x = r.standard_normal((8, 1, 28, 28)).astype(np.float32)
    y = r.integers(0, 10, 8)
    losses, params = [], []
    for m, dev in ((gpu, GPU), (cpu, "cpu")):
        opt = fg.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        loss = F.cross_entropy(m(fg.tensor(x).to(dev)), fg.tensor(y).to(dev))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(_np(loss)))
        params.append({k: _np(v) for k, v in m.state_dict().items()})
    assert abs(losses[0] - losses[1]) <= 1e-4 * max(1.0, abs(losses[1]))
    assert params[0].keys() == params[1].keys()
    for k in params[1]:
        _close(params[0][k], params[1][k], f"cnn step: {k}", rtol=1e-3, atol=1e-4)


def test_launches_past_the_grid_limit_spill_into_a_second_dimension():
    # With at most 8 workgroups per grid dimension, every conv and pool launch below
    # needs several rows of them: 10 (5 samples, or 5 weight gradient parts, x 2 groups
    # of one tile) for the convolutions, 32 for the pooling (8000 outputs or inputs).
    C._wgpu_set_grid_limit(8)
    try:
        _parity(lambda x, w: F.conv2d(x, w, padding=1, groups=2), [(5, 4, 9, 9), (4, 2, 3, 3)],
                "conv2d on a small grid")
        _parity(lambda x: F.max_pool2d(x, 3, 1, 1), [(5, 4, 20, 20)], "max_pool2d on a small grid")
    finally:
        C._wgpu_set_grid_limit(0)


@pytest.mark.parametrize("pool", [False, True], ids=["conv", "conv_pool"])
def test_double_backward_matches_cpu(pool):
    # d/dw of |dL/dx|^2 (dL/dx is linear in x, so x gets no gradient): runs the conv
    # kernels as gradients of each other, and max pooling's backward-of-backward (a
    # gather at the saved positions).
    r = np.random.default_rng(8)
    x = r.standard_normal((2, 4, 8, 8)).astype(np.float32)
    w = r.standard_normal((6, 2, 3, 3)).astype(np.float32)
    res = {}
    for dev in ("cpu", GPU):
        xt, wt = fg.tensor(x).to(dev), fg.tensor(w).to(dev)
        xt.requires_grad = True
        wt.requires_grad = True
        y = F.conv2d(xt, wt, stride=1, padding=1, groups=2)
        if pool:
            y = F.max_pool2d(y, 2)
        g = fg.tensor(np.random.default_rng(9).standard_normal(y.shape).astype(np.float32))
        (gx,) = fg.autograd.grad([(y * g.to(dev)).sum()], [xt], create_graph=True)
        assert gx.device.type == dev
        (gx * gx).sum().backward()
        assert xt.grad is None
        res[dev] = [_np(gx), _np(wt.grad)]
    for k, (a, c) in enumerate(zip(res[GPU], res["cpu"])):
        _close(a, c, f"double backward {k}", rtol=1e-3, atol=1e-4)
