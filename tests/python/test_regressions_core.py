"""Regression tests for issue 10's items 1-4: mixed-dtype matmul reading the wrong memory,
the gradient of x**0 at 0, autograd across devices, and panics hidden behind RuntimeError.

Each of these failed (or crashed the process) on the main before the fix."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ferrograd as fg
from conftest import assert_close, raises_cleanly

DTYPES = [np.float32, np.float64, np.int64, np.bool_]


def _views(a):
    """(name, fg view, numpy view) of the same data: the layouts a kernel must honour."""
    t = fg.tensor(a)
    return [
        ("contiguous", t, a),
        ("transposed", t.T, a.T),
        ("offset", t[1:], a[1:]),
        ("stepped", t[::2], a[::2]),
        ("flipped", t.flip(0), a[::-1]),
        ("flipped-cols", t.flip(1), a[:, ::-1]),
    ]


def _data(rng, shape, dt):
    if dt == np.bool_:
        return rng.random(shape) < 0.5
    if dt == np.int64:
        return rng.integers(-3, 4, shape).astype(np.int64)
    return rng.standard_normal(shape).astype(dt)


@pytest.mark.parametrize("da", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("db", DTYPES, ids=lambda d: np.dtype(d).name)
def test_matmul_every_dtype_pair_and_layout(rng, da, db):
    a = _data(rng, (6, 6), da)
    b = _data(rng, (6, 6), db)
    if da == np.bool_ and db == np.bool_:
        raises_cleanly(lambda: fg.tensor(a) @ fg.tensor(b), exc=(TypeError,))
        return
    for na, ta, xa in _views(a):
        for nb, tb, xb in _views(b):
            # float64 reference of the exact product, then compared in the result dtype
            want = xa[:, : xb.shape[0]].astype(np.float64) @ xb.astype(np.float64)
            got = ta[:, : xb.shape[0]] @ tb
            assert got.shape == want.shape, (na, nb)
            tol = 1e-5 if np.float32 in (da, db) else 1e-12
            assert_close(got.to(fg.float64), want, rtol=tol, atol=tol)


def test_matmul_mixed_dtype_transposed_small(rng):
    a32 = rng.standard_normal((4, 4)).astype(np.float32)
    b64 = rng.standard_normal((4, 4))
    got = fg.tensor(a32).T @ fg.tensor(b64)
    assert got.dtype == np.float64
    assert_close(got, a32.T.astype(np.float64) @ b64, rtol=1e-6, atol=1e-6)
    got = fg.tensor(a32)[1:] @ fg.tensor(b64)
    assert_close(got, a32[1:].astype(np.float64) @ b64, rtol=1e-6, atol=1e-6)


def test_matmul_mixed_dtype_large_strided_does_not_crash():
    # Crashed the process (gemm read past its buffer): run it in a child process.
    code = textwrap.dedent(
        """
        import ferrograd as fg
        r = fg.ones((2000, 256))[::2] @ fg.eye(256, dtype=fg.float64)
        assert r.shape == (1000, 256) and r.dtype == fg.float64, r
        assert float(r.sum()) == 256000.0
        r = fg.arange(12.0).reshape(3, 4).flip(0) @ fg.eye(4, dtype=fg.float64)
        assert r.numpy().tolist() == [[8, 9, 10, 11], [4, 5, 6, 7], [0, 1, 2, 3]], r
        print("ok")
        """
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr


@pytest.mark.parametrize("db", [np.float64, np.int64], ids=["float64", "int64"])
def test_matmul_mixed_dtype_backward(rng, db):
    a = rng.standard_normal((5, 3)).astype(np.float32)
    b = _data(rng, (5, 4), db)
    x = fg.tensor(a, requires_grad=True)
    y = x.T @ fg.tensor(b)  # (3, 5) view of a float32 leaf times a promoted operand
    assert_close(y.to(fg.float64), a.T.astype(np.float64) @ b, rtol=1e-6, atol=1e-6, check_dtype=False)
    w = rng.standard_normal(y.shape)
    (y * fg.tensor(w)).sum().backward()
    # d/dx sum(w * (x.T @ b)) = (w @ b.T).T = b @ w.T
    assert x.grad.dtype == np.float32
    assert_close(x.grad, (b.astype(np.float64) @ w.T).astype(np.float32), rtol=1e-5, atol=1e-5)


def test_pow_zero_exponent_gradient_at_zero():
    x = fg.tensor([0.0, 1.0, -2.0], dtype=fg.float64, requires_grad=True)
    (x**0).sum().backward()
    assert x.grad.numpy().tolist() == [0.0, 0.0, 0.0]
    # A tensor exponent that is 0 only in some places: the others keep b a^(b-1).
    x = fg.tensor([0.0, 0.0, 3.0], dtype=fg.float64, requires_grad=True)
    b = fg.tensor([0.0, 2.0, 0.0], dtype=fg.float64)
    (x**b).sum().backward()
    assert x.grad.numpy().tolist() == [0.0, 0.0, 0.0]
    x = fg.tensor([2.0], dtype=fg.float64, requires_grad=True)
    (x ** fg.tensor([3.0], dtype=fg.float64)).sum().backward()
    assert x.grad.numpy().tolist() == [12.0]


def test_pow_zero_exponent_gradient_stays_differentiable():
    x = fg.tensor([0.5, 2.0], dtype=fg.float64, requires_grad=True)
    fg.autograd.gradcheck(lambda t: t ** fg.tensor([0.0, 2.0], dtype=fg.float64), x)
    fg.autograd.gradgradcheck(lambda t: t ** fg.tensor([0.0, 2.0], dtype=fg.float64), x)


def test_internal_error_is_its_own_runtime_error_class():
    assert issubclass(fg.InternalError, RuntimeError)
    assert fg.InternalError is not RuntimeError
    assert isinstance(fg._core._internal_error_count(), int)


@pytest.mark.expects_internal_error
def test_a_caught_panic_is_an_internal_error_and_is_counted():
    before = fg._core._internal_error_count()
    with pytest.raises(fg.InternalError, match="deliberate panic"):
        fg._core._panic_for_testing()
    assert fg._core._internal_error_count() == before + 1


def test_the_helpers_reject_an_internal_error():
    # raises_cleanly accepts RuntimeError, but not its InternalError subclass.
    from conftest import _fail_on_bug

    with pytest.raises(pytest.fail.Exception, match="internal error"):
        _fail_on_bug(fg.InternalError("boom"))
    _fail_on_bug(RuntimeError("a clean error"))  # passes through


@pytest.mark.parametrize(
    "graph",
    [lambda x: x * 2, lambda x: x.sum(), lambda x: x.reshape(2, 1), lambda x: x[0:2]],
    ids=["mul", "sum", "reshape", "getitem"],
)
def test_gradient_on_another_device_is_a_clean_error(graph):
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    y = graph(x)
    try:
        g = fg.ones(y.shape).to("wgpu")
    except RuntimeError:
        pytest.skip("no wgpu adapter")
    # Before: sum's and reshape's backward accepted it and left a GPU gradient on a
    # CPU leaf.
    e = raises_cleanly(lambda: y.backward(g), exc=(RuntimeError,))
    assert "device" in str(e)
    assert x.grad is None


def test_cross_entropy_targets_on_another_device_are_a_clean_error():
    import ferrograd.nn.functional as F

    logits = fg.randn((3, 4))
    try:
        probs = fg.rand((3, 4)).to("wgpu")
    except RuntimeError:
        pytest.skip("no wgpu adapter")
    e = raises_cleanly(lambda: F.cross_entropy(logits, probs), exc=(RuntimeError,))
    assert "device" in str(e)
    weight = fg.ones((4,)).to("wgpu")
    e = raises_cleanly(
        lambda: F.cross_entropy(logits, fg.tensor([0, 1, 2]), weight=weight), exc=(RuntimeError,)
    )
    assert "device" in str(e)


def test_backward_of_a_gpu_scalar_seeds_on_the_gpu(rng):
    a = rng.standard_normal(5).astype(np.float32)
    x = fg.tensor(a, requires_grad=True)
    try:
        g = x.to("wgpu")
    except RuntimeError:
        pytest.skip("no wgpu adapter")
    (g * g).sum().backward()
    assert_close(x.grad, 2 * a, rtol=1e-5, atol=1e-6)
    # matmul's backward runs on the GPU too (README), with the CPU's values.
    w = rng.standard_normal((5, 3)).astype(np.float32)
    xw = fg.tensor(w, requires_grad=True)
    (g.detach() @ xw.to("wgpu")).sum().backward()
    assert_close(xw.grad, np.repeat(a[:, None], 3, axis=1), rtol=1e-5, atol=1e-5)
    # relu's backward (a comparison and a where) runs on the GPU too.
    h = fg.tensor(a, requires_grad=True)
    h.to("wgpu").relu().sum().backward()
    assert_close(h.grad, (a > 0).astype(np.float32), rtol=0)
