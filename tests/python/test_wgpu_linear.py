"""Linear with the bias (and ReLU) fused into the GEMM's store on wgpu: values and
gradients of F.linear / F.linear_relu / nn.Linear against the CPU's unfused math, with
and without bias, on odd shapes, 1-D and batched (3-D) inputs; no host transfer inside
forward and backward.

Skipped as a whole, with the adapter's error as the reason, where ``fg.device("wgpu")``
raises RuntimeError (no adapter, or a build without wgpu)."""

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F
from ferrograd import nn

pytestmark = pytest.mark.usefixtures("wgpu_device")

GPU = "wgpu"
RTOL, ATOL = 1e-4, 1e-5

# (x shape, out_features): odd sizes, a row longer than one 64-wide tile (300),
# 1-D and 3-D inputs, a single row and an empty batch.
CASES = [
    ((4, 3), 5),
    ((7, 13), 11),
    ((65, 70), 67),
    ((2, 300), 9),
    ((13,), 6),
    ((2, 3, 10), 7),
    ((1, 1), 1),
    ((0, 5), 3),
]


def _np(t):
    return t.detach().to("cpu").numpy()


def _stats():
    s = fg._core._wgpu_stats()
    return {k: s[k] for k in ("uploads", "readbacks")}


def _inputs(xshape, n, seed):
    r = np.random.default_rng(seed)
    k = xshape[-1]
    return (
        r.standard_normal(xshape).astype(np.float32),
        (r.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32),
        r.standard_normal(n).astype(np.float32),
        r.standard_normal(xshape[:-1] + (n,)).astype(np.float32),
    )


def _run(fn, arrays, dev, with_bias):
    x, w, b, dy = arrays
    ts = [fg.tensor(a).to(dev).requires_grad_() for a in (x, w, b)]
    bias = ts[2] if with_bias else None
    dyt = fg.tensor(dy).to(dev)
    if dev == GPU:
        before = _stats()
    y = fn(ts[0], ts[1], bias)
    y.backward(dyt)
    if dev == GPU:
        assert _stats() == before, "host transfers inside linear forward/backward"
        assert y.device.type == GPU
    return [y] + [t.grad for t in (ts if with_bias else ts[:2])]


def _unfused_relu(x, w, b):
    y = x @ w.mT
    if b is not None:
        y = y + b
    return y.relu()


@pytest.mark.parametrize("relu", [False, True], ids=["linear", "linear_relu"])
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("xshape,n", CASES, ids=[f"{s}x{n}" for s, n in CASES])
def test_linear_matches_cpu(xshape, n, with_bias, relu):
    arrays = _inputs(xshape, n, seed=len(xshape) * 100 + n)
    fn = F.linear_relu if relu else F.linear
    gpu = _run(fn, arrays, GPU, with_bias)
    # The CPU reference is the unfused graph (matmul, add, relu).
    ref = _run(_unfused_relu if relu else F.linear, arrays, "cpu", with_bias)
    assert len(gpu) == len(ref)
    for i, (g, c) in enumerate(zip(gpu, ref)):
        assert tuple(g.shape) == tuple(c.shape), i
        np.testing.assert_allclose(_np(g), _np(c), rtol=RTOL, atol=ATOL, err_msg=str(i))
    # The graph is the fused node (one op forward, its own backward).
    x = fg.tensor(arrays[0]).to(GPU).requires_grad_()
    y = fn(x, fg.tensor(arrays[1]).to(GPU), fg.tensor(arrays[2]).to(GPU) if with_bias else None)
    assert y.grad_fn == "LinearBackward"


def test_values_against_numpy():
    x, w, b, _ = _inputs((9, 33), 17, seed=5)
    for relu in (False, True):
        fn = F.linear_relu if relu else F.linear
        y = fn(*(fg.tensor(a).to(GPU) for a in (x, w, b)))
        want = x.astype(np.float64) @ w.T.astype(np.float64) + b
        if relu:
            want = np.maximum(want, 0)
        np.testing.assert_allclose(_np(y), want, rtol=1e-4, atol=1e-5)


def test_transposed_and_offset_operands():
    # Weight given as a transposed view and input as a non-contiguous slice: the fused
    # kernel reads strides in place.
    r = np.random.default_rng(2)
    x = r.standard_normal((6, 20)).astype(np.float32)
    wt = r.standard_normal((8, 5)).astype(np.float32)  # w = wt.T, shape (5, 8)
    b = r.standard_normal(12).astype(np.float32)
    xs, bs = x[1:5, ::2][:, :8], b[2:7]
    g = F.linear(fg.tensor(x).to(GPU)[1:5, ::2][:, :8], fg.tensor(wt).to(GPU).mT,
                 fg.tensor(b).to(GPU)[2:7])
    np.testing.assert_allclose(_np(g), xs @ wt + bs, rtol=1e-4, atol=1e-5)


def test_double_backward_matches_cpu():
    x, w, b, _ = _inputs((4, 6), 3, seed=9)
    res = {}
    for dev in ("cpu", GPU):
        xt, wt, bt = (fg.tensor(a).to(dev).requires_grad_() for a in (x, w, b))
        y = F.linear(xt, wt, bt)
        (gx,) = fg.autograd.grad((y * y).sum(), [xt], create_graph=True)
        (gw,) = fg.autograd.grad((gx * gx).sum(), [wt])
        res[dev] = (gx, gw)
    for g, c in zip(res[GPU], res["cpu"]):
        np.testing.assert_allclose(_np(g), _np(c), rtol=1e-4, atol=1e-5)


def test_module_and_errors():
    fg.manual_seed(1)
    cpu = nn.Linear(10, 4)
    gpu = nn.Linear(10, 4)
    gpu.load_state_dict(cpu.state_dict())
    gpu.to(GPU)
    x = np.random.default_rng(0).standard_normal((3, 10)).astype(np.float32)
    np.testing.assert_allclose(_np(gpu(fg.tensor(x).to(GPU))), _np(cpu(fg.tensor(x))),
                               rtol=1e-4, atol=1e-5)
    w = fg.ones((4, 10), device=GPU)
    with pytest.raises(ValueError):
        F.linear(fg.ones((3, 9), device=GPU), w)
    with pytest.raises(ValueError):
        F.linear(fg.ones((3, 10), device=GPU), w, fg.ones((5,), device=GPU))
    with pytest.raises(RuntimeError, match="same device"):
        F.linear(fg.ones((3, 10), device=GPU), fg.ones((4, 10)))


def test_cpu_path_unchanged():
    # The CPU keeps matmul + add: the same node names and bitwise the same numbers.
    x, w, b, _ = _inputs((5, 7), 3, seed=4)
    xt, wt, bt = (fg.tensor(a).requires_grad_() for a in (x, w, b))
    y = F.linear(xt, wt, bt)
    assert y.grad_fn != "LinearBackward"
    np.testing.assert_array_equal(_np(y), _np(xt @ wt.mT + bt))
