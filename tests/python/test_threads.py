"""Thread-count control, and results that do not depend on the number of threads.

Every chunked CPU kernel splits its work at boundaries computed from the problem size
alone and combines partial results in chunk order (see src/device/cpu.rs), so its
result is bitwise the same with any thread count. The tests below run each kernel
family with 1, 2 and 3 threads on inputs large enough for several chunks (GRAIN is
32K elements) and compare the bytes of every output, gradients included. Matmul is
checked in each of its three regimes (src/ops/matmul.rs): many small products in
parallel over the batch, mid-sized products split into blocks on the chunk pool, and
large products (>= 512M multiply-adds) that the gemm crate parallelises itself.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F

THREADS = (1, 2, 3)


@pytest.fixture
def restore_threads():
    before = fg.get_num_threads()
    yield before
    fg.set_num_threads(before)


def _with_threads(n, fn):
    fg.set_num_threads(n)
    assert fg.get_num_threads() == n
    return fn()


def _as_arrays(result):
    items = result if isinstance(result, (tuple, list)) else (result,)
    return [x.numpy().copy() if isinstance(x, fg.Tensor) else np.asarray(x) for x in items]


def _same_across_threads(fn):
    """Runs fn with 1, 2 and 3 threads; its outputs must agree to the bit (NaN payloads
    and the sign of zero included). Returns the single-threaded outputs."""
    runs = {n: _as_arrays(_with_threads(n, fn)) for n in THREADS}
    ref = runs[1]
    for n in THREADS[1:]:
        assert len(runs[n]) == len(ref)
        for i, (a, b) in enumerate(zip(ref, runs[n])):
            assert a.dtype == b.dtype and a.shape == b.shape, (n, i)
            assert a.tobytes() == b.tobytes(), f"output {i} differs between 1 and {n} threads"
    return ref


def _rng(seed):
    return np.random.default_rng(seed)


def _leaf(a):
    return fg.tensor(a, requires_grad=True)


def test_get_set_num_threads(restore_threads):
    assert isinstance(restore_threads, int) and restore_threads >= 1
    for n in (1, 2, 3, 1):
        fg.set_num_threads(n)
        assert fg.get_num_threads() == n


def test_sum_bitwise_identical_across_threads(restore_threads):
    x = _rng(7).standard_normal(1 << 22).astype(np.float32)
    t = fg.tensor(x)
    (s,) = _same_across_threads(lambda: fg.sum(t))
    ref = x.astype(np.float64).sum()
    assert abs(float(s) - ref) <= 1e-4 * np.abs(x).astype(np.float64).sum()


def test_elementwise_and_copies_across_threads(restore_threads):
    rng = _rng(9)
    x = rng.uniform(-10, 10, size=(512, 1024)).astype(np.float32)
    y = rng.uniform(0.5, 2, size=(1024,)).astype(np.float32)
    tx, ty = fg.tensor(x), fg.tensor(y)
    out = _same_across_threads(lambda: (
        fg.exp(tx), tx * ty + 1.5, tx ** ty, fg.floor_divide(tx, ty), fg.tanh(tx),
        fg.where(tx > 0, tx, ty), tx.T.contiguous(), tx.astype(fg.float64),
        tx[::3, 1::2] - 2.0,
    ))
    np.testing.assert_allclose(out[0], np.exp(x.astype(np.float64)), rtol=1e-4)
    np.testing.assert_array_equal(out[6], x.T)


def test_reductions_across_threads(restore_threads):
    rng = _rng(11)
    x = rng.standard_normal((256, 4096)).astype(np.float32)
    long_row = rng.standard_normal((2, 1 << 19))  # float64, rows split into chunks
    ints = rng.integers(-1000, 1000, size=(1 << 20,))
    tx, tl, ti = fg.tensor(x), fg.tensor(long_row), fg.tensor(ints)
    out = _same_across_threads(lambda: (
        tx.sum(), tx.sum(axis=0), tx.sum(axis=1), tx.mean(axis=0), tx.var(axis=1),
        tx.std(axis=0, correction=1), tx.max(axis=1), tx.min(axis=0), tx.argmax(axis=1),
        tx.logsumexp(axis=1), (tx * 1e-3 + 1).prod(axis=0), tl.sum(axis=1),
        tl.var(axis=1), ti.sum(), fg.any(tx > 3.0, axis=1),
    ))
    np.testing.assert_allclose(out[1], x.astype(np.float64).sum(axis=0), rtol=1e-4, atol=1e-3)
    assert int(out[13]) == int(ints.sum())


def test_softmax_across_threads(restore_threads):
    x = _rng(12).standard_normal((2048, 300)).astype(np.float32)

    def run():
        t = _leaf(x)
        y = t.softmax(-1)
        z = t.log_softmax(0)
        (y * y).sum().backward()
        return y, z, t.grad

    _same_across_threads(run)


def test_norms_forward_backward_across_threads(restore_threads):
    rng = _rng(13)
    x = rng.standard_normal((64, 32, 40)).astype(np.float32)
    w = rng.standard_normal(40).astype(np.float32)
    cw = rng.standard_normal(32).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    x2 = rng.standard_normal((8192, 48)).astype(np.float32)
    g2 = rng.standard_normal(x2.shape).astype(np.float32)

    def run():
        tx, tw, tcw, tx2 = _leaf(x), _leaf(w), _leaf(cw), _leaf(x2)
        tb = _leaf(np.zeros(32, np.float32))
        rm, rv = fg.zeros((32,)), fg.ones((32,))
        outs = [
            F.layer_norm(tx, (40,), tw, None),
            F.rms_norm(tx, (40,), tw),
            F.group_norm(tx, 4, tcw, tb),
            F.batch_norm(tx, rm, rv, tcw, tb, training=True),
            F.batch_norm(tx2, None, None, training=True),
        ]
        loss = sum(((o * fg.tensor(g if o.ndim == 3 else g2)).sum() for o in outs),
                   fg.tensor(0.0))
        loss.backward()
        return outs + [tx.grad, tw.grad, tcw.grad, tb.grad, tx2.grad, rm, rv]

    _same_across_threads(run)


def test_dropout_across_threads(restore_threads):
    x = _rng(14).standard_normal(1 << 20).astype(np.float32)

    def run():
        fg.manual_seed(1234)
        t = _leaf(x)
        y = F.dropout(t, 0.3, training=True)
        y.sum().backward()
        return y, t.grad

    y, _ = _same_across_threads(run)
    assert 0.25 < float((y == 0).mean()) < 0.35


def test_cross_entropy_across_threads(restore_threads):
    rng = _rng(15)
    x = rng.standard_normal((4096, 100)).astype(np.float32)
    y = rng.integers(0, 100, size=4096)
    y[::7] = -100
    probs = rng.dirichlet(np.ones(100), size=4096).astype(np.float32)
    w = rng.uniform(0.5, 2, size=100).astype(np.float32)

    def run():
        t1, t2 = _leaf(x), _leaf(x)
        a = F.cross_entropy(t1, fg.tensor(y), weight=fg.tensor(w), label_smoothing=0.1)
        b = F.cross_entropy(t2, fg.tensor(probs), reduction="sum")
        (a + b).backward()
        return a, b, t1.grad, t2.grad

    _same_across_threads(run)


def test_optimizer_steps_across_threads(restore_threads):
    rng = _rng(16)
    p0 = rng.standard_normal(1 << 20).astype(np.float32)
    grads = [rng.standard_normal(1 << 20).astype(np.float32) for _ in range(3)]

    def run():
        out = []
        for make in (
            lambda ps: fg.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-2, nesterov=True),
            lambda ps: fg.optim.Adam(ps, lr=1e-2, weight_decay=1e-2, amsgrad=True),
            lambda ps: fg.optim.AdamW(ps, lr=1e-2),
        ):
            p = fg.nn.Parameter(fg.tensor(p0))
            opt = make([p])
            for gr in grads:
                p.grad = fg.tensor(gr)
                opt.step()
            out.append(p.detach())
        return out

    _same_across_threads(run)


def test_random_creation_across_threads(restore_threads):
    def run():
        fg.manual_seed(99)
        return fg.randn((1 << 20,)), fg.rand((1 << 20,)), fg.randint(0, 10, (1 << 20,))

    _same_across_threads(run)


def test_indexing_across_threads(restore_threads):
    rng = _rng(17)
    x = rng.standard_normal((1 << 10, 1 << 9)).astype(np.float32)
    rows = rng.integers(0, 1 << 10, size=1 << 11)
    tx, tr = fg.tensor(x), fg.tensor(rows)
    out = _same_across_threads(lambda: (tx[tr], fg.take(tx, tr), tx[tx > 1.0]))
    np.testing.assert_array_equal(out[0], x[rows])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_small_batched_across_threads(restore_threads, dtype):
    # 48^3 multiply-adds per product: below the parallel threshold, so the batch of 256
    # is split into chunks of products run on the chunk pool.
    rng = _rng(18)
    a = rng.standard_normal((256, 48, 48)).astype(dtype)
    b = rng.standard_normal((256, 48, 48)).astype(dtype)
    (m,) = _same_across_threads(lambda: fg.tensor(a) @ fg.tensor(b))
    np.testing.assert_allclose(m, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_mid_split_across_threads(restore_threads, dtype):
    # 256 * 320 * 192 multiply-adds: one product split into blocks of output columns.
    rng = _rng(10)
    a = rng.standard_normal((256, 320)).astype(dtype)
    b = rng.standard_normal((320, 192)).astype(dtype)
    ta, tb = fg.tensor(a), fg.tensor(b)
    m, mt = _same_across_threads(lambda: (ta @ tb, ta.T.T @ tb.T.contiguous().T))
    np.testing.assert_array_equal(m, mt)
    np.testing.assert_allclose(m, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)


def test_matmul_batched_large_products_across_threads(restore_threads):
    # Several products above the parallel threshold: one at a time, gemm's own threads.
    rng = _rng(19)
    a = rng.standard_normal((4, 128, 160)).astype(np.float32)
    b = rng.standard_normal((4, 160, 144)).astype(np.float32)
    (m,) = _same_across_threads(lambda: fg.tensor(a) @ fg.tensor(b))
    np.testing.assert_allclose(m, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)


def test_matmul_large_gemm_across_threads(restore_threads):
    # 1024^3 = 1G multiply-adds, past SPLIT_FLOPS_BELOW (512M): the large-gemm path,
    # with the right operand relaid out first; forward and both input gradients.
    rng = _rng(20)
    a = rng.standard_normal((1024, 1024)).astype(np.float32)
    b = rng.standard_normal((1024, 1024)).astype(np.float32)

    def run():
        ta, tb = _leaf(a), _leaf(b)
        m = ta @ tb
        m.backward(fg.ones_like(m))
        return m, ta.grad, tb.grad

    m, ga, gb = _same_across_threads(run)
    np.testing.assert_allclose(m, a.astype(np.float64) @ b, rtol=1e-3, atol=1e-2)
    np.testing.assert_allclose(ga, np.broadcast_to(b.astype(np.float64).sum(axis=1), (1024, 1024)),
                               rtol=1e-3, atol=1e-2)


_SUBPROCESS_PROBE = """
import numpy as np, ferrograd as fg
rng = np.random.default_rng(21)
a = fg.tensor(rng.standard_normal((1024, 1024)).astype(np.float32))
x = fg.tensor(rng.standard_normal(1 << 21).astype(np.float32))
print(fg.get_num_threads())
print((a @ a).sum(axis=0).numpy().tobytes().hex()[:4096], fg.sum(x).numpy().tobytes().hex())
"""


def test_rayon_num_threads_env_gives_same_bits():
    # The pools' size can also come from RAYON_NUM_THREADS at import.
    outs = {}
    for n in ("1", "3"):
        env = dict(os.environ, RAYON_NUM_THREADS=n)
        r = subprocess.run([sys.executable, "-c", _SUBPROCESS_PROBE], env=env,
                           capture_output=True, text=True, check=True, timeout=120)
        count, bits = r.stdout.split("\n", 1)
        assert count.strip() == n
        outs[n] = bits
    assert outs["1"] == outs["3"]


def test_results_correct_with_one_thread(restore_threads):
    fg.set_num_threads(1)
    x = np.arange(100_000, dtype=np.float64)
    t = fg.tensor(x)
    assert fg.sum(t).item() == x.sum()
    assert_vals = (t * 2.0).numpy()
    np.testing.assert_array_equal(assert_vals, x * 2.0)


def test_rayon_num_threads_env_is_respected():
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", "import ferrograd as fg; print(fg.get_num_threads())"],
        env=env, capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == "1"
