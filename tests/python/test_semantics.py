"""Edge-case semantics that follow NumPy and PyTorch to the letter: non-finite inputs
to the norms, softmax and cross-entropy; var/std without degrees of freedom; floor
division by an infinity; split at non-increasing indices; flatten of a 0-d tensor; the
broadcast warning of the pointwise losses."""

import warnings

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F
from conftest import raises_cleanly

INF, NAN = float("inf"), float("nan")


def _rows_with(bad, n=5):
    """A (4, n) float32 array: row 0 holds `bad`, row 1 finite, row 2 holds `bad` twice,
    row 3 finite."""
    x = np.random.default_rng(0).standard_normal((4, n)).astype(np.float32)
    x[0, 1] = bad
    x[2, 0] = x[2, 3] = bad
    return x


def _np_layer_norm(x, center=True, eps=1e-5):
    x = x.astype(np.float64)
    m = x.mean(-1, keepdims=True) if center else 0.0
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps)


# --- norms: a row (group, channel) holding inf or NaN normalises to NaN, as in PyTorch


@pytest.mark.parametrize("bad", [INF, -INF, NAN])
def test_layer_norm_nonfinite_row_is_nan(bad):
    x = _rows_with(bad)
    y = F.layer_norm(fg.tensor(x), (5,)).numpy()
    assert np.isnan(y[[0, 2]]).all()
    np.testing.assert_allclose(y[[1, 3]], _np_layer_norm(x[[1, 3]]), rtol=1e-5, atol=1e-5)


def test_rms_norm_nonfinite_rows_follow_the_formula():
    # PyTorch: x * rsqrt(mean(x^2) + eps). A NaN makes the whole row NaN; an inf makes
    # rsqrt 0, so finite entries become 0 and the inf itself inf * 0 = NaN.
    x = _rows_with(NAN)
    y = F.rms_norm(fg.tensor(x), (5,)).numpy()
    assert np.isnan(y[[0, 2]]).all()
    np.testing.assert_allclose(y[[1, 3]], _np_layer_norm(x[[1, 3]], center=False, eps=np.finfo(np.float32).eps),
                               rtol=1e-5, atol=1e-6)
    x = _rows_with(INF)
    y = F.rms_norm(fg.tensor(x), (5,)).numpy()
    assert np.isnan(y[0, 1]) and np.isnan(y[2, 0]) and np.isnan(y[2, 3])
    assert (y[0, [0, 2, 3, 4]] == 0).all() and (y[2, [1, 2, 4]] == 0).all()


@pytest.mark.parametrize("bad", [INF, -INF, NAN])
def test_group_norm_nonfinite_group_is_nan(bad):
    x = np.random.default_rng(1).standard_normal((2, 4, 3)).astype(np.float32)
    x[0, 1, 2] = bad  # sample 0, group 0 (channels 0-1)
    y = F.group_norm(fg.tensor(x), 2).numpy()
    assert np.isnan(y[0, :2]).all()
    assert np.isfinite(y[0, 2:]).all() and np.isfinite(y[1]).all()


@pytest.mark.parametrize("bad", [INF, -INF, NAN])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batch_norm_nonfinite_channel_is_nan(bad, shape):
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    x[1, 1] = bad  # channel 1 (a whole spatial row of it for 3-D)
    rm, rv = fg.zeros((3,)), fg.ones((3,))
    y = F.batch_norm(fg.tensor(x), rm, rv, training=True).numpy()
    assert np.isnan(y[:, 1]).all()
    assert np.isfinite(y[:, [0, 2]]).all()
    # running stats as PyTorch updates them: the channel's mean (+-inf or NaN) and a NaN
    # variance enter with momentum 0.1
    np.testing.assert_allclose(rm.numpy()[1], 0.1 * x[:, 1].astype(np.float64).mean())
    assert np.isnan(rv.numpy()[1])
    assert np.isfinite(rm.numpy()[[0, 2]]).all() and np.isfinite(rv.numpy()[[0, 2]]).all()


