"""Parity of the wgpu backend with the CPU: every op of the tensor core, forward and
backward, on the same inputs on both devices (see wgpu_cases.py for how a case runs and
what is compared). Also: random numbers bitwise equal for one seed, launches forced onto
the 2-D grid path, no host transfers inside forward/backward, and the GPU's errors.

Skipped as a whole, with the adapter's error as the reason, where ``fg.device("wgpu")``
raises RuntimeError (no adapter, or a build without wgpu)."""

import numpy as np
import pytest

import ferrograd as fg
from wgpu_cases import GPU, SUMS, Case, Inp, check_case, expect_raises, on
from wgpu_index_cases import GATHER_CASES, GETITEM_CASES, SETITEM_CASES, SHAPE_CASES
from wgpu_op_cases import (
    BINARY_CASES,
    CLIP_CASES,
    CMP_CASES,
    COPY_CASES,
    LOGIC_CASES,
    MATMUL_CASES,
    REDUCTION_CASES,
    SOFTMAX_CASES,
    SPECIAL_CASES,
    UNARY_CASES,
    VIEW_CASES,
    WHERE_CASES,
)


pytestmark = pytest.mark.usefixtures("wgpu_device")


def _params(cases):
    return pytest.mark.parametrize("case", cases, ids=[c.id for c in cases])


@_params(UNARY_CASES)
def test_unary(case):
    check_case(case)


@_params(BINARY_CASES)
def test_binary(case):
    check_case(case)


@_params(CMP_CASES + LOGIC_CASES + SPECIAL_CASES)
def test_compare_logical(case):
    check_case(case)


@_params(WHERE_CASES + CLIP_CASES)
def test_where_clip(case):
    check_case(case)


@_params(REDUCTION_CASES)
def test_reduction(case):
    check_case(case)


@_params(SOFTMAX_CASES)
def test_softmax(case):
    check_case(case)


@_params(MATMUL_CASES)
def test_matmul(case):
    check_case(case)


@_params(COPY_CASES + VIEW_CASES)
def test_copy_cast_views(case):
    check_case(case)


@_params(GETITEM_CASES + SETITEM_CASES)
def test_getitem_setitem(case):
    check_case(case)


@_params(GATHER_CASES + SHAPE_CASES)
def test_gather_shape_ops(case):
    check_case(case)


# ----------------------------------------------------------------- autograd specifics


def test_backward_seeds_on_device():
    """``loss.backward()`` with no argument seeds the gradient on the loss's device."""
    x = np.random.default_rng(5).standard_normal((4, 6)).astype(np.float32)
    grads = {}
    for dev in ("cpu", GPU):
        t = on(x, dev).requires_grad_()
        (t.tanh() * t).sum().backward()
        grads[dev] = t.grad
    assert grads[GPU].device.type == GPU
    np.testing.assert_allclose(grads[GPU].to("cpu").numpy(), grads["cpu"].numpy(), rtol=1e-4, atol=1e-5)


def test_grad_accumulates_on_device():
    """Two backward passes add into the same ``.grad``, which stays on the GPU."""
    x = np.random.default_rng(6).standard_normal((3, 5)).astype(np.float32)
    grads = {}
    for dev in ("cpu", GPU):
        t = on(x, dev).requires_grad_()
        (t * t).sum().backward()
        t.exp().sum().backward()
        grads[dev] = t.grad
    assert grads[GPU].device.type == GPU
    np.testing.assert_allclose(grads[GPU].to("cpu").numpy(), grads["cpu"].numpy(), rtol=1e-4, atol=1e-5)


