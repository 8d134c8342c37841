"""The Array API functions on wgpu: results stay on the device and equal the CPU's;
gradients flow on the device. Skipped as a whole where ``fg.device("wgpu")`` raises
RuntimeError."""

import numpy as np
import pytest

import ferrograd as fg

pytestmark = pytest.mark.usefixtures("wgpu_device")

R = np.random.default_rng(11)
A = (R.permutation(24).reshape(4, 6) * 0.5 - 3.0).astype(np.float32)
A[1, 2] = A[3, 4] = A[0, 0]  # ties

CASES = {
    "sort": lambda x: fg.sort(x, axis=0, descending=True),
    "argsort": lambda x: fg.argsort(x),
    "unique_values": lambda x: fg.unique_all(x).values,
    "unique_inverse": lambda x: fg.unique_all(x).inverse_indices,
    "cumulative_sum": lambda x: fg.cumulative_sum(x, axis=1, include_initial=True),
    "cumulative_prod": lambda x: fg.cumulative_prod(x * 0.5, axis=0),
    "roll": lambda x: fg.roll(x, (1, -2), axis=(0, 1)),
    "repeat": lambda x: fg.repeat(x, fg.tensor([1, 0, 2, 1]), axis=0),
    "tile": lambda x: fg.tile(x, (2, 1)),
    "moveaxis": lambda x: fg.moveaxis(x, 0, 1),
    "tril": lambda x: fg.tril(x, k=1),
    "diff": lambda x: fg.diff(x, n=2),
    "count_nonzero": lambda x: fg.count_nonzero(x > 0, axis=1),
    "searchsorted": lambda x: fg.searchsorted(fg.sort(x.reshape(-1)), x),
    "meshgrid": lambda x: fg.meshgrid(x[0], x[1])[1],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_cpu_and_stays_on_device(name, wgpu_device):
    fn = CASES[name]
    cpu = fn(fg.asarray(A))
    gpu = fn(fg.asarray(A, device=wgpu_device))
    assert gpu.device == wgpu_device and gpu.dtype == cpu.dtype and gpu.shape == cpu.shape
    np.testing.assert_allclose(gpu.to("cpu").numpy(), cpu.numpy(), rtol=1e-6)


def test_sort_and_cumulative_sum_gradients_on_device(wgpu_device):
    x = fg.asarray(A, device=wgpu_device).requires_grad_()
    (fg.sort(x, axis=1) * fg.arange(6, device=wgpu_device)).sum().backward()
    xc = fg.asarray(A).requires_grad_()
    (fg.sort(xc, axis=1) * fg.arange(6)).sum().backward()
    np.testing.assert_array_equal(x.grad.to("cpu").numpy(), xc.grad.numpy())
    y = fg.asarray(A, device=wgpu_device).requires_grad_()
    fg.cumulative_sum(y, axis=1).sum().backward()
    np.testing.assert_array_equal(y.grad.to("cpu").numpy(), np.tile(np.arange(6, 0, -1), (4, 1)))


def test_namespace_info_for_the_device(wgpu_device):
    info = fg.__array_namespace_info__()
    assert wgpu_device in info.devices()
    names = info.dtypes(device=wgpu_device)
    assert "float32" in names and "float64" not in names
    assert not fg.can_cast(fg.zeros((1,), device=wgpu_device), fg.float64)
    assert fg.can_cast(fg.float32, fg.float64)