# --- softmax, log_softmax, cross_entropy


def test_softmax_nonfinite_rows_match_pytorch():
    x = np.array([
        [1.0, INF, 2.0],    # +inf: NaN row
        [1.0, NAN, 2.0],    # NaN: NaN row
        [1.0, -INF, 2.0],   # -inf next to finite logits: a masked class
        [-INF, -INF, -INF],  # nothing left: NaN row
        [INF, INF, 0.0],    # NaN row
    ], np.float32)
    for axis, xa in ((-1, x), (0, x.T.copy())):
        t = fg.tensor(xa)
        sm, lsm = t.softmax(axis).numpy(), t.log_softmax(axis).numpy()
        if axis == 0:
            sm, lsm = sm.T, lsm.T
        for r in (0, 1, 3, 4):
            assert np.isnan(sm[r]).all() and np.isnan(lsm[r]).all(), r
        e = np.exp(np.float64(1.0) - 2.0)
        np.testing.assert_allclose(sm[2], [e / (1 + e), 0.0, 1 / (1 + e)], rtol=1e-6)
        assert lsm[2, 1] == -INF and np.isfinite(lsm[2, [0, 2]]).all()


@pytest.mark.parametrize("dtype", [fg.float32, fg.float64])
def test_softmax_of_0d_tensor_matches_pytorch(dtype):
    for v, sm, lsm in ((2.5, 1.0, 0.0), (-7.0, 1.0, 0.0), (INF, NAN, NAN), (-INF, NAN, NAN),
                       (NAN, NAN, NAN)):
        t = fg.tensor(v, dtype=dtype)
        for axis in (0, -1):
            a, b = t.softmax(axis), t.log_softmax(axis)
            assert a.shape == () and a.dtype == dtype and b.shape == ()
            np.testing.assert_array_equal(a.numpy(), np.array(sm))
            np.testing.assert_array_equal(b.numpy(), np.array(lsm))
    for axis in (1, -2):
        raises_cleanly(fg.tensor(1.0).softmax, axis, exc=(IndexError,))
    for name in ("softmax", "log_softmax"):  # d/dx of a constant 1 (or 0): 0
        t = fg.tensor(2.0, dtype=dtype, requires_grad=True)
        getattr(t, name)(0).backward()
        assert t.grad.shape == () and t.grad.item() == 0.0


def test_cross_entropy_nonfinite_logits_match_pytorch():
    x = np.array([
        [1.0, INF, 2.0],
        [1.0, NAN, 2.0],
        [1.0, -INF, 2.0],
        [-INF, 1.0, 2.0],
        [-INF, -INF, -INF],
    ], np.float32)
    y = np.array([0, 0, 0, 0, 1])
    t = fg.tensor(x, requires_grad=True)
    loss = F.cross_entropy(t, fg.tensor(y), reduction="none")
    v = loss.numpy()
    assert np.isnan(v[[0, 1, 4]]).all()
    lse = np.log(np.exp(1.0) + np.exp(2.0))
    np.testing.assert_allclose(v[2], lse - 1.0, rtol=1e-6)
    assert v[3] == INF  # the target's logit is -inf: log-probability -inf
    loss[[0, 1, 2, 4]].sum().backward()
    g = t.grad.numpy()
    assert np.isnan(g[[0, 1, 4]]).all()
    assert np.isfinite(g[2]).all() and (g[3] == 0).all()
    # probability targets: the same rows are NaN
    p = np.full(x.shape, 1 / 3, np.float32)
    v = F.cross_entropy(fg.tensor(x[[0, 1, 4]]), fg.tensor(p[[0, 1, 4]]), reduction="none").numpy()
    assert np.isnan(v).all()


# --- var / std: NumPy divides by max(n - correction, 0)


