"""fg.fft against numpy.fft: every transform on float32/float64/complex64/complex128
inputs with n/s/axis/axes/norm variants, the standard's result dtypes, round trips,
the shift and frequency helpers (values, gradients), argument errors, the refusal to
run on a tensor that requires grad, and the wgpu round trip.

References are computed by NumPy in double precision from the same input values, so a
single-precision result is checked against the exact answer, not against NumPy's own
float32 path."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import fft as F

DTYPES = ["float32", "float64", "complex64", "complex128"]
REAL = ["float32", "float64"]
CPLX = ["complex64", "complex128"]
NORMS = ["backward", "ortho", "forward"]

# The result dtype the standard asks for, by input dtype.
TO_COMPLEX = {"float32": "complex64", "float64": "complex128", "complex64": "complex64", "complex128": "complex128"}
TO_REAL = {"complex64": "float32", "complex128": "float64", "float32": "float32", "float64": "float64"}


def _rand(rng, shape, dtype):
    a = rng.standard_normal(shape)
    if dtype.startswith("complex"):
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def _double(a):
    return a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)


def _check(out, ref, dtype):
    """``out`` (a tensor) has NumPy's shape, the expected dtype and ``ref``'s values to
    the precision of ``dtype`` (relative to the largest magnitude: FFT errors scale with
    the norm of the data, not with each small coefficient)."""
    assert isinstance(out, fg.Tensor)
    assert out.dtype.name == dtype, (out.dtype.name, dtype)
    got = out.numpy()
    assert got.shape == ref.shape
    tol = 1e-5 if dtype in ("float32", "complex64") else 1e-12
    scale = max(1.0, float(np.abs(ref).max(initial=0.0)))
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * scale)


# ---------------------------------------------------------------------------
# one-dimensional transforms
# ---------------------------------------------------------------------------

ONE_D = {
    # name: (input dtypes, result dtype map)
    "fft": (DTYPES, TO_COMPLEX),
    "ifft": (DTYPES, TO_COMPLEX),
    "rfft": (REAL, TO_COMPLEX),
    "irfft": (DTYPES, TO_REAL),
    "hfft": (DTYPES, TO_REAL),
    "ihfft": (REAL, TO_COMPLEX),
}
ONE_D_CASES = [(name, dt) for name, (dts, _) in ONE_D.items() for dt in dts]


@pytest.mark.parametrize("name,dtype", ONE_D_CASES)
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n,axis", [(None, -1), (None, 0), (5, 1), (12, -1), (3, 0), (1, -1)])
def test_one_d_matches_numpy(name, dtype, norm, n, axis, rng):
    a = _rand(rng, (6, 7, 4), dtype)
    out = getattr(F, name)(fg.asarray(a), n=n, axis=axis, norm=norm)
    ref = getattr(np.fft, name)(_double(a), n=n, axis=axis, norm=norm)
    _check(out, ref, ONE_D[name][1][dtype])


@pytest.mark.parametrize("name,dtype", ONE_D_CASES)
def test_one_d_defaults(name, dtype, rng):
    a = _rand(rng, (3, 9), dtype)
    out = getattr(F, name)(fg.asarray(a))
    _check(out, getattr(np.fft, name)(_double(a)), ONE_D[name][1][dtype])


@pytest.mark.parametrize("name", ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"])
def test_one_d_on_non_contiguous_views(name, rng):
    # A transposed, strided view: np.asarray must see the view's layout, not the base.
    dtype = "float64" if name in ("rfft", "ihfft") else "complex128"
    a = _rand(rng, (10, 8), dtype)
    x = fg.asarray(a).T[:, ::2]
    out = getattr(F, name)(x, axis=0)
    _check(out, getattr(np.fft, name)(a.T[:, ::2], axis=0), out.dtype.name)


# ---------------------------------------------------------------------------
# n-dimensional transforms
# ---------------------------------------------------------------------------

N_D = {
    "fftn": (DTYPES, TO_COMPLEX),
    "ifftn": (DTYPES, TO_COMPLEX),
    "rfftn": (REAL, TO_COMPLEX),
    "irfftn": (DTYPES, TO_REAL),
}
N_D_CASES = [(name, dt) for name, (dts, _) in N_D.items() for dt in dts]
S_AXES = [
    (None, None),
    (None, (0,)),
    (None, (2, 0)),
    ((4, 6), (0, 1)),
    ((3,), (-1,)),
    ((8, 2, 5), (1, 2, 0)),
    ((-1, 6), (0, 2)),  # -1: the whole axis, as the standard allows
]


@pytest.mark.parametrize("name,dtype", N_D_CASES)
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("s,axes", S_AXES)
def test_n_d_matches_numpy(name, dtype, norm, s, axes, rng):
    a = _rand(rng, (5, 4, 6), dtype)
    out = getattr(F, name)(fg.asarray(a), s=s, axes=axes, norm=norm)
    # -1 spelled out for NumPy < 2: the whole axis (2*(M-1) for irfftn's last axis).
    ref_s = None if s is None else [
        v if v != -1 else (2 * (a.shape[ax] - 1) if name == "irfftn" and i == len(s) - 1 else a.shape[ax])
        for i, (v, ax) in enumerate(zip(s, axes))
    ]
    ref = getattr(np.fft, name)(_double(a), s=ref_s, axes=axes, norm=norm)
    _check(out, ref, N_D[name][1][dtype])


def test_fftn_over_no_axes_is_the_identity_in_complex():
    a = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    out = F.fftn(fg.asarray(a), axes=[])
    _check(out, a.astype(np.complex64), "complex64")
    out0 = F.ifftn(fg.asarray(np.float64(2.5)))  # 0-d: no axes at all
    assert out0.shape == () and out0.dtype == fg.complex128 and complex(out0.item()) == 2.5


# ---------------------------------------------------------------------------
# round trips (the standard's "ifft(fft(x)) == x" notes)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("dtype", CPLX)
def test_fft_ifft_round_trip(norm, dtype, rng):
    a = _rand(rng, (4, 10), dtype)
    x = fg.asarray(a)
    _check(F.ifft(F.fft(x, norm=norm), norm=norm), a.astype(np.complex128), dtype)
    _check(F.ifftn(F.fftn(x, norm=norm), norm=norm), a.astype(np.complex128), dtype)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("dtype", REAL)
@pytest.mark.parametrize("length", [9, 10])  # odd lengths need n passed back
def test_real_round_trips(norm, dtype, length, rng):
    a = _rand(rng, (3, length), dtype)
    x = fg.asarray(a)
    _check(F.irfft(F.rfft(x, norm=norm), n=length, norm=norm), a.astype(np.float64), dtype)
    _check(F.hfft(F.ihfft(x, norm=norm), n=length, norm=norm), a.astype(np.float64), dtype)
    s = (3, length)
    _check(F.irfftn(F.rfftn(x, norm=norm), s=s, axes=(0, 1), norm=norm), a.astype(np.float64), dtype)


# ---------------------------------------------------------------------------
# dtype rules beyond the four standard dtypes
# ---------------------------------------------------------------------------

def test_result_dtypes_follow_the_standard():
    c64 = fg.zeros((4,), dtype=fg.complex64)
    c128 = fg.zeros((4,), dtype=fg.complex128)
    f32 = fg.zeros((4,), dtype=fg.float32)
    f64 = fg.zeros((4,), dtype=fg.float64)
    assert F.fft(c64).dtype == fg.complex64 and F.fft(c128).dtype == fg.complex128
    assert F.rfft(f32).dtype == fg.complex64 and F.rfft(f64).dtype == fg.complex128
    assert F.ihfft(f32).dtype == fg.complex64 and F.rfftn(f64).dtype == fg.complex128
    assert F.irfft(c64).dtype == fg.float32 and F.irfft(c128).dtype == fg.float64
    assert F.hfft(c64).dtype == fg.float32 and F.irfftn(c128).dtype == fg.float64
    # Real input to the complex transforms: complex of the same precision.
    assert F.fft(f32).dtype == fg.complex64 and F.ifftn(f64).dtype == fg.complex128


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "int64", "int32", "uint8"])
def test_half_and_integer_inputs_transform_in_single_precision(dtype):
    vals = np.array([1, 2, 3, 4, 0, 7], dtype=np.float64)
    x = fg.asarray(vals).astype(getattr(fg, dtype), True)
    _check(F.fft(x), np.fft.fft(vals), "complex64")
    _check(F.rfft(x), np.fft.rfft(vals), "complex64")


# ---------------------------------------------------------------------------
# fftfreq, rfftfreq, fftshift, ifftshift
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 5, 8, 17])
@pytest.mark.parametrize("d", [1.0, 0.25, 3])
def test_frequencies_match_numpy(n, d):
    out = F.fftfreq(n, d=d)
    assert out.dtype == fg.float32  # the default real floating dtype
    np.testing.assert_allclose(out.numpy(), np.fft.fftfreq(n, d=d), rtol=1e-6)
    out = F.rfftfreq(n, d=d, dtype=fg.float64)
    assert out.dtype == fg.float64
    np.testing.assert_allclose(out.numpy(), np.fft.rfftfreq(n, d=d), rtol=1e-15)
    out = F.fftfreq(n, d=d, dtype=fg.float64)
    np.testing.assert_allclose(out.numpy(), np.fft.fftfreq(n, d=d), rtol=1e-15)


@pytest.mark.parametrize("fn", ["fftshift", "ifftshift"])
@pytest.mark.parametrize("axes", [None, 0, -1, (1,), (0, 2), [2, 0, 1]])
@pytest.mark.parametrize("dtype", ["float32", "complex128", "int64"])
def test_shifts_match_numpy(fn, axes, dtype):
    a = np.arange(5 * 4 * 7).reshape(5, 4, 7).astype(dtype)
    out = getattr(F, fn)(fg.asarray(a), axes=axes)
    assert out.dtype.name == dtype
    np.testing.assert_array_equal(out.numpy(), getattr(np.fft, fn)(a, axes=axes))


def test_shifts_invert_each_other_and_centre_the_frequencies():
    f = F.fftfreq(7)
    centred = F.fftshift(f).numpy()
    assert np.all(np.diff(centred) > 0) and centred[3] == 0.0
    np.testing.assert_array_equal(F.ifftshift(F.fftshift(f)).numpy(), f.numpy())


def test_shifts_are_differentiable():
    # d/dx sum(w * fftshift(x)) = ifftshift(w): the shift's adjoint is the inverse shift.
    x = fg.asarray(np.arange(15.0, dtype=np.float32).reshape(3, 5)).requires_grad_()
    w = np.random.default_rng(3).standard_normal((3, 5)).astype(np.float32)
    (F.fftshift(x) * fg.asarray(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.fft.ifftshift(w))


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

X = fg.asarray(np.ones((4, 6), dtype=np.complex64))
R = fg.asarray(np.ones((4, 6), dtype=np.float32))


@pytest.mark.parametrize("name", ["fft", "ifft", "irfft", "hfft", "fftn", "irfftn"])
def test_bad_norm(name):
    with pytest.raises(ValueError, match=f"fft.{name}: norm must be one of .*'bogus'"):
        getattr(F, name)(X, norm="bogus")


@pytest.mark.parametrize("name", ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"])
def test_bad_n(name):
    x = R if name in ("rfft", "ihfft") else X
    for n in (0, -3):
        with pytest.raises(ValueError, match=f"fft.{name}: n must be at least 1, got {n}"):
            getattr(F, name)(x, n=n)
    with pytest.raises(TypeError, match="n must be an integer, got float"):
        getattr(F, name)(x, n=4.0)
    with pytest.raises(TypeError, match="n must be an integer, got bool"):
        getattr(F, name)(x, n=True)


def test_bad_axis():
    with pytest.raises(fg.AxisError, match="axis 2 is out of bounds for a 2-dimensional array"):
        F.fft(X, axis=2)
    with pytest.raises(IndexError):  # AxisError is also an IndexError, as NumPy's
        F.rfft(R, axis=-3)
    with pytest.raises(fg.AxisError, match="0-dimensional array has no axis"):
        F.fft(fg.asarray(np.complex64(1)))


def test_bad_s_and_axes():
    with pytest.raises(ValueError, match="s was given without axes"):
        F.fftn(X, s=(4, 6))
    with pytest.raises(ValueError, match="s has 1 entries but axes has 2"):
        F.fftn(X, s=(4,), axes=(0, 1))
    with pytest.raises(ValueError, match="must not repeat an axis"):
        F.ifftn(X, axes=(1, -1))
    with pytest.raises(ValueError, match="length along axis 1 must be at least 1, got 0"):
        F.rfftn(R, s=(4, 0), axes=(0, 1))
    with pytest.raises(TypeError, match="s must be a sequence"):
        F.fftn(X, s=4, axes=(0,))
    with pytest.raises(fg.AxisError):
        F.fftn(X, axes=(0, 5))
    with pytest.raises(ValueError, match="needs at least one axis"):
        F.rfftn(R, axes=())


def test_default_length_needs_two_points():
    one = fg.asarray(np.ones((3, 1), dtype=np.complex64))
    for fn in (F.irfft, F.hfft):
        with pytest.raises(ValueError, match=r"default n = 2\*\(M-1\) needs at least 2"):
            fn(one)
        assert fn(one, n=1).shape == (3, 1)  # an explicit n is fine
    with pytest.raises(ValueError, match=r"2\*\(M-1\), which needs M >= 2"):
        F.irfftn(one)


def test_empty_axis_needs_n():
    e = fg.zeros((3, 0), dtype=fg.complex64)
    with pytest.raises(ValueError, match="axis 1 has no elements"):
        F.fft(e)
    _check(F.fft(e, n=4), np.zeros((3, 4)), "complex64")  # zero-padded


def test_bad_dtypes():
    with pytest.raises(TypeError, match="fft.rfft: the input must be real-valued floating-point, got complex64"):
        F.rfft(X)
    with pytest.raises(TypeError, match="fft.ihfft: the input must be real-valued"):
        F.ihfft(X)
    with pytest.raises(TypeError, match="fft.rfftn: the input must be real-valued"):
        F.rfftn(X)
    with pytest.raises(TypeError, match="bool array has no Fourier transform"):
        F.fft(fg.asarray(np.ones(4, dtype=bool)))
    with pytest.raises(TypeError, match="must be a ferrograd Tensor, got ndarray"):
        F.fft(np.ones(4))


def test_bad_frequency_arguments():
    with pytest.raises(ValueError, match="fft.fftfreq: n must be at least 1, got 0"):
        F.fftfreq(0)
    with pytest.raises(TypeError, match="fft.rfftfreq: n must be an integer"):
        F.rfftfreq(4.5)
    with pytest.raises(TypeError, match="dtype must be a real floating-point dtype, got int64"):
        F.fftfreq(4, dtype=fg.int64)
    with pytest.raises(TypeError, match="dtype must be a real floating-point dtype, got complex64"):
        F.rfftfreq(4, dtype=fg.complex64)
    with pytest.raises(ValueError, match="d .* must not be zero"):
        F.fftfreq(4, d=0.0)
    with pytest.raises(TypeError, match="d .* must be a real number, got str"):
        F.rfftfreq(4, d="1")


# ---------------------------------------------------------------------------
# autograd: refused, not silently cut
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["fft", "rfft", "irfft", "fftn", "rfftn", "ihfft"])
def test_requires_grad_is_refused_in_grad_mode(name):
    x = fg.asarray(np.arange(8.0, dtype=np.float32)).requires_grad_()
    with pytest.raises(RuntimeError, match=f"fg.fft.{name} is not differentiable"):
        getattr(F, name)(x)
    with fg.no_grad():  # an explicit "no gradient wanted" is fine
        a = getattr(F, name)(x)
    b = getattr(F, name)(x.detach())
    assert not a.requires_grad and not b.requires_grad
    np.testing.assert_array_equal(a.numpy(), b.numpy())


# ---------------------------------------------------------------------------
# devices
# ---------------------------------------------------------------------------

def test_results_are_new_cpu_tensors_not_views_of_the_input():
    a = np.ones(4, dtype=np.complex64)
    x = fg.asarray(a)
    y = F.fftshift(x)
    z = F.fftn(x, axes=[])
    x[0] = 5.0  # writing into the input must not show through the results
    assert complex(y.numpy()[2]) == 1.0 and complex(z.numpy()[0]) == 1.0


@pytest.mark.usefixtures("wgpu_device")
def test_wgpu_round_trip(wgpu_device):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((4, 10)).astype(np.float32)
    x = fg.asarray(a, device=wgpu_device)
    # Real results come back on the device (wgpu holds float32) and equal the CPU's.
    for name, kw in [("irfft", {}), ("hfft", {"n": 7}), ("irfftn", {"axes": (0, 1)})]:
        out = getattr(F, name)(x, **kw)
        cpu = getattr(F, name)(fg.asarray(a), **kw)
        assert out.device == wgpu_device and out.dtype == fg.float32, name
        np.testing.assert_array_equal(out.to("cpu").numpy(), cpu.numpy())
    # Complex results cannot live on wgpu: a clear TypeError, before any work.
    for name in ("fft", "rfft", "ihfft", "fftn", "rfftn"):
        with pytest.raises(TypeError, match=f"fft.{name}: the result would be complex64, which wgpu tensors cannot hold"):
            getattr(F, name)(x)
    # The helpers are tensor ops: they stay on the device, shifts keep their gradient.
    f = F.fftfreq(9, d=0.5, device=wgpu_device)
    assert f.device == wgpu_device
    np.testing.assert_allclose(f.to("cpu").numpy(), np.fft.fftfreq(9, d=0.5), rtol=1e-6)
    r = F.rfftfreq(9, device=wgpu_device)
    assert r.device == wgpu_device
    np.testing.assert_allclose(r.to("cpu").numpy(), np.fft.rfftfreq(9), rtol=1e-6)
    xg = fg.asarray(a, device=wgpu_device).requires_grad_()
    s = F.ifftshift(xg, axes=1)
    assert s.device == wgpu_device
    np.testing.assert_array_equal(s.to("cpu").numpy(), np.fft.ifftshift(a, axes=1))
    (s * fg.arange(10, device=wgpu_device)).sum().backward()
    np.testing.assert_array_equal(xg.grad.to("cpu").numpy(), np.tile(np.fft.fftshift(np.arange(10.0)), (4, 1)))
