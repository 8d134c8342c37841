"""Regressions for follow-ups to issue 10 found while fixing it:

- in-place writes into a view whose elements share memory (a broadcast/expanded view,
  stride 0 on a dim of size > 1) are refused on every path with PyTorch's RuntimeError,
  not only while autograd records (they used to write one location many times, and a
  huge broadcast view never finished);
- a Python int beyond int64 in ``fg.tensor`` raises OverflowError naming the value
  (it was TypeError "unsupported dtype object"), as PyTorch and NumPy do.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ferrograd as fg
from conftest import assert_close

OVERLAP = "more than one element of the written-to tensor refers to a single memory location"


def _broadcast_row():
    """A (3, 4) view of one row of 4 zeros (stride 0 on dim 0) and that row's base."""
    base = fg.zeros((1, 4))
    return base, fg.broadcast_to(base, (3, 4))


def _setitem(key, value):
    def write(t):
        t[key] = value
    return write


def _iop(op, value):
    def write(t):
        if op == "+":
            t += value
        elif op == "-":
            t -= value
        elif op == "*":
            t *= value
        else:
            t /= value
    return write


WRITES = {
    "fill_": lambda t: t.fill_(1.0),
    "zero_": lambda t: t.zero_(),
    "setitem_ellipsis": _setitem(Ellipsis, 2.0),
    "setitem_slice": _setitem(slice(None), fg.ones((4,))),
    "setitem_column": _setitem((slice(None), 1), 3.0),
    "setitem_array": _setitem([0, 2], 4.0),
    "setitem_mask": _setitem(fg.tensor([True, False, True]), 5.0),
    "iadd_scalar": _iop("+", 1.0),
    "isub_tensor": _iop("-", fg.ones((4,))),
    "imul": _iop("*", 2.0),
    "idiv": _iop("/", 2.0),
}


@pytest.mark.parametrize("grad_mode", ["default", "no_grad"])
@pytest.mark.parametrize("name", sorted(WRITES))
def test_write_into_broadcast_view_raises_runtime_error(name, grad_mode):
    base, view = _broadcast_row()
    base_before = base.numpy().copy()
    if grad_mode == "no_grad":
        with fg.no_grad():
            with pytest.raises(RuntimeError, match=OVERLAP) as info:
                WRITES[name](view)
    else:
        with pytest.raises(RuntimeError, match=OVERLAP) as info:
            WRITES[name](view)
    assert "clone()" in str(info.value)
    # Refused before writing anything.
    np.testing.assert_array_equal(base.numpy(), base_before)


def test_write_into_expanded_view_of_int_tensor_raises():
    t = fg.tensor([7]).expand(5)
    with pytest.raises(RuntimeError, match=OVERLAP):
        t.fill_(1)
    with pytest.raises(RuntimeError, match=OVERLAP):
        t += 1
    assert t.numpy().tolist() == [7] * 5


def test_write_into_broadcast_view_raises_while_recording_too():
    # The recording case used to raise ValueError with other wording; it is now the
    # same RuntimeError as outside recording.
    y = fg.ones((4,), requires_grad=True) * 2.0
    b = y[None].broadcast_to((3, 4))
    with pytest.raises(RuntimeError, match=OVERLAP):
        b += 1.0
    with pytest.raises(RuntimeError, match=OVERLAP):
        b.fill_(0.0)
    assert_close(y, np.full(4, 2.0, np.float32))