@pytest.mark.parametrize("values", [[1.0, 2.0], [1.0, 1.0], [3.0], [1.0, 2.0, 4.0]])
@pytest.mark.parametrize("ddof", [0, 1, 2, 2.5, 3, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_var_std_without_degrees_of_freedom_match_numpy(values, ddof, dtype):
    a = np.array(values, dtype)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want_v, want_s = np.var(a, ddof=ddof), np.std(a, ddof=ddof)
    t = fg.tensor(a)
    for got, want in ((t.var(correction=ddof), want_v), (t.std(correction=ddof), want_s),
                      (fg.var(t, correction=ddof), want_v)):
        got = got.numpy()
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=1e-6)  # inf == inf, nan == nan


def test_var_per_axis_without_degrees_of_freedom():
    a = np.array([[1.0, 2.0, 4.0], [5.0, 5.0, 5.0]])
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = np.var(a, axis=1, ddof=3)
    got = fg.tensor(a).var(axis=1, correction=3).numpy()
    np.testing.assert_array_equal(got, want)  # [inf, nan]
    assert got[0] == INF and np.isnan(got[1])


# --- floor_divide at infinities and zeros: NumPy's (and Python's) values


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_floor_divide_nonfinite_matches_numpy(dtype):
    vals = np.array([1.0, -1.0, 0.0, -0.0, 7.5, -7.5, INF, -INF, NAN, 3.0, 1e-30], dtype)
    a, b = np.meshgrid(vals, vals, indexing="ij")
    with np.errstate(all="ignore"):
        want = np.floor_divide(a, b)
    got = fg.floor_divide(fg.tensor(a), fg.tensor(b)).numpy()
    np.testing.assert_array_equal(got, want)
    both = ~np.isnan(want)
    np.testing.assert_array_equal(np.signbit(got[both]), np.signbit(want[both]))
    assert fg.floor_divide(fg.tensor(1.0), -INF).item() == 1.0 // -INF == -1.0
    assert (fg.tensor(-1.0) // INF).item() == -1.0


# --- split at a list of indices: NumPy's np.split


@pytest.mark.parametrize("points", [
    [4, 2], [2, 2], [5, 1, 3], [-2, 1], [10], [3, -10, 5], [0], [6, 6, 0], [], [-1, -3],
])
def test_split_indices_match_numpy(points):
    a = np.arange(24).reshape(6, 4)
    for axis, arr in ((0, a), (1, a.T.copy())):
        got = fg.split(fg.tensor(arr), points, axis=axis)
        want = np.split(arr, points, axis=axis)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert tuple(g.shape) == w.shape
            np.testing.assert_array_equal(g.numpy(), w)


# --- flatten of a 0-d tensor: PyTorch accepts only dims in [-1, 0]


def test_flatten_zero_dim_accepts_dims_in_range():
    t = fg.tensor(3.0)
    for s, e in ((0, -1), (0, 0), (-1, -1), (-1, 0)):
        r = t.flatten(s, e)
        assert tuple(r.shape) == (1,) and r.item() == 3.0


@pytest.mark.parametrize("dims", [(1, -1), (0, 1), (-2, -1), (3, 5), (0, -2)])
def test_flatten_zero_dim_rejects_dims_out_of_range(dims):
    raises_cleanly(fg.tensor(3.0).flatten, *dims, exc=(IndexError,))


# --- pointwise losses warn when input and target broadcast, as PyTorch does


@pytest.mark.parametrize("loss", [F.mse_loss, F.l1_loss])
def test_pointwise_loss_warns_on_broadcast(loss):
    x = fg.ones((3, 1))
    y = fg.zeros((3,))
    with pytest.warns(UserWarning, match=r"Using a target size \(\(3,\)\) that is different "
                                         r"to the input size \(\(3, 1\)\).*broadcasting"):
        out = loss(x, y, reduction="none")
    assert tuple(out.shape) == (3, 3)  # it still broadcasts, as PyTorch does
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss(x, fg.zeros((3, 1)))
        loss(x, 0.5)


def test_loss_module_warning_points_at_the_caller():
    with pytest.warns(UserWarning) as rec:
        fg.nn.MSELoss()(fg.ones((2, 1)), fg.ones((2,)))
    assert len(rec) == 1