def test_create_graph_on_device():
    """Second derivatives (``create_graph=True``) run on the GPU and match the CPU."""
    x = np.random.default_rng(7).uniform(-2, 2, (4, 5)).astype(np.float32)
    res = {}
    for dev in ("cpu", GPU):
        t = on(x, dev).requires_grad_()
        y = (t.tanh() * t.sigmoid()).sum()
        (g,) = fg.autograd.grad(y, t, create_graph=True)
        (g * g).sum().backward()
        res[dev] = (g, t.grad)
    for got, ref in zip(res[GPU], res["cpu"]):
        assert got.device.type == GPU
        np.testing.assert_allclose(got.detach().to("cpu").numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------- random numbers


def _bits(t):
    a = np.array(t.to("cpu").numpy(), copy=True)
    return a.view(np.uint32) if a.dtype == np.float32 else a


# rand, randint and float32 randn are bitwise equal on both devices (randn is Box-Muller
# in integer arithmetic on both: src/ops/random/normal.rs and normal.wgsl).
def _same_draws(gpu_draws, cpu_draws):
    for i, (g, c) in enumerate(zip(gpu_draws, cpu_draws)):
        assert g.device.type == GPU, f"draw {i} is on {g.device}"
        assert g.dtype == c.dtype and tuple(g.shape) == tuple(c.shape)
        np.testing.assert_array_equal(_bits(g), _bits(c), err_msg=f"draw {i}")


@pytest.mark.parametrize("shape", [(1000,), (3, 7), (0, 4), ()], ids=str)
def test_random_bitwise_equal(shape):
    """One seed gives the same numbers on both devices, call after call (the Philox
    counter advances the same way): rand, randn and randint bit for bit."""
    runs = {}
    for dev in ("cpu", GPU):
        fg.manual_seed(1234)
        outs = [
            fg.rand(shape, device=dev),
            fg.randn(shape, device=dev),
            fg.randint(-5, 5, shape, device=dev),
            fg.rand(shape, device=dev),
            fg.randint(-(2**31), 2**31, shape, device=dev),
            fg.randint(0, 2**30, shape, dtype=fg.float32, device=dev),
            fg.randint(-1, 2, shape, dtype=fg.bool, device=dev),
        ]
        runs[dev] = outs
    _same_draws(runs[GPU], runs["cpu"])


def test_random_seed_state_shared_by_devices():
    """A draw on one device moves the generator for the next draw on the other."""
    fg.manual_seed(5)
    fg.rand((10,), device=GPU)
    after_gpu = fg.rand((10,))
    fg.manual_seed(5)
    fg.rand((10,))
    after_cpu = fg.rand((10,))
    np.testing.assert_array_equal(after_gpu.numpy(), after_cpu.numpy())


def test_random_refusals_on_gpu():
    with pytest.raises(ValueError, match="int32"):
        fg.randint(0, 2**31 + 1, (3,), device=GPU)
    with pytest.raises(ValueError, match="int32"):
        fg.randint(-(2**31) - 1, 0, (3,), device=GPU)
    with pytest.raises(TypeError, match="float"):
        fg.rand((3,), dtype=fg.int64, device=GPU)
    with pytest.raises(TypeError, match="float64"):
        fg.randn((3,), dtype=fg.float64, device=GPU)


# ----------------------------------------------------------------- creation on the device


def _creations(dev):
    return [
        fg.zeros((3, 4), device=dev),
        fg.ones((2, 5), dtype=fg.int64, device=dev),
        fg.full((4,), 2.5, device=dev),
        fg.full((2, 2), True, device=dev),
        fg.empty((0, 3), device=dev),
        fg.eye(4, device=dev),
        fg.eye(3, 5, k=1, dtype=fg.int64, device=dev),
        fg.eye(5, 3, k=-2, device=dev),
        fg.eye(2, 3, k=7, device=dev),
        fg.eye(0, device=dev),
        fg.arange(10, device=dev),
        fg.arange(0.5, 3.0, 0.25, device=dev),
        fg.linspace(-1.0, 1.0, 7, device=dev),
    ]


def test_creation_on_device():
    for g, c in zip(_creations(GPU), _creations("cpu")):
        assert g.device.type == GPU
        assert g.dtype == c.dtype and tuple(g.shape) == tuple(c.shape)
        np.testing.assert_array_equal(g.to("cpu").numpy(), c.numpy())
    assert tuple(fg.empty((2, 3), device=GPU).shape) == (2, 3)


def test_creation_without_upload():
    """zeros/ones/full/empty/eye with device='wgpu' are made by kernels, not uploaded."""
    before = _stats()
    made = [
        fg.zeros((64,), device=GPU),
        fg.ones((8, 8), device=GPU),
        fg.full((5,), 3, device=GPU),
        fg.empty((7,), device=GPU),
        fg.eye(6, 4, k=-1, device=GPU),
    ]
    after = _stats()
    assert all(m.device.type == GPU for m in made)
    assert after == before, f"host transfers while creating tensors: {before} -> {after}"


def test_creation_like_keeps_device():
    x = fg.rand((2, 3), device=GPU)
    for like in (fg.zeros_like(x), fg.ones_like(x, dtype=fg.int64), fg.full_like(x, 7.0), fg.empty_like(x)):
        assert like.device.type == GPU and tuple(like.shape) == (2, 3)
    np.testing.assert_array_equal(fg.full_like(x, 7.0).to("cpu").numpy(), np.full((2, 3), 7.0, np.float32))
    assert fg.zeros_like(x, device="cpu").device.type == "cpu"


# ----------------------------------------------------------------- the 2-D grid path

# With at most 8 workgroups per grid dimension, every launch below past 8 workgroups
# takes the path that spills into y; kernels with more work than 8 x 8 = 64 workgroups
# (the last rows) launch 64 and loop.
GRID_LIMIT = 8


@pytest.fixture
def small_grid():
    core = fg._core
    if not hasattr(core, "_wgpu_set_grid_limit"):
        pytest.fail("fg._core._wgpu_set_grid_limit is missing: the 2-D grid path cannot be forced")
    core._wgpu_set_grid_limit(GRID_LIMIT)
    try:
        yield
    finally:
        core._wgpu_set_grid_limit(0)


_G = np.random.default_rng(3333)


def _g(*shape):
    return _G.uniform(-2, 2, shape).astype(np.float32)


GRID_CASES = [
    Case("grid-exp", lambda x: x.exp(), [_g(3000)], tol=(1e-4, 1e-5)),
    Case("grid-add_bcast", lambda x, y: x + y, [Inp(_g(75, 40), lambda t: t.T), _g(75)]),
    Case("grid-sum_axis", lambda x: x.sum(1), [_g(40, 75)], tol=SUMS),
    Case("grid-max_all", lambda x: x.max(), [_g(3000)], tol=SUMS),
    Case("grid-softmax", lambda x: x.softmax(-1), [_g(40, 75)], tol=SUMS),
    Case("grid-matmul", lambda a, b: a @ b, [_g(3, 48, 20), _g(3, 20, 40)], tol=SUMS),
    Case("grid-getitem", lambda x, i: x[i], [_g(300, 8), Inp(_G.integers(0, 300, 400).astype(np.int64))]),
    Case(
        "grid-take_along_axis",
        lambda x, i: fg.take_along_axis(x, i, 1),
        [_g(40, 75), Inp(_G.integers(0, 75, (40, 70)).astype(np.int64))],
    ),
    Case("grid-astype", lambda x: x.astype(fg.int64), [_g(3000)], grad=False, tol=(0, 0)),
    # More workgroups' worth of work than the 8 x 8 grid holds: the kernel loops on.
    Case("grid-sum_many_rows", lambda x: x.sum(1), [_g(100, 40)], tol=SUMS),
    Case("grid-argmax_many_rows", lambda x: x.argmax(1), [_g(20000, 3)], grad=False, tol=(0, 0)),
    Case("grid-softmax_many_rows", lambda x: x.softmax(0), [_g(30, 100)], tol=SUMS),
]


@pytest.mark.parametrize("case", GRID_CASES, ids=[c.id for c in GRID_CASES])
def test_large_grid(case, small_grid):
    check_case(case)


def test_large_grid_random(small_grid):
    """Random fills past 8 workgroups (rand: 4 elements per invocation, randn/randint: 2)
    spill into y and still give the CPU's numbers for every element."""
    runs = {}
    for dev in ("cpu", GPU):
        fg.manual_seed(99)
        runs[dev] = (
            fg.rand((30000,), device=dev),
            fg.randn((5000,), device=dev),
            fg.randint(-1000, 1000, (5000,), device=dev),
        )
    _same_draws(runs[GPU], runs["cpu"])


# ----------------------------------------------------------------- no host transfers


def _stats():
    core = fg._core
    if not hasattr(core, "_wgpu_stats"):
        pytest.fail("fg._core._wgpu_stats is missing: host transfers cannot be counted")
    s = core._wgpu_stats()
    return {k: s[k] for k in ("uploads", "readbacks")}


def _mlp_inputs():
    r = np.random.default_rng(8)
    return dict(
        x=r.standard_normal((16, 8)).astype(np.float32),
        w1=(r.standard_normal((8, 32)) * 0.3).astype(np.float32),
        b1=(r.standard_normal(32) * 0.1).astype(np.float32),
        w2=(r.standard_normal((32, 4)) * 0.3).astype(np.float32),
        b2=(r.standard_normal(4) * 0.1).astype(np.float32),
        labels=r.integers(0, 4, 16).astype(np.int64),
    )


def _mlp_loss(t):
    h = (t["x"] @ t["w1"] + t["b1"]).relu()
    logits = h @ t["w2"] + t["b2"]
    picked = fg.take_along_axis(logits, t["labels"].unsqueeze(1), 1).squeeze(1)
    nll = (logits.logsumexp(-1) - picked).mean()
    probs = logits.softmax(-1)
    return nll + (probs * probs).mean()


def test_forward_backward_without_host_transfers():
    arrays = _mlp_inputs()
    params = ("w1", "b1", "w2", "b2")
    runs = {}
    for dev in ("cpu", GPU):
        t = {k: on(v, dev) for k, v in arrays.items()}
        for k in params:
            t[k].requires_grad_()
        if dev == GPU:
            before = _stats()
        loss = _mlp_loss(t)
        loss.backward()
        if dev == GPU:
            after = _stats()
            assert after == before, f"host transfers during forward+backward: {before} -> {after}"
        runs[dev] = [loss] + [t[k].grad for k in params]
    for i, (g, c) in enumerate(zip(runs[GPU], runs["cpu"])):
        assert g.device.type == GPU
        np.testing.assert_allclose(g.detach().to("cpu").numpy(), c.detach().numpy(), rtol=1e-4, atol=1e-5, err_msg=str(i))


def test_random_creation_without_upload():
    """rand/randn/randint with device='wgpu' fill on the device (Philox in a kernel),
    not on the host followed by an upload."""
    before = _stats()
    made = [fg.rand((64,), device=GPU), fg.randn((64,), device=GPU), fg.randint(0, 9, (64,), device=GPU)]
    after = _stats()
    assert all(m.device.type == GPU for m in made)
    assert after == before, f"host transfers while creating random tensors: {before} -> {after}"


def test_stats_count_transfers():
    """The counters move when data does cross, so the tests above could fail."""
    before = _stats()
    g = on(np.ones(8, np.float32), GPU)
    mid = _stats()
    g.to("cpu")
    after = _stats()
    assert mid["uploads"] > before["uploads"]
    assert after["readbacks"] > mid["readbacks"]


# ----------------------------------------------------------------- errors


def _mixed_ops():
    r = np.random.default_rng(9)
    a = r.standard_normal((3, 4)).astype(np.float32)
    g, c = on(a, GPU), on(a, "cpu")
    cond = on(a > 0, "cpu")
    idx = on(np.zeros((3, 1), np.int64), "cpu")
    return {
        "add": lambda: g + c,
        "radd": lambda: c * g,
        "matmul": lambda: g @ c.T,
        "maximum": lambda: fg.maximum(c, g),
        "where": lambda: fg.where(cond, g, g),
        "concat": lambda: fg.concat([g, c]),
        "stack": lambda: fg.stack([c, g]),
        "take_along_axis": lambda: fg.take_along_axis(g, idx, 1),
        "setitem": lambda: g.__setitem__(slice(0, 3), c),
    }


@pytest.mark.parametrize("name", list(_mixed_ops()))
def test_mixed_devices_raise(name):
    e = expect_raises(_mixed_ops()[name], (RuntimeError,))
    msg = str(e).lower()
    assert "cpu" in msg and "wgpu" in msg, f"the message should name both devices: {e}"


def test_backward_with_grad_on_other_device_raises():
    x = on(np.ones((2, 3), np.float32), GPU).requires_grad_()
    y = x * 2.0
    e = expect_raises(lambda: y.backward(on(np.ones((2, 3), np.float32), "cpu")), (RuntimeError,))
    assert "cpu" in str(e).lower() and "wgpu" in str(e).lower(), str(e)


_FLOAT64_ON_GPU = {
    "to": lambda: fg.tensor(np.ones((2, 3), np.float64)).to(GPU),
    "zeros": lambda: fg.zeros((2,), dtype=fg.float64, device=GPU),
    "tensor_device": lambda: fg.tensor(np.ones(3, np.float64), device=GPU),
    "astype": lambda: on(np.ones(3, np.float32), GPU).astype(fg.float64),
}


@pytest.mark.parametrize("name", list(_FLOAT64_ON_GPU))
def test_float64_on_gpu_raises(name):
    e = expect_raises(_FLOAT64_ON_GPU[name], (TypeError,))
    msg = str(e)
    for dt in ("float32", "int64", "bool"):
        assert dt in msg, f"the message should name the supported dtypes: {msg}"


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 2**40, -(2**62)])
def test_int64_outside_int32_raises(value):
    e = expect_raises(lambda: fg.tensor(np.array([0, value], np.int64)).to(GPU), (ValueError, OverflowError))
    msg = str(e)
    assert str(value) in msg or "int32" in msg or "2147483647" in msg, (
        f"the message should name the value or the int32 range: {msg}"
    )


def test_int64_int32_edges_round_trip():
    edges = np.array([-(2**31), 2**31 - 1, 0, -1, 12345], np.int64)
    g = fg.tensor(edges).to(GPU)
    assert g.device.type == GPU and g.dtype == fg.int64
    back = g.to("cpu")
    assert back.dtype == fg.int64
    np.testing.assert_array_equal(back.numpy(), edges)
    # An op that moves them on the device keeps them intact.
    np.testing.assert_array_equal(g.flip(0).to("cpu").numpy(), edges[::-1])
