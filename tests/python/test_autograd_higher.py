"""Higher-order derivatives: create_graph=True, closed-form second/third derivatives,
a full Hessian, a Hessian-vector product of a small MLP against finite differences of
the gradient, and ``gradgradcheck`` on the main ops."""

import zlib

import numpy as np
import pytest

import ferrograd as fg


def _ag():
    from ferrograd import autograd

    return autograd


def leaf(a):
    return fg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def npy(t):
    return np.array(np.asarray(t.detach() if t.requires_grad else t), copy=True)


X = np.array([-2.0, -0.7, -0.1, 0.3, 0.9, 1.8])


def second_derivative(f, x_np):
    """Elementwise f'' via grad(grad(sum f)) (valid for elementwise f)."""
    ag = _ag()
    x = leaf(x_np)
    (g,) = ag.grad(f(x).sum(), x, create_graph=True)
    assert g.requires_grad
    (h,) = ag.grad(g.sum(), x)
    return npy(g), npy(h)


def test_tanh_second_derivative():
    g, h = second_derivative(lambda x: x.tanh(), X)
    t = np.tanh(X)
    np.testing.assert_allclose(g, 1 - t ** 2, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h, -2 * t * (1 - t ** 2), rtol=1e-10, atol=1e-14)


def test_sigmoid_second_derivative():
    g, h = second_derivative(lambda x: x.sigmoid(), X)
    s = 1 / (1 + np.exp(-X))
    np.testing.assert_allclose(g, s * (1 - s), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h, s * (1 - s) * (1 - 2 * s), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name,f,d2", [
    ("exp", lambda x: x.exp(), np.exp),
    ("sin", lambda x: x.sin(), lambda x: -np.sin(x)),
    ("cos", lambda x: x.cos(), lambda x: -np.cos(x)),
    ("cube", lambda x: x ** 3, lambda x: 6 * x),
    ("mul_self_self", lambda x: x * x * x, lambda x: 6 * x),
    ("log_abs", lambda x: (x * x).log(), lambda x: -2 / x ** 2),
    ("rpow", lambda x: 2.0 ** x, lambda x: np.log(2) ** 2 * 2 ** x),
    ("recip", lambda x: 1.0 / x, lambda x: 2 / x ** 3),
    ("erf", lambda x: x.erf(), lambda x: -4 * x / np.sqrt(np.pi) * np.exp(-x * x)),
    ("gelu_tanh_vs_fd", None, None),
])
def test_elementwise_second_derivatives(name, f, d2):
    if f is None:
        # gelu('tanh'): compare with a central difference of the first derivative.
        ag = _ag()
        fn = lambda x: x.gelu("tanh")  # noqa: E731
        _, h = second_derivative(fn, X)
        eps = 1e-5
        xs_p, xs_m = leaf(X + eps), leaf(X - eps)
        gp = npy(ag.grad(fn(xs_p).sum(), xs_p)[0])
        gm = npy(ag.grad(fn(xs_m).sum(), xs_m)[0])
        np.testing.assert_allclose(h, (gp - gm) / (2 * eps), rtol=1e-6, atol=1e-8)
        return
    _, h = second_derivative(f, X)
    np.testing.assert_allclose(h, d2(X), rtol=1e-10, atol=1e-12)


def test_third_derivative():
    ag = _ag()
    x = leaf(X)
    (g1,) = ag.grad((x ** 4).sum(), x, create_graph=True)
    (g2,) = ag.grad(g1.sum(), x, create_graph=True)
    (g3,) = ag.grad(g2.sum(), x)
    np.testing.assert_allclose(npy(g1), 4 * X ** 3, rtol=1e-12)
    np.testing.assert_allclose(npy(g2), 12 * X ** 2, rtol=1e-12)
    np.testing.assert_allclose(npy(g3), 24 * X, rtol=1e-12)


def test_mixed_partials():
    ag = _ag()
    x, y = leaf([1.0, 2.0, 3.0]), leaf([0.5, -1.0, 2.0])
    f = (x * x * y).sum()
    (gx,) = ag.grad(f, x, create_graph=True)  # 2 x y
    gxy, gxx = ag.grad(gx.sum(), [y, x])
    np.testing.assert_allclose(npy(gxy), 2 * np.array([1.0, 2.0, 3.0]), rtol=1e-14)
    np.testing.assert_allclose(npy(gxx), 2 * np.array([0.5, -1.0, 2.0]), rtol=1e-14)


