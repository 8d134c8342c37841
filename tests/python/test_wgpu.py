"""The GPU (wgpu) slice. Skipped, with the adapter error as the reason, where
``fg.device("wgpu")`` raises RuntimeError (no adapter, or a build without wgpu)."""

import numpy as np
import pytest

import ferrograd as fg
from conftest import assert_close, raises_cleanly

TOL = dict(rtol=1e-4, atol=1e-4)


pytestmark = pytest.mark.usefixtures("wgpu_device")


def _on_gpu(t):
    return str(t.device).startswith("wgpu")


def _cpu_numpy(t):
    assert _on_gpu(t), f"result left the GPU: {t.device}"
    c = t.to("cpu")
    assert str(c.device) == "cpu"
    return c.numpy()


def test_to_and_back(rng):
    a = rng.standard_normal((3, 5)).astype(np.float32)
    g = fg.tensor(a).to("wgpu")
    assert _on_gpu(g)
    assert g.shape == (3, 5)
    assert g.dtype == np.float32
    back = g.to("cpu")
    assert str(back.device) == "cpu"
    assert_close(back, a, rtol=0)


def test_to_device_object(wgpu_device, rng):
    a = rng.standard_normal((4,)).astype(np.float32)
    g = fg.tensor(a).to(wgpu_device)
    assert _on_gpu(g)
    assert_close(g.to("cpu"), a, rtol=0)


@pytest.mark.parametrize("shape", [(7,), (33, 17), (4, 64, 9), (1 << 16,)])
def test_add_mul(shape, rng):
    a = rng.standard_normal(shape).astype(np.float32)
    b = rng.standard_normal(shape).astype(np.float32)
    ga, gb = fg.tensor(a).to("wgpu"), fg.tensor(b).to("wgpu")
    cpu_add = (fg.tensor(a) + fg.tensor(b)).numpy()
    cpu_mul = (fg.tensor(a) * fg.tensor(b)).numpy()
    np.testing.assert_allclose(_cpu_numpy(ga + gb), cpu_add, **TOL)
    np.testing.assert_allclose(_cpu_numpy(ga * gb), cpu_mul, **TOL)
    np.testing.assert_allclose(_cpu_numpy(ga + gb), a + b, **TOL)


def test_relu(rng):
    a = rng.standard_normal((50, 30)).astype(np.float32)
    g = fg.relu(fg.tensor(a).to("wgpu"))
    np.testing.assert_allclose(_cpu_numpy(g), fg.relu(fg.tensor(a)).numpy(), **TOL)
    np.testing.assert_allclose(_cpu_numpy(g), np.maximum(a, 0), **TOL)


@pytest.mark.parametrize("shape", [(1000,), (64, 100), (1 << 20,)])
def test_sum_all(shape, rng):
    a = rng.random(shape).astype(np.float32)
    g = fg.tensor(a).to("wgpu")
    s = fg.sum(g)
    cpu = fg.sum(fg.tensor(a)).item()
    got = float(_cpu_numpy(s))
    np.testing.assert_allclose(got, cpu, rtol=1e-4)
    np.testing.assert_allclose(got, a.astype(np.float64).sum(), rtol=1e-4)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_sum_axis(axis, rng):
    a = rng.random((37, 129)).astype(np.float32)
    g = fg.tensor(a).to("wgpu")
    s = fg.sum(g, axis=axis)
    np.testing.assert_allclose(_cpu_numpy(s), fg.sum(fg.tensor(a), axis=axis).numpy(), **TOL)
    np.testing.assert_allclose(_cpu_numpy(s), a.astype(np.float64).sum(axis=axis), **TOL)


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (16, 16, 16), (33, 65, 17), (128, 256, 64)])
def test_matmul(m, k, n, rng):
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    g = fg.tensor(a).to("wgpu") @ fg.tensor(b).to("wgpu")
    assert g.shape == (m, n)
    np.testing.assert_allclose(_cpu_numpy(g), (fg.tensor(a) @ fg.tensor(b)).numpy(), **TOL)
    np.testing.assert_allclose(_cpu_numpy(g), a.astype(np.float64) @ b.astype(np.float64), **TOL)


def test_chained_ops_stay_on_gpu(rng):
    a = rng.standard_normal((8, 8)).astype(np.float32)
    g = fg.tensor(a).to("wgpu")
    h = fg.relu(g * g + g) @ g
    assert _on_gpu(h)
    s = fg.sum(h)
    assert _on_gpu(s)
    ref = np.maximum(a * a + a, 0) @ a
    np.testing.assert_allclose(_cpu_numpy(h), ref, **TOL)
    np.testing.assert_allclose(float(_cpu_numpy(s)), ref.astype(np.float64).sum(), rtol=1e-4, atol=1e-3)


def test_numpy_of_gpu_tensor_raises():
    g = fg.ones((2, 2)).to("wgpu")
    raises_cleanly(g.numpy, exc=(TypeError,))


def test_float64_to_gpu_raises():
    raises_cleanly(fg.ones((2,), dtype=fg.float64).to, "wgpu", exc=(TypeError, RuntimeError))
