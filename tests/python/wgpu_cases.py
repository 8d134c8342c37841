"""The machinery behind test_wgpu_parity.py: a parity case (inputs, the op, tolerances),
the runner that executes it on the CPU and on wgpu, forward and backward, and the
comparison of the two runs.

A case's inputs are NumPy arrays; each run builds its leaves with ``fg.tensor(a)``
(moved with ``.to("wgpu")`` for the GPU run), marks the float ones as requiring grad,
applies the input's view (a transpose, a stepped slice, a broadcast...) on the device,
and calls the op. The CPU run is the reference: the GPU's outputs must sit on wgpu and
equal the CPU's (exactly for int64/bool, within a tolerance for float32), and so must
the gradients that ``backward`` leaves on the GPU leaves.
"""

import zlib

import numpy as np
import pytest

import ferrograd as fg
from conftest import _fail_on_bug

GPU = "wgpu"

# (rtol, atol) per class of op. GPU kernels may sum in another order and WGSL's
# transcendental builtins are allowed a few ULP more than the CPU's libm.
EXACT = (0.0, 0.0)
TOL = (1e-5, 1e-5)
TRANS = (1e-4, 1e-5)
SUMS = (1e-4, 1e-4)  # reductions, matmul, softmax: order of accumulation differs


class Inp:
    """One input of a case: a NumPy base array, an optional view applied to the tensor
    on its device, and whether it is a leaf that takes a gradient (float32 by default)."""

    def __init__(self, arr, view=None, grad=None):
        self.arr = np.asarray(arr)
        self.view = view
        self.grad = self.arr.dtype == np.float32 if grad is None else grad


class Case:
    """``fn(*tensors)`` on ``inputs``; ``grad`` runs backward with a random upstream
    gradient. ``fn`` may return one tensor or a list of tensors."""

    def __init__(self, id, fn, inputs, grad=True, tol=TOL, grad_tol=None):
        self.id = id
        self.fn = fn
        self.inputs = [i if isinstance(i, Inp) else Inp(i) for i in inputs]
        self.grad = grad and any(i.grad for i in self.inputs)
        self.tol = tol
        self.grad_tol = grad_tol or (max(tol[0], SUMS[0]), max(tol[1], SUMS[1]))

    def __repr__(self):
        return self.id


def case_rng(case_id, salt=0):
    """A generator seeded by the case's id, so that both runs (and reruns) agree."""
    return np.random.default_rng(zlib.crc32(case_id.encode()) + salt)


def on(arr, dev):
    """A tensor holding ``arr`` on ``dev`` (built on the CPU, then moved)."""
    t = fg.tensor(arr)
    return t if dev == "cpu" else t.to(dev)


