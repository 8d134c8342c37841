"""Indexing on wgpu beyond the parity cases: advanced keys of every shape against the
CPU (values and gradients), deterministic scatter-add with many repeated indices,
index checks (host indices at once, GPU indices at the next read), masks and nonzero,
one_hot's errors, devices, and host transfers.

Skipped as a whole where ``fg.device("wgpu")`` raises RuntimeError."""

import numpy as np
import pytest

import ferrograd as fg
from wgpu_cases import GPU, Case, Inp, check_case, expect_raises, on


pytestmark = pytest.mark.usefixtures("wgpu_device")


R = np.random.default_rng(4242)


def _x(*shape):
    return R.uniform(-2, 2, shape).astype(np.float32)


def _i(*values_or_array):
    return Inp(np.asarray(values_or_array[0], dtype=np.int64))


KEYS = [
    Case("two_arrays_slice", lambda x, i, j: x[i, :, j], [_x(4, 3, 5), _i([0, 3, 3]), _i([4, 4, 1])]),
    Case("adjacent_after_slice", lambda x, i, j: x[:, i, j], [_x(4, 3, 5), _i([[0], [2]]), _i([1, 4, 4])]),
    Case("int_and_array", lambda x, i: x[1, :, i], [_x(4, 3, 5), _i([0, 0, 2])]),
    Case("array_step_slice", lambda x, i: x[i, ::-2], [_x(6, 5), _i([5, 5, 0, 1])]),
    Case("three_arrays", lambda x, i, j, k: x[i, j, k], [_x(3, 4, 5), _i([2, 2]), _i([[3], [3]]), _i([4, 0])]),
    Case("array_on_broadcast", lambda x, i: x.broadcast_to((4, 3, 5))[i], [_x(3, 5), _i([3, 0, 0])]),
    Case("ellipsis_array", lambda x, i: x[..., i], [_x(2, 3, 4), _i([3, 3, -4])]),
    Case("mask_3d_rows", lambda x, m: x[m], [_x(3, 4, 2), Inp(R.random((3, 4)) < 0.5)]),
    Case("mask_then_slice", lambda x, m: x[m, 1:], [_x(6, 5), Inp(R.random(6) < 0.5)]),
    Case("mask_all_false", lambda x, m: x[m], [_x(4, 2), Inp(np.zeros(4, bool))]),
    Case("bool_scalar", lambda x: x[True], [_x(3, 2)]),
    Case("list_with_slice", lambda x: x[[2, 0, 2], 1:3], [_x(4, 5)]),
    # Many repeats of few rows: the scatter-add sums long runs (not a power of two).
    Case("dups_heavy", lambda x, i: x[i], [_x(7, 3), _i(R.integers(0, 7, 1000))]),
    Case("take_along_bcast", lambda x, i: fg.take_along_axis(x, i, 1), [_x(1, 6), _i(R.integers(-6, 6, (4, 3)))]),
    Case("take_flat_2d", lambda x, i: x.take(i, None), [_x(3, 4), _i(R.integers(0, 12, (2, 5)))]),
]


@pytest.mark.parametrize("case", KEYS, ids=[c.id for c in KEYS])
def test_advanced_keys_match_cpu(case):
    check_case(case)


def _set_dups(y, i, v):
    y[i] = v
    return y


SETS = [
    # Repeated positions keep the last write, as on the CPU.
    Case("put_dups", lambda a, v, i: _set_dups(a * 1.0, i, v), [_x(5, 3), _x(6, 3), _i([4, 1, 4, 4, 0, 1])]),
    Case("put_two_arrays", lambda a, v, i, j: _set_dups(a * 1.0, (i, j), v), [_x(4, 5), _x(3), _i([0, 3, 0]), _i([2, 2, 2])]),
    Case("put_cols_broadcast", lambda a, v, i: _set_dups(a * 1.0, (slice(None), i), v), [_x(4, 5), _x(4, 1), _i([4, 0])]),
    Case("put_int64", lambda a, v, i: _set_dups(a.clone(), i, v), [_i(R.integers(-5, 5, (6,))), _i([7, 8, 9]), _i([5, 5, 2])], grad=False),
    Case("put_bool", lambda a, i: _set_dups(a.clone(), i, True), [Inp(R.random(5) < 0.5), _i([0, 3])], grad=False),
]


@pytest.mark.parametrize("case", SETS, ids=[c.id for c in SETS])
def test_setitem_arrays_match_cpu(case):
    check_case(case)


def test_scatter_add_bitwise_equal_and_repeatable():
    """The backward of x[i] sums repeated rows in index order: bitwise the CPU's sums,
    and the same bits on every run."""
    x = _x(9, 4)
    idx = R.integers(0, 9, 3000).astype(np.int64)
    up = R.standard_normal((3000, 4)).astype(np.float32) * 1e3
    grads = {}
    for dev in ("cpu", GPU, GPU):
        t = on(x, dev).requires_grad_()
        t[on(idx, dev)].backward(on(up, dev))
        g = np.array(t.grad.to("cpu").numpy(), copy=True)
        grads.setdefault(dev, []).append(g)
    np.testing.assert_array_equal(grads[GPU][0].view(np.uint32), grads["cpu"][0].view(np.uint32))
    np.testing.assert_array_equal(grads[GPU][1].view(np.uint32), grads[GPU][0].view(np.uint32))


def test_host_index_out_of_range_raises_at_once():
    g = on(_x(4, 3), GPU)
    e = expect_raises(lambda: g[[0, 4]], (IndexError,))
    assert "4" in str(e) and "size 4" in str(e), str(e)
    e = expect_raises(lambda: g[:, np.array([-4], np.int64)], (IndexError,))
    assert "-4" in str(e), str(e)


