"""int64 on the GPU lives in 32-bit words: values are checked on the way in, and a kernel
whose int64 result leaves the int32 range flags it, so the next read raises instead of
returning a number the CPU would not have computed."""

import numpy as np
import pytest

import ferrograd as fg
from conftest import raises_cleanly

I32_MAX = 2**31 - 1
I32_MIN = -(2**31)


pytestmark = pytest.mark.usefixtures("wgpu_device")


def gpu(values):
    return fg.tensor(np.array(values, dtype=np.int64)).to("wgpu")


def read(t):
    return t.to("cpu").numpy()


@pytest.mark.parametrize(
    "name, fn",
    [
        ("add", lambda x: x + 1),
        ("sub", lambda x: -x - 2),
        ("mul", lambda x: x * 3),
        ("neg", lambda x: -(x - I32_MAX + I32_MIN)),
        ("abs", lambda x: (x - I32_MAX + I32_MIN).abs()),
        ("pow", lambda x: (x // 1000) ** 3),
        ("floordiv", lambda x: (x - I32_MAX + I32_MIN) // -1),
        ("cast", lambda x: (x.astype(fg.float32) * 4.0).astype(fg.int64)),
    ],
)
def test_overflow_past_int32_raises_at_the_next_read(name, fn):
    x = gpu([1, I32_MAX])
    y = fn(x)  # recorded: the kernel flags, nothing waits
    e = raises_cleanly(read, y, exc=(RuntimeError,))
    assert "int64 overflow on wgpu" in str(e) and "2147483647" in str(e)
    # The flag was cleared by the read that reported it.
    np.testing.assert_array_equal(read(gpu([5]) + 1), [6])


def test_int64_arithmetic_inside_int32_matches_the_cpu():
    a = np.array([I32_MIN + 5, -7, 0, 3, I32_MAX - 5], dtype=np.int64)
    b = np.array([-5, 2, 9, -4, 5], dtype=np.int64)
    ga, gb = gpu(a), gpu(b)
    for f in (
        lambda x, y: x + y,
        lambda x, y: x - y + y,
        lambda x, y: x * 1 + y * 0,
        lambda x, y: x // y,
        lambda x, y: x % y,
        lambda x, y: -(x // 2),
        lambda x, y: (y.abs() ** 3),
    ):
        np.testing.assert_array_equal(read(f(ga, gb)), f(fg.tensor(a), fg.tensor(b)).numpy())


def test_float_to_int64_inside_int32_and_nan():
    x = fg.tensor(np.array([-2.5, 2.5, 2147483520.0, -2147483648.0, np.nan], np.float32))
    np.testing.assert_array_equal(read(x.to("wgpu").astype(fg.int64)), x.astype(fg.int64).numpy())


@pytest.mark.parametrize("op", ["sum", "prod"])
def test_int_reductions_past_int32_raise_at_the_next_read(op):
    x = gpu([I32_MAX, 2, 3])
    y = getattr(x, op)()
    e = raises_cleanly(read, y, exc=(RuntimeError,))
    assert "int64 overflow on wgpu" in str(e)
    ok = gpu([I32_MAX - 10, 4, 6]) if op == "sum" else gpu([1 << 10, 1 << 10, 1 << 10])
    want = getattr(fg.tensor(read(ok)), op)().item()
    assert getattr(ok, op)().item() == want


def test_bool_sum_counts_on_the_gpu():
    m = fg.tensor(np.arange(1000) % 3 == 0).to("wgpu")
    assert m.sum().item() == 334