def _outputs(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def run_case(case, dev):
    """Run a case on one device; return (outputs, gradients of the grad leaves)."""
    leaves, args = [], []
    for inp in case.inputs:
        t = on(inp.arr, dev)
        if case.grad and inp.grad:
            t.requires_grad_()
        leaves.append(t)
        args.append(inp.view(t) if inp.view is not None else t)
    outs = _outputs(case.fn(*args))
    grads = []
    if case.grad:
        rng = case_rng(case.id, salt=1)
        ups = [on(rng.standard_normal(o.shape).astype(np.float32), dev) for o in outs]
        if len(outs) == 1:
            outs[0].backward(ups[0])
        else:
            total = None
            for o, g in zip(outs, ups):
                s = (o * g).sum()
                total = s if total is None else total + s
            total.backward()
        grads = [t.grad for t, inp in zip(leaves, case.inputs) if inp.grad]
    return outs, grads


def assert_same(gpu, cpu, tol, what):
    """``gpu`` (a wgpu tensor) holds what ``cpu`` holds: device, dtype, shape, values."""
    assert cpu is not None, f"{what}: the CPU produced no tensor"
    assert gpu is not None, f"{what}: the GPU run produced None where the CPU has a tensor"
    assert gpu.device.type == GPU, f"{what}: the result is on {gpu.device}, not on the GPU"
    host = gpu.detach().to("cpu")
    assert host.device.type == "cpu"
    assert host.dtype == cpu.dtype, f"{what}: dtype {host.dtype} on the GPU, {cpu.dtype} on the CPU"
    assert tuple(host.shape) == tuple(cpu.shape), (
        f"{what}: shape {tuple(host.shape)} on the GPU, {tuple(cpu.shape)} on the CPU"
    )
    got = np.array(host.numpy(), copy=True)
    ref = np.array(cpu.detach().numpy(), copy=True)
    if ref.dtype.kind in "biu":
        np.testing.assert_array_equal(got, ref, err_msg=what)
    else:
        np.testing.assert_allclose(got, ref, rtol=tol[0], atol=tol[1], equal_nan=True, err_msg=what)


def check_case(case):
    """The parity check itself: run on both devices, compare outputs and gradients.
    An exception from the GPU run fails the test with that exception (a caught Rust
    panic fails it as a bug, whatever its type)."""
    cpu_outs, cpu_grads = run_case(case, "cpu")
    try:
        gpu_outs, gpu_grads = run_case(case, GPU)
    except BaseException as e:  # noqa: BLE001 - PanicException derives from BaseException
        _fail_on_bug(e)
        raise
    assert len(gpu_outs) == len(cpu_outs)
    for i, (g, c) in enumerate(zip(gpu_outs, cpu_outs)):
        assert_same(g, c, case.tol, f"{case.id}: output {i}")
    for i, (g, c) in enumerate(zip(gpu_grads, cpu_grads)):
        if c is None:
            assert g is None, f"{case.id}: input {i} has a GPU grad but no CPU grad"
            continue
        assert_same(g, c, case.grad_tol, f"{case.id}: grad of input {i}")


# ---------------------------------------------------------------------------
# Input layouts. Each maps a logical shape to (base array shape, view): the view of
# the base on the device has the logical shape but another memory layout.
# ---------------------------------------------------------------------------


def _t(shape):
    return tuple(reversed(shape))


LAYOUTS = {
    "contig": lambda s: (s, None),
    "transposed": lambda s: (_t(s), lambda t: t.permute(*reversed(range(t.ndim)))),
    "stepped": lambda s: ((s[0] * 2,) + s[1:], lambda t: t[::2]),
    "negstep": lambda s: (s, lambda t: t[::-1]),
    "expanded": lambda s: (s[1:], lambda t, s=s: t.broadcast_to(s)),
}


def layout_input(rng, layout, shape, gen):
    """An Inp of logical ``shape`` in ``layout``; ``gen(rng, shape)`` makes the base."""
    base_shape, view = LAYOUTS[layout](shape)
    return Inp(gen(rng, base_shape), view)


def uniform(low, high):
    return lambda rng, shape: rng.uniform(low, high, shape).astype(np.float32)


def signed(low, high):
    """Values of either sign with |x| in [low, high] (no zeros: abs, relu, sign have kinks there)."""

    def gen(rng, shape):
        mag = rng.uniform(low, high, shape)
        return (mag * rng.choice([-1.0, 1.0], shape)).astype(np.float32)

    return gen


def small_ints(low=-2, high=3):
    """Integer-valued float32s: comparisons and ties see equal values."""
    return lambda rng, shape: rng.integers(low, high, shape).astype(np.float32)


def bools(rng, shape):
    return rng.random(shape) < 0.5


def int64s(low, high):
    return lambda rng, shape: rng.integers(low, high, shape).astype(np.int64)


def expect_raises(fn, exc):
    """fn() must raise one of ``exc`` (never a Rust panic); return the exception."""
    try:
        fn()
    except BaseException as e:  # noqa: BLE001
        _fail_on_bug(e)
        if not isinstance(e, exc):
            pytest.fail(f"expected {[c.__name__ for c in exc]}, got {type(e).__name__}: {e}")
        return e
    pytest.fail("no exception was raised")