def test_huge_broadcast_view_write_is_refused_at_once():
    # Used to run 2**41 writes (never finishing); in a child process so that a
    # regression fails this test instead of hanging the suite.
    code = textwrap.dedent(
        """
        import ferrograd as fg
        for write in (lambda t: t.fill_(1), lambda t: t.zero_(),
                      lambda t: t.__setitem__(Ellipsis, 1.0),
                      lambda t: t.__iadd__(1.0)):
            t = fg.broadcast_to(fg.zeros(1), (2**40,))
            try:
                write(t)
            except RuntimeError as e:
                assert "single memory location" in str(e), e
            else:
                raise SystemExit("write was not refused")
        print("refused")
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "refused"


def test_writes_that_alias_nothing_still_work():
    base, view = _broadcast_row()
    # An int index picks one row of the broadcast dim: one location per element.
    view[0] = 5.0
    np.testing.assert_array_equal(base.numpy(), [[5.0] * 4])
    # ... also next to an index array (NumPy makes the int advanced there).
    view[1, [1, 2]] = 7.0
    np.testing.assert_array_equal(base.numpy(), [[5.0, 7.0, 7.0, 5.0]])
    view[2] += 1.0
    np.testing.assert_array_equal(base.numpy(), [[6.0, 8.0, 8.0, 6.0]])
    # A size-1 broadcast dim (stride 0) aliases nothing.
    one = fg.zeros(1).expand(1)
    one.fill_(3.0)
    one += 1.0
    assert one.numpy().tolist() == [4.0]
    # A plain contiguous tensor and a strided (non-broadcast) view.
    x = fg.zeros((3, 4))
    x[:, ::2] += 1.0
    np.testing.assert_array_equal(x.numpy(), np.tile([1.0, 0.0, 1.0, 0.0], (3, 1)))


def test_cloned_broadcast_view_is_writable():
    _, view = _broadcast_row()
    c = view.clone()
    c.fill_(1.0)
    c[0, 0] = 9.0
    assert c.numpy().sum() == 12.0 - 1.0 + 9.0


# ---------------------------------------------------------------------------
# fg.tensor of a Python int beyond int64.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "data",
    [[2**70], 2**70, -(2**70), [1, -(2**63) - 1], [[1, 2], [3, 2**100]], [True, 2**70]],
    ids=["list", "scalar", "negative", "just_below_int64", "nested", "with_bool"],
)
def test_tensor_of_int_beyond_int64_raises_overflow_error(data):
    with pytest.raises(OverflowError, match="too large to convert to int64") as info:
        fg.tensor(data)
    # The message names the value.
    flat = np.array(data, dtype=object).ravel().tolist()
    big = next(v for v in flat if not -(2**63) <= v < 2**63)
    assert str(big) in str(info.value)


def test_tensor_of_huge_int_names_its_size():
    with pytest.raises(OverflowError, match="of 10001 bits"):
        fg.tensor([1, 2**10000])


def test_tensor_of_int_beyond_int64_with_int_dtype_raises_overflow_error():
    with pytest.raises(OverflowError, match="too large to convert to int64"):
        fg.tensor([2**70], dtype=fg.int64)
    with pytest.raises(OverflowError, match="too large"):
        fg.asarray([2**70])


def test_tensor_of_int_beyond_int64_with_float_dtype_converts():
    # As np.array([2**70], dtype=np.float64) and torch.tensor(..., dtype=float64).
    t = fg.tensor([2**70, 1], dtype=fg.float64)
    assert t.dtype == fg.float64
    assert t.numpy().tolist() == [float(2**70), 1.0]
    t32 = fg.tensor(2**70, dtype=fg.float32)
    assert t32.dtype == fg.float32
    assert t32.item() == np.float32(2**70)


def test_tensor_at_int64_limits_still_works():
    t = fg.tensor([2**63 - 1, -(2**63)])
    assert t.dtype == fg.int64
    assert t.numpy().tolist() == [2**63 - 1, -(2**63)]


def test_tensor_of_float_and_huge_int_is_float():
    # NumPy 2 keeps [1.5, 2**70] as an object array; PyTorch makes a float tensor (a
    # float is present), as with an explicit float dtype: so does fg, in its default
    # float dtype as for fg.tensor([1.5]).
    for data in ([1.5, 2**70], [2**70, 1.5], [[1.5], [2**70]]):
        t = fg.tensor(data)
        assert t.dtype == fg.tensor([1.5]).dtype == fg.float32
        expected = np.array(data, dtype=np.float64).astype(np.float32)
        np.testing.assert_array_equal(t.numpy(), expected)


def test_tensor_of_ints_that_numpy_makes_float_raises_overflow_error():
    # NumPy turns [2**64 - 1, -1] (no dtype holds both) into float64; these are ints
    # only, so as in PyTorch this is an overflow, not a silent float tensor.
    assert np.array([2**64 - 1, -1]).dtype == np.float64
    with pytest.raises(OverflowError, match=str(2**64 - 1)):
        fg.tensor([2**64 - 1, -1])
    with pytest.raises(OverflowError, match=str(2**63)):
        fg.tensor(([2**63], [-5]))
    # Large floats in a list are still floats.
    t = fg.tensor([1e19, -1.0])
    assert t.dtype == fg.float32
    np.testing.assert_array_equal(t.numpy(), np.array([1e19, -1.0], np.float32))
    assert fg.tensor([2**64 - 1, -1], dtype=fg.float64).numpy().tolist() == [2.0**64, -1.0]