def test_gpu_index_out_of_range_raises_at_next_read():
    x = _x(4, 3)
    g = on(x, GPU)
    bad = on(np.array([1, 9], np.int64), GPU)
    y = g[bad]  # no wait for the GPU here: the kernel reports through a flag
    e = expect_raises(lambda: y.to("cpu"), (IndexError,))
    assert "out of bounds" in str(e), str(e)
    # Reported once: the flag is cleared, and good reads work again.
    good = g[on(np.array([3, -4], np.int64), GPU)]
    np.testing.assert_array_equal(good.to("cpu").numpy(), x[[3, 0]])
    # The same for a scatter (the backward of take_along_axis, say).
    z = on(np.zeros((2, 3), np.float32), GPU)
    z[on(np.array([0, -3], np.int64), GPU)] = 1.0
    expect_raises(lambda: z.sum().item(), (IndexError,))


def test_gpu_index_on_cpu_tensor_raises():
    c = on(_x(4, 3), "cpu")
    gi = on(np.array([0, 1], np.int64), GPU)
    e = expect_raises(lambda: c[gi], (RuntimeError,))
    assert "cpu" in str(e).lower() and "wgpu" in str(e).lower(), str(e)


def test_index_transfers():
    """GPU indices: forward and backward of getitem and take_along_axis never cross to
    the host. Host indices cross once per use (an upload of what the user gave)."""
    core = fg._core
    if not hasattr(core, "_wgpu_stats"):
        pytest.fail("fg._core._wgpu_stats is missing")

    def stats():
        s = core._wgpu_stats()
        return s["uploads"], s["readbacks"]

    x = on(_x(6, 5), GPU).requires_grad_()
    i = on(np.array([5, 0, 0, 2], np.int64), GPU)
    j = on(R.integers(0, 5, (6, 2)).astype(np.int64), GPU)
    before = stats()
    y = x[i, 1:].sum() + fg.take_along_axis(x, j, 1).sum() + x[i, i.clip(0, 4)].sum()
    y.backward()
    assert stats() == before
    up, rb = stats()
    x[[1, 2]].sum()
    assert stats() == (up + 1, rb)


@pytest.mark.parametrize(
    "arr",
    [
        np.array([[0.0, 1.5, np.nan], [0.0, 0.0, -2.0]], np.float32),
        R.integers(-1, 2, (3, 4, 2)).astype(np.int64),
        R.random((5, 7)) < 0.3,
        np.zeros((0, 3), np.float32),
        np.array(2.0, np.float32),
        np.array(0, np.int64),
    ],
    ids=["float_nan", "int64_3d", "bool", "empty", "0d", "0d_zero"],
)
def test_nonzero_matches_cpu(arr):
    cpu = fg.tensor(arr).nonzero()
    gpu = on(arr, GPU).nonzero()
    assert len(gpu) == len(cpu)
    for g, c in zip(gpu, cpu):
        assert g.device.type == GPU and g.dtype == fg.int64
        np.testing.assert_array_equal(g.to("cpu").numpy(), c.numpy())


def test_nonzero_of_strided_view():
    a = R.random((6, 8)) < 0.5
    cpu = fg.tensor(a)[::2, ::-3].T.nonzero()
    gpu = on(a, GPU)[::2, ::-3].T.nonzero()
    for g, c in zip(gpu, cpu):
        np.testing.assert_array_equal(g.to("cpu").numpy(), c.numpy())


@pytest.mark.parametrize(
    "values,classes",
    [([0, -1], 3), ([0, 3], 3), ([-2], None)],
    ids=["negative", "too_large", "negative_inferred"],
)
def test_one_hot_errors_match_cpu(values, classes):
    a = np.array(values, np.int64)
    args = () if classes is None else (classes,)
    ec = expect_raises(lambda: fg.one_hot(on(a, "cpu"), *args), (ValueError,))
    eg = expect_raises(lambda: fg.one_hot(on(a, GPU), *args), (ValueError,))
    assert str(eg) == str(ec)


def test_one_hot_empty_and_strided():
    for dev in ("cpu", GPU):
        e = fg.one_hot(on(np.zeros((0,), np.int64), dev))
        assert tuple(e.shape) == (0, 0)
    a = R.integers(0, 4, (3, 6)).astype(np.int64)
    ref = fg.one_hot(fg.tensor(a).T[::2], 5).numpy()
    got = fg.one_hot(on(a, GPU).T[::2], 5)
    assert got.device.type == GPU and got.dtype == fg.int64
    np.testing.assert_array_equal(got.to("cpu").numpy(), ref)


@pytest.fixture
def small_grid():
    fg._core._wgpu_set_grid_limit(8)
    try:
        yield
    finally:
        fg._core._wgpu_set_grid_limit(0)


def test_scatter_sort_and_nonzero_on_2d_grid(small_grid):
    """Past 8 workgroups per dimension every launch here spills into y."""
    x = _x(30, 3)
    idx = R.integers(0, 30, 3000).astype(np.int64)
    mask = R.random(3000) < 0.5
    res = {}
    for dev in ("cpu", GPU):
        t = on(x, dev).requires_grad_()
        t[on(idx, dev)].sum().backward()
        res[dev] = (t.grad.to("cpu").numpy(), on(mask, dev).nonzero()[0].to("cpu").numpy())
    np.testing.assert_allclose(res[GPU][0], res["cpu"][0], rtol=1e-5)
    np.testing.assert_array_equal(res[GPU][1], res["cpu"][1])