def test_backward_create_graph_then_backward_of_grad():
    x = leaf(X)
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    np.testing.assert_allclose(npy(g), 3 * X ** 2, rtol=1e-12)
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(npy(x.grad), 6 * X, rtol=1e-12)


def test_logsumexp_full_hessian():
    """Hessian of logsumexp is diag(s) - s s^T, s = softmax(x); built row by row."""
    ag = _ag()
    x0 = np.array([0.3, -1.2, 2.0, 0.5])
    x = leaf(x0)
    (g,) = ag.grad(x.logsumexp(), x, create_graph=True)
    rows = []
    for i in range(4):
        e = np.zeros(4)
        e[i] = 1.0
        (r,) = ag.grad(g, x, fg.tensor(e), retain_graph=True)
        rows.append(npy(r))
    s = np.exp(x0 - x0.max())
    s /= s.sum()
    np.testing.assert_allclose(npy(g), s, rtol=1e-12)
    np.testing.assert_allclose(np.array(rows), np.diag(s) - np.outer(s, s), rtol=1e-10,
                               atol=1e-14)


def _mlp_loss(x, w1, w2):
    return ((((x @ w1).tanh()) @ w2) ** 2).sum()


def test_mlp_hessian_vector_product():
    ag = _ag()
    rng = np.random.default_rng(3)
    xn = rng.standard_normal((5, 3))
    w1n, w2n = rng.standard_normal((3, 4)) * 0.7, rng.standard_normal((4, 2)) * 0.7
    v1, v2 = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    x = fg.tensor(xn)
    w1, w2 = leaf(w1n), leaf(w2n)
    g1, g2 = ag.grad(_mlp_loss(x, w1, w2), [w1, w2], create_graph=True)
    assert g1.requires_grad and g2.requires_grad
    hv1, hv2 = ag.grad([g1, g2], [w1, w2], [fg.tensor(v1), fg.tensor(v2)])

    def gradient(a, b):
        wa, wb = leaf(a), leaf(b)
        ga, gb = ag.grad(_mlp_loss(x, wa, wb), [wa, wb])
        return npy(ga), npy(gb)

    eps = 1e-5
    p1, p2 = gradient(w1n + eps * v1, w2n + eps * v2)
    m1, m2 = gradient(w1n - eps * v1, w2n - eps * v2)
    np.testing.assert_allclose(npy(hv1), (p1 - m1) / (2 * eps), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(npy(hv2), (p2 - m2) / (2 * eps), rtol=1e-6, atol=1e-7)
    # and the first-order gradient itself against finite differences of the loss
    loss = lambda a, b: float(npy(_mlp_loss(x, fg.tensor(a), fg.tensor(b))))  # noqa: E731
    k = (1, 2)
    e = np.zeros_like(w1n)
    e[k] = 1e-6
    fd = (loss(w1n + e, w2n) - loss(w1n - e, w2n)) / 2e-6
    np.testing.assert_allclose(npy(g1)[k], fd, rtol=1e-6)


def test_second_order_through_views_and_broadcast():
    ag = _ag()
    a = leaf([[1.0], [2.0], [-1.5]])  # (3, 1)
    b = leaf([0.5, -1.0, 2.0, 0.25])  # (4,)
    f = ((a * b) ** 2).T.sum()
    ga, gb = ag.grad(f, [a, b], create_graph=True)  # 2 a sum(b^2), 2 b sum(a^2)
    (haa,) = ag.grad(ga.sum(), a, retain_graph=True)
    (hab,) = ag.grad(ga.sum(), b)
    bs = np.array([0.5, -1.0, 2.0, 0.25])
    as_ = np.array([1.0, 2.0, -1.5])
    assert haa.shape == (3, 1) and hab.shape == (4,)
    np.testing.assert_allclose(npy(haa), np.full((3, 1), 2 * (bs ** 2).sum()), rtol=1e-14)
    np.testing.assert_allclose(npy(hab), 4 * bs * as_.sum(), rtol=1e-14)


def test_create_graph_false_gives_constant_gradient():
    ag = _ag()
    x = leaf(X)
    (g,) = ag.grad((x ** 3).sum(), x)
    assert not g.requires_grad
    with pytest.raises(RuntimeError):
        ag.grad(g.sum(), x)


# ---------------------------------------------------------------------------
# gradgradcheck
# ---------------------------------------------------------------------------


def U(*shape, lo=-2.0, hi=2.0):
    return lambda rng: rng.uniform(lo, hi, size=shape)


def P(*shape):
    return U(*shape, lo=0.5, hi=2.0)


def NZ(*shape):
    return lambda rng: rng.uniform(0.3, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)


GG_CASES = [
    ("mul", lambda a, b: a * b, U(3, 4), U(3, 4)),
    ("mul_bcast", lambda a, b: a * b, U(3, 1), U(4)),
    ("mul_self", lambda a: a * a, U(3, 4)),
    ("div", lambda a, b: a / b, U(3, 4), NZ(3, 4)),
    ("exp", lambda a: a.exp(), U(3, 4)),
    ("log", lambda a: a.log(), P(3, 4)),
    ("sqrt", lambda a: a.sqrt(), P(3, 4)),
    ("tanh", lambda a: a.tanh(), U(3, 4)),
    ("sigmoid", lambda a: a.sigmoid(), U(3, 4)),
    ("sin", lambda a: a.sin(), U(3, 4)),
    ("cos", lambda a: a.cos(), U(3, 4)),
    ("erf", lambda a: a.erf(), U(3, 4)),
    ("gelu_none", lambda a: a.gelu(), U(3, 4)),
    ("gelu_tanh", lambda a: a.gelu("tanh"), U(3, 4)),
    ("pow_scalar", lambda a: a ** 3, U(3, 4)),
    ("pow_frac", lambda a: a ** 1.5, P(3, 4)),
    ("rpow", lambda a: 1.7 ** a, U(3, 4)),
    ("pow_tensor", lambda a, b: a ** b, P(3, 4), U(3, 4)),
    ("relu_times_self", lambda a: a.relu() * a, NZ(3, 4)),
    ("abs_times_self", lambda a: a.abs() * a, NZ(3, 4)),
    ("matmul", lambda a, b: a @ b, U(3, 4), U(4, 2)),
    ("matmul_batched", lambda a, b: a @ b, U(2, 2, 3), U(3, 2)),
    ("matmul_vv", lambda a, b: (a @ b) * (a @ b), U(4), U(4)),
    ("softmax", lambda a: a.softmax(-1), U(3, 4)),
    ("softmax_axis0", lambda a: a.softmax(0), U(3, 4)),
    ("log_softmax", lambda a: a.log_softmax(-1), U(3, 4)),
    ("log_softmax_axis0", lambda a: a.log_softmax(0), U(3, 4)),
    ("logsumexp", lambda a: a.logsumexp(1), U(3, 4)),
    ("sum_sq", lambda a: (a * a).sum(0), U(3, 4)),
    ("mean_sq", lambda a: (a * a).mean(), U(3, 4)),
    ("var", lambda a: a.var(1, correction=1), U(3, 4)),
    ("std", lambda a: a.std(0), U(3, 4)),
    ("prod", lambda a: a.prod(1), NZ(3, 4)),
    ("max_sq", lambda a: (a * a).max(1), U(3, 4)),
    ("getitem_sq", lambda a: a[[0, 2, 0], 1:] ** 2, U(3, 4)),
    ("reshape_T", lambda a: (a.reshape(4, 3).T * a) ** 2, U(3, 4)),
    ("concat_stack", lambda a, b: fg.stack([fg.concat([a, b]) ** 2, fg.concat([b, a])]),
     U(2, 3), U(2, 3)),
    ("take_along", lambda a: fg.take_along_axis(a * a, fg.tensor([[0, 0], [3, 1], [2, 2]]),
                                                axis=1), U(3, 4)),
    ("where", lambda a, b: fg.where(np.array([[True, False, True, False]] * 3), a * a, b.exp()),
     U(3, 4), U(3, 4)),
    ("maximum", lambda a, b: fg.maximum(a * a, b), U(3, 4), U(3, 4, lo=-0.5, hi=0.5)),
    ("clip", lambda a: a.clip(-1.0, 1.0) * a, U(3, 4, lo=-0.9, hi=0.9)),
    ("mlp", lambda x, w: ((x @ w).tanh() ** 2).sum(), U(3, 2), U(2, 3)),
]


@pytest.mark.parametrize("case", GG_CASES, ids=[c[0] for c in GG_CASES])
def test_gradgradcheck(case):
    name, fn, *gens = case
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    inputs = tuple(leaf(g(rng)) for g in gens)
    assert _ag().gradgradcheck(fn, inputs) is True


def test_gradgradcheck_with_explicit_grad_outputs():
    ag = _ag()
    x = leaf([[0.3, -0.2], [1.1, 0.4]])
    v = fg.tensor(np.array([[1.0, -2.0], [0.5, 3.0]]))
    assert ag.gradgradcheck(lambda a: a.tanh() * a, (x,), grad_outputs=(v,)) is True
