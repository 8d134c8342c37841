"""NumPy interop, the Array API namespace and DLPack."""

import numpy as np
import pytest

import ferrograd as fg
from conftest import assert_close


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_numpy_roundtrip(dtype, rng):
    a = (rng.standard_normal((3, 4)) * 3).astype(dtype)
    t = fg.tensor(a)
    n = t.numpy()
    assert n.dtype == dtype
    np.testing.assert_array_equal(n, a)
    np.testing.assert_array_equal(np.asarray(t), a)
    assert_close(fg.tensor(n), a)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_np_asarray_shares_memory(dtype):
    t = fg.tensor(np.arange(12).reshape(3, 4).astype(dtype))
    assert np.shares_memory(np.asarray(t), t.numpy())
    arr = np.asarray(t)
    arr[2, 3] = 100
    assert t[2, 3].item() == 100
    assert t.numpy()[2, 3] == 100


def test_numpy_of_view_values(rng):
    a = rng.standard_normal((4, 6))
    t = fg.tensor(a)
    np.testing.assert_array_equal(t.T.numpy(), a.T)
    np.testing.assert_array_equal(t[1:, ::-2].numpy(), a[1:, ::-2])
    np.testing.assert_array_equal(np.asarray(t[:, 1::3]), a[:, 1::3])
    np.testing.assert_array_equal(fg.broadcast_to(t[0], (3, 6)).numpy(), np.broadcast_to(a[0], (3, 6)))


def test_numpy_ufunc_on_tensor_via_asarray(rng):
    a = rng.standard_normal((3, 3)).astype(np.float32)
    t = fg.tensor(a)
    np.testing.assert_allclose(np.sin(np.asarray(t)), np.sin(a))
    assert np.asarray(t).shape == (3, 3)


def test_from_numpy_shares_memory_writes(rng):
    a = rng.standard_normal((5,)).astype(np.float32)
    t = fg.from_numpy(a)
    assert np.shares_memory(t.numpy(), a)
    a[:] = 2.0
    assert t.tolist() == [2.0] * 5
    t[4] = 5.0
    assert a[4] == 5.0
    t[...] = fg.zeros(5)
    assert np.all(a == 0)


def test_asarray_shares_contiguous_float32(rng):
    a = rng.standard_normal((4, 4)).astype(np.float32)
    t = fg.asarray(a)
    assert np.shares_memory(t.numpy(), a)
    b = fg.asarray(a, dtype=fg.float64)
    assert b.dtype == np.float64
    assert not np.shares_memory(b.numpy(), a)
    assert_close(b, a.astype(np.float64))


def test_asarray_noncontiguous_input_values(rng):
    a = rng.standard_normal((4, 6)).astype(np.float32)
    assert_close(fg.asarray(a[:, ::2]), a[:, ::2])
    assert_close(fg.asarray(a.T), a.T)
    assert_close(fg.tensor(a[::-1]), a[::-1])


def test_array_namespace_and_version():
    t = fg.zeros(3)
    xp = t.__array_namespace__()
    assert xp is fg
    assert isinstance(fg.__array_api_version__, str)
    # the namespace can be used generically
    out = xp.sum(xp.ones((2, 3)), axis=1)
    assert out.tolist() == [3.0, 3.0]


def test_tensor_plus_ndarray_gives_tensor(rng):
    a = rng.standard_normal((2, 3)).astype(np.float32)
    b = rng.standard_normal((3,)).astype(np.float32)
    t = fg.tensor(a)
    out = t + b
    assert type(out) is type(t)
    assert_close(out, a + b)
    out = t * a
    assert type(out) is type(t)
    assert_close(out, a * a)


# ---------------------------------------------------------------------------
# DLPack
# ---------------------------------------------------------------------------


def test_dlpack_device():
    assert fg.ones(3).__dlpack_device__() == (1, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_np_from_dlpack_no_copy(dtype):
    t = fg.tensor(np.arange(6).reshape(2, 3).astype(dtype))
    n = np.from_dlpack(t)
    assert n.dtype == dtype
    np.testing.assert_array_equal(n, np.arange(6).reshape(2, 3).astype(dtype))
    assert np.shares_memory(n, t.numpy())


def test_np_from_dlpack_write_visible():
    t = fg.zeros((2, 2))
    n = np.from_dlpack(t)
    if not n.flags.writeable:
        # NumPy marks DLPack imports read-only unless the exporter says otherwise;
        # then check the other direction only.
        t[0, 1] = 3.0
        assert n[0, 1] == 3.0
    else:
        n[0, 1] = 3.0
        assert t[0, 1].item() == 3.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_fg_from_dlpack_no_copy(dtype):
    a = np.arange(12).reshape(3, 4).astype(dtype)
    t = fg.from_dlpack(a)
    assert t.dtype == dtype
    assert t.shape == (3, 4)
    assert_close(t, a)
    assert np.shares_memory(t.numpy(), a)
    a[1, 1] = 77
    assert t[1, 1].item() == 77


def test_dlpack_transposed_roundtrip(rng):
    a = rng.standard_normal((3, 5)).astype(np.float32)
    t = fg.tensor(a)
    n = np.from_dlpack(t.T)
    assert n.shape == (5, 3)
    np.testing.assert_array_equal(n, a.T)
    back = fg.from_dlpack(np.from_dlpack(t.T))
    assert_close(back, a.T)
    u = fg.from_dlpack(a.T)
    assert_close(u, a.T)
    s = fg.from_dlpack(a[:, ::2])
    assert_close(s, a[:, ::2])
    np.testing.assert_array_equal(np.from_dlpack(t[:, 1::2]), a[:, 1::2])


def test_dlpack_between_fg_tensors(rng):
    a = rng.standard_normal((2, 3))
    t = fg.tensor(a)
    u = fg.from_dlpack(t)
    assert_close(u, a)
    assert np.shares_memory(u.numpy(), t.numpy())


def test_dlpack_zero_size_and_0d():
    n = np.from_dlpack(fg.zeros((0, 3)))
    assert n.shape == (0, 3)
    s = np.from_dlpack(fg.tensor(2.5))
    assert s.shape == () and s[()] == 2.5
    assert fg.from_dlpack(np.zeros((2, 0))).shape == (2, 0)
