"""Convolution, pooling, padding and resizing on the CPU: values against NumPy float64
references written from the definitions (conv_refs.py), gradients against finite
differences (gradcheck, gradgradcheck), determinism, the nn layers, and bad input."""

import numpy as np
import pytest

import conv_refs as R
import ferrograd as fg
import ferrograd.nn.functional as F
from conftest import raises_cleanly
from ferrograd import nn

ag = fg.autograd


def pair(v):
    return v if isinstance(v, tuple) else (v, v)


# (N, C, H, W, O, kernel, stride, padding, dilation, groups)
CONV_CASES = [
    (2, 3, 7, 6, 4, 3, 1, 1, 1, 1),
    (2, 4, 9, 8, 6, (3, 2), (2, 1), (1, 0), (1, 2), 2),
    (3, 4, 5, 5, 4, 3, 1, 1, 1, 4),          # depthwise
    (3, 4, 6, 5, 8, 3, 2, 1, 1, 4),          # depthwise, channel multiplier 2
    (2, 3, 5, 5, 5, 1, 1, 0, 1, 1),          # 1x1: no unfolding
    (2, 3, 5, 7, 5, 1, 2, 0, 1, 1),          # 1x1 strided: unfolded
    (1, 2, 6, 6, 3, 2, 2, 0, 1, 1),          # batch 1: threads inside the GEMM
    (5, 1, 11, 13, 2, 5, 3, 2, 2, 1),        # odd sizes, dilation 2
    (4, 6, 4, 4, 6, 4, 1, 3, 1, 3),          # padding larger than half the kernel
    # stride 1 with rows as wide as the input's: the flat im2col/col2im path
    (2, 3, 7, 9, 4, 3, 1, 2, 2, 1),          # dilated
    (2, 2, 6, 5, 3, (5, 3), 1, (2, 1), 1, 1),
    (2, 2, 6, 5, 3, (2, 3), 1, (0, 1), 1, 1),  # one row fewer than the input
    (1, 2, 3, 3, 2, 3, 1, (1, 4), (1, 4), 1),  # columns that fall entirely in the padding
    # fewer than 256 outputs per sample: samples share a patch matrix (6 of 49 here),
    # the last block holds the one sample left
    (7, 4, 7, 7, 6, 3, 1, 1, 1, 2),
    # size-keeping stride 1: the input gradient as a flipped-kernel convolution below 32
    # output channels per group (the cases above), col2im at 32 and more (this one)
    (2, 3, 6, 6, 34, 3, 1, 1, 1, 1),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_reference_float64(case):
    n, c, h, w, o, k, s, p, d, g = case
    rng = np.random.default_rng(sum(map(hash, map(str, case))) % 2**32)
    x = rng.standard_normal((n, c, h, w))
    wt = rng.standard_normal((o, c // g) + pair(k))
    got = F.conv2d(fg.tensor(x), fg.tensor(wt), None, s, p, d, g).numpy()
    want = R.conv2d(x, wt, pair(s), pair(p), pair(d), g)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES[:4])
def test_conv2d_float32_and_bias(case):
    n, c, h, w, o, k, s, p, d, g = case
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((o, c // g) + pair(k)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    got = F.conv2d(fg.tensor(x), fg.tensor(wt), fg.tensor(b), s, p, d, g)
    assert got.dtype == fg.float32
    want = R.conv2d(x, wt, pair(s), pair(p), pair(d), g) + b.reshape(1, -1, 1, 1)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-4)


def test_conv2d_non_contiguous_inputs():
    rng = np.random.default_rng(2)
    base = rng.standard_normal((3, 2, 9, 8))
    wbase = rng.standard_normal((3, 3, 3, 4))
    x = fg.tensor(base).permute(1, 0, 3, 2)[:, :, ::2, :]     # (2, 3, 4, 9), strided
    wt = fg.tensor(wbase).permute(3, 0, 1, 2)                   # (4, 3, 3, 3)
    assert not x.is_contiguous() and not wt.is_contiguous()
    want = R.conv2d(x.numpy(), wt.numpy(), (1, 1), (1, 1))
    np.testing.assert_allclose(F.conv2d(x, wt, padding=1).numpy(), want, rtol=1e-12, atol=1e-12)


def test_conv2d_padding_same_and_valid():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 6, 7))
    for k, d in [((3, 3), 1), ((4, 2), 1), ((3, 2), 2)]:
        wt = rng.standard_normal((3, 2) + k)
        got = F.conv2d(fg.tensor(x), fg.tensor(wt), padding="same", dilation=d).numpy()
        assert got.shape[2:] == x.shape[2:]
        # PyTorch puts an odd total's extra row/column at the bottom/right.
        tot = [d * (kk - 1) for kk in k]
        xp = np.pad(x, ((0, 0), (0, 0), (tot[0] // 2, tot[0] - tot[0] // 2),
                        (tot[1] // 2, tot[1] - tot[1] // 2)))
        np.testing.assert_allclose(got, R.conv2d(xp, wt, dilation=(d, d)), atol=1e-12)
    wt = rng.standard_normal((3, 2, 3, 3))
    assert F.conv2d(fg.tensor(x), fg.tensor(wt), padding="valid").shape == (2, 3, 4, 5)


def test_conv2d_unbatched_input():
    rng = np.random.default_rng(4)
    x, wt = rng.standard_normal((2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    got = F.conv2d(fg.tensor(x), fg.tensor(wt), padding=1)
    assert got.shape == (3, 5, 5)
    np.testing.assert_allclose(got.numpy(), R.conv2d(x[None], wt, padding=(1, 1))[0], atol=1e-12)


# (N, C_in, H, W, C_out, kernel, stride, padding, output_padding, groups, dilation)
TRANSPOSE_CASES = [
    (2, 3, 4, 5, 2, 3, 1, 0, 0, 1, 1),
    (2, 4, 5, 4, 6, 3, 2, 1, 1, 2, 1),
    (1, 2, 3, 3, 3, (2, 3), (2, 3), (0, 1), (1, 2), 1, 1),
    (2, 2, 4, 4, 2, 3, 1, 1, 1, 1, 2),     # output_padding allowed below the dilation
    (3, 4, 3, 3, 4, 3, 2, 0, 0, 4, 1),     # depthwise transpose
    (2, 3, 5, 6, 4, 3, 1, 1, 0, 1, 1),     # stride 1, same size: the flat col2im path
]


@pytest.mark.parametrize("case", TRANSPOSE_CASES)
def test_conv_transpose2d_matches_reference(case):
    n, c, h, w, co, k, s, p, op, g, d = case
    rng = np.random.default_rng(5)
    x = rng.standard_normal((n, c, h, w))
    wt = rng.standard_normal((c, co // g) + pair(k))
    got = F.conv_transpose2d(fg.tensor(x), fg.tensor(wt), None, s, p, op, g, d).numpy()
    want = R.conv_transpose2d(x, wt, pair(s), pair(p), pair(op), g, pair(d))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [CONV_CASES[i] for i in (0, 1, 3, 5, 9, 11, 12)])
def test_conv2d_gradcheck(case):
    n, c, h, w, o, k, s, p, d, g = case
    rng = np.random.default_rng(6)
    n = min(n, 2)
    x = fg.tensor(rng.standard_normal((n, c, h, w)), requires_grad=True)
    wt = fg.tensor(rng.standard_normal((o, c // g) + pair(k)), requires_grad=True)
    b = fg.tensor(rng.standard_normal(o), requires_grad=True)
    assert ag.gradcheck(lambda a, ww, bb: F.conv2d(a, ww, bb, s, p, d, g), (x, wt, b))


def test_conv2d_and_transpose_gradgradcheck():
    rng = np.random.default_rng(7)
    x = fg.tensor(rng.standard_normal((2, 4, 5, 5)), requires_grad=True)
    wt = fg.tensor(rng.standard_normal((4, 2, 3, 3)), requires_grad=True)
    assert ag.gradgradcheck(lambda a, ww: F.conv2d(a, ww, None, 2, 1, 1, 2), (x, wt))
    wt2 = fg.tensor(rng.standard_normal((4, 3, 2, 2)), requires_grad=True)
    assert ag.gradgradcheck(lambda a, ww: F.conv_transpose2d(a, ww, stride=2, output_padding=1),
                            (x, wt2))


@pytest.mark.parametrize("case", TRANSPOSE_CASES[1:4])
def test_conv_transpose2d_gradcheck(case):
    n, c, h, w, co, k, s, p, op, g, d = case
    rng = np.random.default_rng(8)
    x = fg.tensor(rng.standard_normal((n, c, h, w)), requires_grad=True)
    wt = fg.tensor(rng.standard_normal((c, co // g) + pair(k)), requires_grad=True)
    assert ag.gradcheck(lambda a, ww: F.conv_transpose2d(a, ww, None, s, p, op, g, d), (x, wt))


@pytest.mark.parametrize("xs", [(37, 8, 12, 12), (29, 8, 7, 7)], ids=["12x12", "7x7"])
def test_weight_gradient_is_the_same_on_any_thread_count(xs):
    # 12x12: two samples per patch matrix; 7x7: six (blocks of samples, see cpu.rs)
    rng = np.random.default_rng(9)
    x = rng.standard_normal(xs).astype(np.float32)
    wt = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    grads = []
    before = fg.get_num_threads()
    try:
        for threads in (1, 2, 3):
            fg.set_num_threads(threads)
            w = fg.tensor(wt, requires_grad=True)
            xx = fg.tensor(x, requires_grad=True)
            (F.conv2d(xx, w, padding=1) ** 2).sum().backward()
            grads.append((w.grad.numpy().copy(), xx.grad.numpy().copy()))
    finally:
        fg.set_num_threads(before)
    for gw, gx in grads[1:]:
        assert np.array_equal(gw, grads[0][0]) and np.array_equal(gx, grads[0][1])


# ---------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------

POOL_CASES = [  # (shape, kernel, stride, padding, dilation, ceil_mode)
    ((2, 3, 7, 7), 3, 2, 1, 1, False),
    ((2, 3, 8, 8), 2, 2, 0, 1, False),
    ((1, 2, 5, 5), 2, 2, 0, 1, True),
    ((1, 2, 5, 6), 2, 2, 1, 1, True),
    ((2, 1, 9, 7), (3, 2), (2, 1), (1, 1), (2, 1), False),
    ((1, 1, 6, 6), 3, 1, 1, 1, True),
    # ceil_mode: one window over rows shorter than the kernel, as in PyTorch
    ((1, 2, 1, 5), 2, 3, 0, 1, True),
    # dilation skips the only column: windows entirely in the padding
    ((1, 1, 7, 1), (3, 2), (2, 3), (0, 1), (1, 2), False),
]


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool2d_values_and_indices(case):
    shape, k, s, p, d, ceil = case
    x = np.random.default_rng(10).permutation(int(np.prod(shape))).reshape(shape).astype(np.float64)
    v, i = F.max_pool2d(fg.tensor(x), k, s, p, d, ceil, return_indices=True)
    rv, ri = R.max_pool2d(x, pair(k), pair(s), pair(p), pair(d), ceil)
    assert v.shape == rv.shape and i.dtype == fg.int64
    np.testing.assert_array_equal(v.numpy(), rv)
    np.testing.assert_array_equal(i.numpy(), ri)


def test_max_pool2d_ties_nan_and_inf_follow_pytorch():
    x = np.array([[[[1.0, 1.0, -np.inf, -np.inf],
                    [1.0, 0.0, -np.inf, -np.inf],
                    [np.nan, 2.0, 5.0, np.nan],
                    [3.0, np.nan, 5.0, 1.0]]]])
    v, i = F.max_pool2d(fg.tensor(x), 2, return_indices=True)
    rv, ri = R.max_pool2d(x, (2, 2), (2, 2))
    np.testing.assert_array_equal(v.numpy(), rv)
    np.testing.assert_array_equal(i.numpy(), ri)
    # first of equal maxima; all -inf keeps the first cell; the last NaN wins
    assert i.numpy().ravel().tolist() == [0, 2, 13, 11]


def test_max_pool2d_gradients():
    rng = np.random.default_rng(11)
    x = fg.tensor(rng.permutation(2 * 2 * 7 * 6).reshape(2, 2, 7, 6) / 10.0, requires_grad=True)
    assert ag.gradcheck(lambda a: F.max_pool2d(a, 3, 2, 1, ceil_mode=True), (x,))
    # The backward is linear in the upstream gradient; its own gradient (a gather at the
    # saved positions) is checked through the upstream gradient.
    v = fg.tensor(rng.standard_normal((2, 2, 6, 5)), requires_grad=True)

    def grad_of_pool(vv):
        (gx,) = ag.grad(F.max_pool2d(x, 2, 1), x, grad_outputs=vv, create_graph=True)
        return gx
    assert ag.gradcheck(grad_of_pool, (v,))
    # overlapping windows add up where one cell is the maximum of several
    y = fg.tensor(np.array([[[[0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]]]), requires_grad=True)
    F.max_pool2d(y, 2, 1).sum().backward()
    assert y.grad.numpy().ravel().tolist() == [0, 2, 0, 0, 0, 0]


def test_max_pool2d_window_in_the_padding_is_minus_inf_with_no_gradient():
    # PyTorch also returns -inf there, with a position outside the window (its backward
    # then adds the gradient to an unrelated cell); ferrograd returns -1 and routes
    # nothing, since the output does not depend on the input.
    rng = np.random.default_rng(12)
    x = fg.tensor(rng.standard_normal((1, 2, 7, 1)), requires_grad=True)
    y, idx = F.max_pool2d(x, (3, 2), (2, 3), (0, 1), (1, 2), return_indices=True)
    assert np.all(np.isneginf(y.numpy())) and np.all(idx.numpy() == -1)
    F.max_pool2d(x, (3, 2), (2, 3), (0, 1), (1, 2)).sum().backward()
    assert np.all(x.grad.numpy() == 0)
    # the backward's own gradient (a gather at the positions) gathers zero at -1
    v = fg.tensor(rng.standard_normal(y.shape), requires_grad=True)

    def grad_of_pool(vv):
        out = F.max_pool2d(x, (3, 2), (2, 3), (0, 1), (1, 2))
        (gx,) = ag.grad(out, x, grad_outputs=vv, create_graph=True)
        return gx
    assert ag.gradcheck(grad_of_pool, (v,))


def test_max_pool2d_indices_changed_in_place_are_caught():
    x = fg.tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    idx[...] = 10**6
    e = raises_cleanly(y.sum().backward, exc=(RuntimeError,))
    assert "modified by an inplace operation" in str(e)


AVG_CASES = [  # (shape, kernel, stride, padding, ceil, count_include_pad, divisor)
    ((2, 3, 7, 7), 3, 2, 1, False, True, None),
    ((2, 3, 7, 7), 3, 2, 1, False, False, None),
    ((1, 2, 5, 6), 2, 2, 1, True, True, None),
    ((1, 2, 5, 6), 2, 2, 1, True, False, None),
    ((1, 1, 5, 5), (3, 2), (2, 1), (1, 0), True, True, None),
    ((2, 2, 6, 6), 2, 2, 0, False, True, 3),
]


@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool2d_matches_pytorch_divisors(case):
    shape, k, s, p, ceil, cip, div = case
    x = np.random.default_rng(12).standard_normal(shape)
    got = F.avg_pool2d(fg.tensor(x), k, s, p, ceil, cip, div).numpy()
    want = R.avg_pool2d(x, pair(k), pair(s), pair(p), ceil, cip, div)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    xt = fg.tensor(x[:1, :1], requires_grad=True)
    assert ag.gradcheck(lambda a: F.avg_pool2d(a, k, s, p, ceil, cip, div), (xt,))


@pytest.mark.parametrize("size,out", [((6, 6), (1, 1)), ((6, 8), (3, 4)), ((5, 7), (3, 4)),
                                       ((7, 5), (4, None)), ((4, 4), 6)])
def test_adaptive_avg_pool2d(size, out):
    x = np.random.default_rng(13).standard_normal((2, 3) + size)
    got = F.adaptive_avg_pool2d(fg.tensor(x), out).numpy()
    o = out if isinstance(out, tuple) else (out, out)
    o = tuple(size[i] if o[i] is None else o[i] for i in range(2))
    np.testing.assert_allclose(got, R.adaptive_avg_pool2d(x, *o), rtol=1e-12, atol=1e-12)
    xt = fg.tensor(x[:1, :2], requires_grad=True)
    assert ag.gradcheck(lambda a: F.adaptive_avg_pool2d(a, out), (xt,))


# ---------------------------------------------------------------------------
# pad and interpolate
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("mode,np_mode", [("reflect", "reflect"), ("replicate", "edge"),
                                          ("circular", "wrap"), ("constant", "constant")])
def test_pad_modes_match_numpy(mode, np_mode):
    x = np.random.default_rng(14).standard_normal((2, 3, 5, 6))
    got = F.pad(fg.tensor(x), (2, 1, 3, 4), mode=mode).numpy()
    want = np.pad(x, ((0, 0), (0, 0), (3, 4), (2, 1)), mode=np_mode)
    np.testing.assert_array_equal(got, want)
    xt = fg.tensor(x[:1, :1], requires_grad=True)
    assert ag.gradcheck(lambda a: F.pad(a, (2, 1, 3, 4), mode=mode), (xt,))


def test_pad_constant_value_and_cropping():
    x = np.arange(24.0).reshape(2, 3, 4)
    got = F.pad(fg.tensor(x), (1, -2, -1, 0), value=7.5).numpy()
    want = np.pad(x[:, 1:, :2], ((0, 0), (0, 0), (1, 0)), constant_values=7.5)
    np.testing.assert_array_equal(got, want)
    assert F.pad(fg.tensor(x), (0, 0, 0, 0, 1, 1)).shape == (4, 3, 4)


@pytest.mark.parametrize("kw,expect", [
    (dict(size=(6, 3)), ([0, 0, 1, 1, 2, 2], [0, 1, 3])),
    (dict(scale_factor=2), ([0, 0, 1, 1, 2, 2], [0, 0, 1, 1, 2, 2, 3, 3, 4, 4])),
    (dict(size=(2, 4), mode="nearest-exact"), ([0, 2], [0, 1, 2, 3])),
])
def test_interpolate_nearest(kw, expect):
    x = np.random.default_rng(15).standard_normal((1, 2, 3, 5))
    if "size" in kw and kw["size"] == (2, 4):
        x = np.random.default_rng(15).standard_normal((1, 2, 3, 4))
    got = F.interpolate(fg.tensor(x), **kw).numpy()
    rows, cols = expect
    np.testing.assert_array_equal(got, x[:, :, rows][:, :, :, cols])
    xt = fg.tensor(x, requires_grad=True)
    assert ag.gradcheck(lambda a: F.interpolate(a, **kw), (xt,))


# ---------------------------------------------------------------------------
# layers
# ---------------------------------------------------------------------------

def test_conv2d_layer_parameters_and_init():
    fg.manual_seed(0)
    m = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=True)
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    assert m.weight.shape == (16, 8, 3, 3) and m.bias.shape == (16,)
    bound = 1 / np.sqrt(8 * 9)  # kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), ...)
    w = m.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(m.bias.numpy()).max() <= bound
    x = fg.randn((2, 8, 9, 9))
    assert m(x).shape == (2, 16, 5, 5)
    t = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1, groups=2)
    assert t.weight.shape == (16, 4, 3, 3)
    assert t(m(x)).shape == (2, 8, 10, 10)
    assert t(m(x), output_size=(9, 9)).shape == (2, 8, 9, 9)


def test_conv2d_padding_modes():
    x = np.random.default_rng(16).standard_normal((1, 2, 5, 5)).astype(np.float32)
    m = nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect", bias=False)
    want = R.conv2d(np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect"), m.weight.numpy())
    np.testing.assert_allclose(m(fg.tensor(x)).numpy(), want, rtol=1e-5, atol=1e-5)


def test_state_dict_round_trip_with_pytorch_names():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    keys = list(model.state_dict().keys())
    assert keys == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                    "1.running_var", "1.num_batches_tracked", "6.weight", "6.bias"]
    other = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    other.load_state_dict({k: fg.tensor(v.numpy()) for k, v in model.state_dict().items()})
    x = fg.randn((2, 1, 8, 8))
    model.eval(), other.eval()
    np.testing.assert_array_equal(model(x).numpy(), other(x).numpy())


def test_unflatten_and_pool_layers():
    x = fg.randn((2, 12))
    assert nn.Unflatten(1, (3, 2, 2))(x).shape == (2, 3, 2, 2)
    assert nn.Unflatten(-1, (4, 3))(x).shape == (2, 4, 3)
    img = fg.randn((2, 3, 8, 8))
    assert nn.MaxPool2d(2)(img).shape == (2, 3, 4, 4)
    assert nn.AvgPool2d(3, 1, 1)(img).shape == (2, 3, 8, 8)
    assert nn.AdaptiveAvgPool2d((2, 3))(img).shape == (2, 3, 2, 3)


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------

def _x(*shape):
    return fg.zeros(shape)


@pytest.mark.parametrize("call,needle", [
    (lambda: F.conv2d(_x(2, 3, 8, 8), _x(4, 2, 3, 3)), "(2, 3, 8, 8) has 3 channels"),
    (lambda: F.conv2d(_x(2, 3, 4, 4), _x(4, 3, 7, 7)), "larger than the padded input"),
    (lambda: F.conv2d(_x(2, 3, 4, 4), _x(4, 3, 3, 3), dilation=2), "larger than the padded input"),
    (lambda: F.conv2d(_x(2, 3, 8, 8), _x(4, 3, 3, 3), stride=0), "stride must be positive"),
    (lambda: F.conv2d(_x(2, 3, 8, 8), _x(4, 3, 3, 3), stride=-1), "stride must be positive"),
    (lambda: F.conv2d(_x(2, 3, 8, 8), _x(4, 3, 3, 3), padding=-1), "padding must be non-negative"),
    (lambda: F.conv2d(_x(8, 8), _x(4, 3, 3, 3)), "got shape (8, 8)"),
    (lambda: F.conv2d(_x(2, 3, 8, 8), _x(4, 3, 3)), "4-d weight"),
    (lambda: F.conv2d(_x(2, 4, 8, 8), _x(3, 2, 3, 3), groups=2), "not divisible by groups=2"),
    (lambda: F.conv2d(_x(2, 3, 8, 8), _x(4, 3, 3, 3), groups=0), "groups must be"),
    (lambda: F.conv2d(_x(2, 3, 8, 8), _x(4, 3, 3, 3), _x(5)), "bias must have shape (4,)"),
    (lambda: F.conv2d(_x(2, 3, 8, 8), _x(4, 3, 3, 3), stride=2, padding="same"), "strided"),
    (lambda: F.conv2d(_x(2, 3, 8, 8), _x(4, 3, 3, 3), padding="full"), "'same' or 'valid'"),
    (lambda: F.conv_transpose2d(_x(2, 3, 4, 4), _x(2, 3, 3, 3)), "has 3 channels"),
    (lambda: F.conv_transpose2d(_x(2, 3, 4, 4), _x(3, 3, 3, 3), stride=2, output_padding=2),
     "output_padding"),
    (lambda: F.max_pool2d(_x(2, 3, 4, 4), 3, padding=2), "at most half"),
    (lambda: F.max_pool2d(_x(2, 3, 2, 2), 3), "output would be empty"),
    (lambda: F.max_pool2d(_x(3, 4), 2), "got shape (3, 4)"),
    (lambda: F.avg_pool2d(_x(1, 1, 2, 2), 3), "output would be empty"),
    (lambda: F.pad(_x(2, 3), (1, 2, 3)), "even-length"),
    (lambda: F.pad(_x(2, 3), (3, 3), mode="reflect"), "must be less than"),
    (lambda: F.interpolate(_x(1, 1, 4, 4), size=3, mode="bilinear"), "not supported"),
])
def test_bad_input_is_a_value_error_naming_it(call, needle):
    e = raises_cleanly(call, exc=(ValueError,))
    assert needle in str(e), str(e)


def test_dtype_mismatch_is_a_type_error():
    e = raises_cleanly(F.conv2d, fg.zeros((1, 1, 3, 3)), fg.zeros((1, 1, 2, 2), dtype=fg.float64),
                       exc=(TypeError,))
    assert "same dtype" in str(e)
    raises_cleanly(F.conv2d, fg.zeros((1, 1, 3, 3), dtype=fg.int64), fg.zeros((1, 1, 2, 2)),
                   exc=(TypeError,))
    raises_cleanly(F.conv2d, fg.zeros((1, 1, 3, 3)), fg.zeros((1, 1, 2, 2)), stride=1.5,
                   exc=(TypeError,))
