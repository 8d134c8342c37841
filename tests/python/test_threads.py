"""Thread-count control, and results that do not depend on the number of threads."""

import numpy as np
import pytest

import ferrograd as fg


@pytest.fixture
def restore_threads():
    before = fg.get_num_threads()
    yield before
    fg.set_num_threads(before)


def _with_threads(n, fn):
    fg.set_num_threads(n)
    assert fg.get_num_threads() == n
    return fn()


def test_get_set_num_threads(restore_threads):
    assert isinstance(restore_threads, int) and restore_threads >= 1
    for n in (1, 2, 3, 1):
        fg.set_num_threads(n)
        assert fg.get_num_threads() == n


def test_sum_bitwise_identical_across_threads(restore_threads):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(1 << 22).astype(np.float32)
    t = fg.tensor(x)
    s1 = _with_threads(1, lambda: fg.sum(t).item())
    s2 = _with_threads(2, lambda: fg.sum(t).item())
    s1b = _with_threads(1, lambda: fg.sum(t).item())
    assert s1 == s2, (s1, s2)
    assert s1 == s1b
    ref = x.astype(np.float64).sum()
    assert abs(s1 - ref) <= 1e-4 * np.abs(x).astype(np.float64).sum()


def test_exp_bitwise_identical_across_threads(restore_threads):
    rng = np.random.default_rng(9)
    x = rng.uniform(-10, 10, size=1 << 22).astype(np.float32)
    t = fg.tensor(x)
    e1 = _with_threads(1, lambda: fg.exp(t).numpy().copy())
    e2 = _with_threads(2, lambda: fg.exp(t).numpy().copy())
    np.testing.assert_array_equal(e1, e2)
    np.testing.assert_allclose(e1, np.exp(x.astype(np.float64)), rtol=1e-4)


def test_matmul_bitwise_identical_across_threads(restore_threads):
    rng = np.random.default_rng(10)
    a = rng.standard_normal((256, 320)).astype(np.float32)
    b = rng.standard_normal((320, 192)).astype(np.float32)
    ta, tb = fg.tensor(a), fg.tensor(b)
    m1 = _with_threads(1, lambda: (ta @ tb).numpy().copy())
    m2 = _with_threads(2, lambda: (ta @ tb).numpy().copy())
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_allclose(m1, a.astype(np.float64) @ b.astype(np.float64), rtol=1e-4, atol=1e-3)


def test_results_correct_with_one_thread(restore_threads):
    fg.set_num_threads(1)
    x = np.arange(100_000, dtype=np.float64)
    t = fg.tensor(x)
    assert fg.sum(t).item() == x.sum()
    assert_vals = (t * 2.0).numpy()
    np.testing.assert_array_equal(assert_vals, x * 2.0)


def test_rayon_num_threads_env_is_respected():
    import os
    import subprocess
    import sys

    env = dict(os.environ, RAYON_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", "import ferrograd as fg; print(fg.get_num_threads())"],
        env=env, capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == "1"
