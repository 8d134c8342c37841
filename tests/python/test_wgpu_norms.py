"""LayerNorm, RMSNorm, GroupNorm and BatchNorm on wgpu against the CPU kernels: values
and every gradient, rows and channels longer than one workgroup, running statistics,
eval mode, an accurate variance under a large offset, determinism, no host transfers,
double backward, and the errors.

Skipped as a whole, with the adapter's error as the reason, where ``fg.device("wgpu")``
raises RuntimeError (no adapter, or a build without wgpu)."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import _core as C

pytestmark = pytest.mark.usefixtures("wgpu_device")

GPU = "wgpu"
F = fg.nn.functional


def _rng(seed=0):
    return np.random.default_rng(seed)


def _np(t):
    return np.array(t.to("cpu").numpy(), copy=True)


def _close(a, b, what, rtol=2e-4, atol=2e-5):
    scale = max(1.0, float(np.abs(b).max(initial=0.0)))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * scale, err_msg=what)


# Each case: (id, function of (x, w, b) -> y, x shape, parameter shape or None).
def _ln(x, w, b):
    return F.layer_norm(x, x.shape[-1:], w, b, 1e-5)


def _ln2(x, w, b):
    return F.layer_norm(x, x.shape[-2:], w, b, 1e-5)


def _rms(x, w, b):
    return F.rms_norm(x, x.shape[-1:], w, 1e-6)


def _gn(x, w, b):
    return F.group_norm(x, 2, w, b, 1e-5)


def _bn(x, w, b):
    return F.batch_norm(x, None, None, w, b, True, 0.1, 1e-5)


CASES = [
    ("layer_norm_small", _ln, (3, 5), (5,)),
    ("layer_norm_long", _ln, (4, 1000), (1000,)),
    ("layer_norm_2d", _ln2, (2, 3, 7), (3, 7)),
    ("rms_norm_small", _rms, (3, 5), (5,)),
    ("rms_norm_long", _rms, (3, 1000), (1000,)),
    ("group_norm_small", _gn, (2, 4, 3), (4,)),
    ("group_norm_long", _gn, (2, 6, 200), (6,)),
    ("group_norm_2d", _gn, (3, 4), (4,)),
    ("batch_norm_nc", _bn, (700, 3), (3,)),
    ("batch_norm_ncl", _bn, (7, 3, 100), (3,)),
    ("batch_norm_nchw", _bn, (2, 3, 4, 5), (3,)),
]


def _run(fn, x, w, b, g, dev, affine):
    xt = fg.tensor(x).to(dev)
    xt.requires_grad = True
    params = []
    for p in (w, b) if affine else ():
        pt = fg.tensor(p).to(dev)
        pt.requires_grad = True
        params.append(pt)
    wt, bt = params if affine else (None, None)
    y = fn(xt, wt, bt)
    assert y.device.type == dev
    (y * fg.tensor(g).to(dev)).sum().backward()
    out = {"y": y, "dx": xt.grad}
    if affine:
        out["dw"], out["db"] = wt.grad, bt.grad
    for k, v in out.items():
        if v is not None:
            assert v.device.type == dev, k
    return {k: (None if v is None else _np(v)) for k, v in out.items()}


def _inputs(shape, pshape, seed=1, offset=0.0):
    r = _rng(seed)
    x = (r.standard_normal(shape) * 2 + offset).astype(np.float32)
    w = (r.standard_normal(pshape) + 1).astype(np.float32)
    b = r.standard_normal(pshape).astype(np.float32)
    g = r.standard_normal(shape).astype(np.float32)
    return x, w, b, g


@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_cpu(case, affine):
    _, fn, shape, pshape = case
    x, w, b, g = _inputs(shape, pshape)
    cpu = _run(fn, x, w, b, g, "cpu", affine)
    gpu = _run(fn, x, w, b, g, GPU, affine)
    assert cpu.keys() == gpu.keys()
    for k in cpu:
        if cpu[k] is None:
            assert gpu[k] is None, k
            continue
        _close(gpu[k], cpu[k], k)


def _bn_module(cls, c, dev):
    m = cls(c).to(dev)
    r = _rng(5)
    m.weight.data = fg.tensor((r.standard_normal(c) + 1).astype(np.float32)).to(dev)
    m.bias.data = fg.tensor(r.standard_normal(c).astype(np.float32)).to(dev)
    return m


BN_SHAPES = [(fg.nn.BatchNorm1d, (700, 3)), (fg.nn.BatchNorm1d, (5, 4, 30)),
             (fg.nn.BatchNorm2d, (3, 2, 5, 6))]


@pytest.mark.parametrize("cls,shape", BN_SHAPES, ids=["nc_700", "ncl", "nchw"])
def test_batch_norm_module_running_stats_and_eval(cls, shape):
    c = shape[1]
    runs = {}
    for dev in ("cpu", GPU):
        m = _bn_module(cls, c, dev)
        assert m.running_mean.device.type == dev
        assert m.running_var.device.type == dev
        assert m.num_batches_tracked.device.type == dev
        outs = []
        for step in range(3):
            x, _, _, g = _inputs(shape, (c,), seed=10 + step, offset=3.0)
            xt = fg.tensor(x).to(dev)
            xt.requires_grad = True
            y = m(xt)
            (y * fg.tensor(g).to(dev)).sum().backward()
            outs.append([_np(y), _np(xt.grad)])
        m.eval()
        x, _, _, g = _inputs(shape, (c,), seed=20, offset=3.0)
        xt = fg.tensor(x).to(dev)
        xt.requires_grad = True
        y = m(xt)
        (y * fg.tensor(g).to(dev)).sum().backward()
        outs.append([_np(y), _np(xt.grad)])
        runs[dev] = dict(
            outs=outs,
            rm=_np(m.running_mean),
            rv=_np(m.running_var),
            nbt=int(_np(m.num_batches_tracked)),
            dw=_np(m.weight.grad),
            db=_np(m.bias.grad),
        )
    cpu, gpu = runs["cpu"], runs[GPU]
    assert gpu["nbt"] == cpu["nbt"] == 3
    _close(gpu["rm"], cpu["rm"], "running_mean")
    _close(gpu["rv"], cpu["rv"], "running_var")
    # The running variance moved away from its initial ones (the update really ran).
    assert np.abs(gpu["rv"] - 1).max() > 0.5
    for i, (a, b) in enumerate(zip(gpu["outs"], cpu["outs"])):
        _close(a[0], b[0], f"y step {i}")
        _close(a[1], b[1], f"dx step {i}")
    _close(gpu["dw"], cpu["dw"], "dweight")
    _close(gpu["db"], cpu["db"], "dbias")


def test_functional_running_stats_strided_update_in_place():
    # running stats as strided views of a larger buffer: updated in place on the GPU
    x, w, b, _ = _inputs((50, 3), (3,), offset=2.0)
    res = {}
    for dev in ("cpu", GPU):
        buf = fg.tensor(np.array([0, 9, 0, 9, 0, 9, 1, 9, 1, 9, 1, 9], np.float32)).to(dev)
        rm, rv = buf[0:6:2], buf[6:12:2]
        for _ in range(2):
            F.batch_norm(fg.tensor(x).to(dev), rm, rv, fg.tensor(w).to(dev),
                         fg.tensor(b).to(dev), True, 0.3, 1e-5)
        res[dev] = _np(buf)
    _close(res[GPU], res["cpu"], "running buffer")
    assert (res[GPU][1::2] == 9).all()


def test_large_offset_variance_is_accurate():
    # 1e4 + noise of std 0.1: E[x^2] - E[x]^2 in float32 loses the variance entirely
    # (1e8 has an ulp of 8); a sound algorithm keeps it.
    r = _rng(3)
    x = (1e4 + 0.1 * r.standard_normal((4, 1000))).astype(np.float32)
    naive = (x * x).mean(-1) - x.mean(-1) ** 2
    true_var = x.astype(np.float64).var(-1)
    assert np.abs(naive - true_var).max() > 0.5 * true_var.max()  # the trap is real
    xd = x.astype(np.float64)
    ref = (xd - xd.mean(-1, keepdims=True)) / np.sqrt(true_var[:, None] + 1e-5)
    y = _np(F.layer_norm(fg.tensor(x).to(GPU), (1000,), None, None, 1e-5))
    # f32 rounding of the mean (ulp(1e4)/2 ~ 5e-4, times rstd ~ 10) bounds the error
    np.testing.assert_allclose(y, ref, atol=1e-2)
    ycpu = _np(F.layer_norm(fg.tensor(x), (1000,), None, None, 1e-5))
    np.testing.assert_allclose(y, ycpu, atol=1e-2)
    # BatchNorm over 700 rows of one channel with the same offset
    xb = np.ascontiguousarray(x.reshape(-1)[:1400].reshape(700, 2))
    yb = _np(F.batch_norm(fg.tensor(xb).to(GPU), None, None, None, None, True, 0.1, 1e-5))
    xbd = xb.astype(np.float64)
    refb = (xbd - xbd.mean(0)) / np.sqrt(xbd.var(0) + 1e-5)
    np.testing.assert_allclose(yb, refb, atol=1e-2)


@pytest.mark.parametrize("case", [CASES[1], CASES[4], CASES[6], CASES[8]],
                         ids=["layer_norm", "rms_norm", "group_norm", "batch_norm"])
def test_deterministic(case):
    _, fn, shape, pshape = case
    x, w, b, g = _inputs(shape, pshape, seed=4)
    a = _run(fn, x, w, b, g, GPU, True)
    c = _run(fn, x, w, b, g, GPU, True)
    for k in a:
        assert np.array_equal(a[k], c[k]), k


def _transfers():
    s = C._wgpu_stats()
    return {k: s[k] for k in ("uploads", "readbacks")}


def test_modules_forward_backward_without_host_transfers():
    r = _rng(6)
    mods = [
        (fg.nn.LayerNorm(300), (4, 300)),
        (fg.nn.RMSNorm(300), (4, 300)),
        (fg.nn.GroupNorm(2, 4), (3, 4, 10)),
        (fg.nn.BatchNorm1d(4), (30, 4)),
        (fg.nn.BatchNorm2d(4), (3, 4, 5, 5)),
    ]
    for m, shape in mods:
        m.to(GPU)
        x = fg.tensor(r.standard_normal(shape).astype(np.float32)).to(GPU)
        x.requires_grad = True
        for training in (True, False):
            m.train(training)
            m(x).sum().backward()  # warm-up: pipelines compiled outside the count
            before = _transfers()
            y = m(x)
            y.sum().backward()
            assert _transfers() == before, (type(m).__name__, training)
            for p in m.parameters():
                assert p.grad.device.type == GPU


def test_double_backward_matches_cpu():
    for case in (CASES[1], CASES[4], CASES[6], CASES[9]):
        _, fn, shape, pshape = case
        x, w, b, g = _inputs(shape, pshape, seed=7)
        res = {}
        for dev in ("cpu", GPU):
            xt = fg.tensor(x).to(dev)
            wt = fg.tensor(w).to(dev)
            bt = fg.tensor(b).to(dev)
            for t in (xt, wt, bt):
                t.requires_grad = True
            y = fn(xt, wt, bt)
            (gx,) = fg.autograd.grad([(y * fg.tensor(g).to(dev)).sum()], [xt],
                                     create_graph=True)
            assert gx.device.type == dev
            (gx * gx).sum().backward()
            res[dev] = [_np(gx), _np(xt.grad), _np(wt.grad)]
        for k, (a, c) in enumerate(zip(res[GPU], res["cpu"])):
            _close(a, c, f"{case[0]} double backward {k}", rtol=1e-3, atol=1e-4)


def test_errors():
    xg = fg.tensor(np.ones((2, 4), np.float32)).to(GPU)
    w = fg.tensor(np.ones(4, np.float32))
    calls = [
        lambda: F.layer_norm(xg, (4,), w, None),
        lambda: F.rms_norm(xg, (4,), w),
        lambda: F.group_norm(xg, 2, w, None),
        lambda: F.batch_norm(xg, None, None, w, None, True),
        lambda: F.batch_norm(xg, fg.zeros((4,)), fg.ones((4,)).to(GPU), None, None, True),
    ]
    for call in calls:
        with pytest.raises(RuntimeError) as e:
            call()
        assert "cpu" in str(e.value) and "wgpu" in str(e.value), str(e.value)
    with pytest.raises(TypeError):
        F.layer_norm(fg.tensor(np.ones((2, 4), np.float64)).to(GPU), (4,))
    with pytest.raises(TypeError):
        F.layer_norm(fg.tensor(np.ones((2, 4), np.int64)).to(GPU), (4,))
    with pytest.raises(ValueError):
        F.group_norm(xg, 3)
    with pytest.raises((ValueError, RuntimeError)):
        F.layer_norm(xg, (5,))
