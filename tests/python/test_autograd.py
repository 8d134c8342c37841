"""Autograd engine semantics (leaves, accumulation, views, retain_grad, detach, grad
mode, errors, ``fg.autograd.grad``) and the pure-Python logic of
``ferrograd/autograd.py`` (finite differences, Jacobian comparison, messages, grad-mode
context managers against a fake engine switch).

Gradients are checked against closed forms computed with NumPy in float64.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ferrograd as fg


@pytest.fixture
def ag():
    """``ferrograd.autograd``, imported at test time (not at collection)."""
    from ferrograd import autograd

    return autograd


def leaf(a, dtype=np.float64):
    return fg.tensor(np.asarray(a, dtype=dtype), requires_grad=True)


def npy(t):
    return np.array(np.asarray(t.detach() if t.requires_grad else t), copy=True)


def close(t, expected, rtol=1e-12, atol=1e-12):
    assert t is not None, "expected a gradient, got None"
    expected = np.asarray(expected, dtype=np.float64)
    assert tuple(t.shape) == expected.shape, f"shape {tuple(t.shape)} != {expected.shape}"
    np.testing.assert_allclose(npy(t).astype(np.float64), expected, rtol=rtol, atol=atol)


X = np.array([[0.5, -1.25, 2.0, 0.75], [1.5, -0.5, -2.5, 0.25], [-1.0, 3.0, 0.125, -0.75]])


# ===========================================================================
# Pure-Python logic of autograd.py (does not need the engine)
# ===========================================================================


class TestNumericalJacobian:
    def test_square_is_diagonal(self, ag):
        x = np.array([1.0, -2.0, 3.0])
        jac, out = ag._numerical_jacobian(lambda a: [a[0] ** 2], [x], [0], eps=1e-6)
        np.testing.assert_allclose(out[0], x ** 2)
        assert jac[0][0].shape == (3, 3)
        np.testing.assert_allclose(jac[0][0], np.diag(2 * x), atol=1e-8)

    def test_matmul_two_inputs_two_outputs(self, ag):
        rng = np.random.default_rng(0)
        a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
        jac, out = ag._numerical_jacobian(lambda xs: [xs[0] @ xs[1], np.sin(xs[0])],
                                          [a, b], [0, 1], eps=1e-6)
        # d(a@b)[i,j]/da[i,k] = b[k,j]  -> row (i,k), column (i,j)
        ja = np.zeros((6, 8))
        for i in range(2):
            for k in range(3):
                for j in range(4):
                    ja[i * 3 + k, i * 4 + j] = b[k, j]
        jb = np.zeros((12, 8))
        for k in range(3):
            for j in range(4):
                for i in range(2):
                    jb[k * 4 + j, i * 4 + j] = a[i, k]
        np.testing.assert_allclose(jac[0][0], ja, atol=1e-8)
        np.testing.assert_allclose(jac[1][0], jb, atol=1e-8)
        np.testing.assert_allclose(jac[0][1], np.diag(np.cos(a).reshape(-1)), atol=1e-8)
        np.testing.assert_allclose(jac[1][1], np.zeros((12, 6)), atol=0)
        np.testing.assert_allclose(out[1], np.sin(a))

    def test_inputs_restored_and_not_aliased(self, ag):
        x = np.array([[1.0, 2.0], [3.0, 4.0]])
        orig = x.copy()
        seen = []
        ag._numerical_jacobian(lambda a: (seen.append(a[0].copy()), [a[0].sum()])[1], [x], [0])
        np.testing.assert_array_equal(x, orig)  # the caller's array is untouched
        # every call perturbs at most one element, by exactly +-eps
        for s in seen:
            assert np.count_nonzero(s != orig) <= 1

    def test_strided_input(self, ag):
        base = np.arange(12.0).reshape(3, 4)
        x = base.T[::2]  # non-contiguous (2, 3)
        jac, _ = ag._numerical_jacobian(lambda a: [a[0] * np.array([1.0, 2.0, 3.0])], [x], [0])
        np.testing.assert_allclose(jac[0][0], np.diag(np.tile([1.0, 2.0, 3.0], 2)), atol=1e-8)
        np.testing.assert_array_equal(base, np.arange(12.0).reshape(3, 4))

    def test_zero_size_and_scalar(self, ag):
        jac, out = ag._numerical_jacobian(lambda a: [a[0].sum() + a[1] ** 3],
                                          [np.zeros((0, 3)), np.array(2.0)], [0, 1])
        assert jac[0][0].shape == (0, 1)
        np.testing.assert_allclose(jac[1][0], [[12.0]], rtol=1e-7)
        assert out[0].shape == ()

    def test_only_wrt_inputs_are_perturbed(self, ag):
        calls = []

        def f(a):
            calls.append(a[1])
            return [a[0] * 2]

        const = object()
        jac, _ = ag._numerical_jacobian(f, [np.ones(2), const], [0])
        assert all(c is const for c in calls)
        assert list(jac) == [0]
        assert len(calls) == 1 + 2 * 2  # base + (+eps, -eps) per element


class TestCompareAndMessages:
    def test_pass_within_tolerance(self, ag):
        n = np.array([[1.0, 2.0], [0.0, -3.0]])
        a = n + np.array([[1e-4, -1e-3], [5e-6, 2e-3]])  # within atol + rtol*|n|
        ag._compare_jacobians(a, n, 0, 0, (2,), (2,), atol=1e-5, rtol=1e-3)

    def test_mismatch_names_indices_positions_and_values(self, ag):
        n = np.zeros((6, 4))
        a = n.copy()
        a[4, 3] = 0.5  # input element 4 of (2, 3) = (1, 1); output element 3 of (2, 2) = (1, 1)
        with pytest.raises(ag.GradcheckError) as ei:
            ag._compare_jacobians(a, n, 2, 1, (2, 3), (2, 2), atol=1e-5, rtol=1e-3)
        msg = str(ei.value)
        assert "input 2" in msg and "output 1" in msg
        assert "[1, 1]" in msg
        assert "0.5" in msg and "numerical=0.0" in msg
        assert "input element 4" in msg and "output element 3" in msg

    def test_worst_entry_reported(self, ag):
        n = np.ones((3, 1))
        a = n.copy()
        a[0, 0] = 1.1
        a[2, 0] = 3.0
        with pytest.raises(ag.GradcheckError, match=r"analytical=3\.0"):
            ag._compare_jacobians(a, n, 0, 0, (3,), (), atol=1e-5, rtol=1e-3)

    def test_nan_is_a_mismatch(self, ag):
        with pytest.raises(ag.GradcheckError, match="nan"):
            ag._compare_jacobians(np.array([[np.nan]]), np.array([[1.0]]), 0, 0, (), (),
                                  atol=1e-5, rtol=1e-3)

    def test_shape_mismatch(self, ag):
        with pytest.raises(ag.GradcheckError, match="shape"):
            ag._compare_jacobians(np.zeros((2, 3)), np.zeros((3, 2)), 0, 0, (2,), (3,),
                                  atol=1e-5, rtol=1e-3)

    def test_tolerance_is_relative_to_numerical(self, ag):
        n = np.array([[1000.0]])
        ag._compare_jacobians(n + 0.9, n, 0, 0, (), (), atol=1e-5, rtol=1e-3)
        with pytest.raises(ag.GradcheckError):
            ag._compare_jacobians(n + 1.1, n, 0, 0, (), (), atol=1e-5, rtol=1e-3)

    def test_empty_jacobian_passes(self, ag):
        ag._compare_jacobians(np.zeros((0, 3)), np.zeros((0, 3)), 0, 0, (0,), (3,), 1e-5, 1e-3)

    def test_error_is_runtime_error(self, ag):
        assert issubclass(ag.GradcheckError, RuntimeError)

    def test_position(self, ag):
        assert ag._position((3, 4), 7) == (1, 3)
        assert ag._position((), 0) == ()
        assert ag._position((2, 1, 3), 5) == (1, 0, 2)


class TestArgumentValidation:
    def test_gradcheck_rejects_float32(self, ag):
        x = fg.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
        with pytest.raises(ValueError, match=r"astype\(fg\.float64\)"):
            ag.gradcheck(lambda a: a * 2, (x,))

    def test_gradcheck_names_the_float32_input(self, ag):
        x = fg.tensor(np.ones(3), requires_grad=True)
        y = fg.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
        with pytest.raises(ValueError, match="input 1"):
            ag.gradcheck(lambda a, b: a * b, (x, y))

    def test_gradcheck_needs_an_input_requiring_grad(self, ag):
        with pytest.raises(ValueError, match="requires_grad"):
            ag.gradcheck(lambda a: a * 2, fg.tensor(np.ones(3)))

    def test_gradcheck_reports_outputs_without_graph(self, ag):
        x = fg.tensor(np.ones(3), requires_grad=True)
        fresh = lambda a: fg.tensor(np.asarray(a.detach()) * 2.0)  # noqa: E731
        with pytest.raises(ag.GradcheckError, match="requires grad"):
            ag.gradcheck(fresh, x)
        assert ag.gradcheck(fresh, x, raise_exception=False) is False
        with pytest.raises(TypeError, match="output 0"):
            ag.gradcheck(lambda a: 3.0, x)

    def test_grad_outputs_length_mismatch(self, ag):
        x = fg.tensor(np.ones(3), requires_grad=True)
        with pytest.raises(ValueError, match="grad_outputs"):
            ag.grad([x, x], [x], grad_outputs=[None])

    def test_grad_rejects_non_tensors(self, ag):
        x = fg.tensor(np.ones(3), requires_grad=True)
        with pytest.raises(TypeError, match="inputs"):
            ag.grad(x, [x, 3.0])
        with pytest.raises(TypeError, match="outputs"):
            ag.grad(5, x)
        with pytest.raises(TypeError, match="grad_outputs"):
            ag.grad(x, x, grad_outputs=[1.0])

    def test_public_names(self, ag):
        for name in ("grad", "no_grad", "enable_grad", "set_grad_enabled",
                     "is_grad_enabled", "gradcheck", "gradgradcheck", "GradcheckError"):
            assert name in ag.__all__ and hasattr(ag, name)
            assert getattr(ag, name).__doc__, name


class TestGradModeLogic:
    """The context managers/decorators against a fake engine switch (monkeypatched), so
    their bookkeeping is tested independently of the engine."""

    @pytest.fixture
    def state(self, ag, monkeypatch):
        st = {"on": True, "calls": 0}

        def set_enabled(mode):
            st["calls"] += 1
            prev, st["on"] = st["on"], bool(mode)
            return prev

        monkeypatch.setattr(ag._core, "_set_grad_enabled", set_enabled, raising=False)
        monkeypatch.setattr(ag._core, "_is_grad_enabled", lambda: st["on"], raising=False)
        return st

    def test_no_grad_context(self, ag, state):
        with ag.no_grad():
            assert state["on"] is False and ag.is_grad_enabled() is False
        assert state["on"] is True

    def test_restored_on_exception(self, ag, state):
        with pytest.raises(KeyError):
            with ag.no_grad():
                raise KeyError("x")
        assert state["on"] is True
        state["on"] = False
        with pytest.raises(ZeroDivisionError):
            with ag.enable_grad():
                assert state["on"] is True
                1 / 0
        assert state["on"] is False

    def test_nesting(self, ag, state):
        with ag.no_grad():
            with ag.enable_grad():
                assert state["on"] is True
                with ag.no_grad():
                    assert state["on"] is False
                assert state["on"] is True
            assert state["on"] is False
        assert state["on"] is True

    def test_same_instance_reentered(self, ag, state):
        ng, eg = ag.no_grad(), ag.enable_grad()
        with ng:
            with eg:
                with ng:
                    assert state["on"] is False
                assert state["on"] is True
            assert state["on"] is False
        assert state["on"] is True

    def test_decorators(self, ag, state):
        @ag.no_grad()
        def f(a, b=1):
            """doc of f"""
            return state["on"], a + b

        @ag.no_grad
        def g():
            return state["on"]

        @ag.enable_grad()
        def h():
            return state["on"]

        assert f(1, b=2) == (False, 3)
        assert f.__name__ == "f" and f.__doc__ == "doc of f"
        assert g() is False
        assert state["on"] is True
        state["on"] = False
        assert h() is True
        assert state["on"] is False

    def test_decorator_restores_on_exception_and_recursion(self, ag, state):
        @ag.no_grad()
        def boom(n):
            if n == 0:
                raise ValueError("done")
            return boom(n - 1)

        with pytest.raises(ValueError):
            boom(3)
        assert state["on"] is True

    def test_generator_decorator(self, ag, state):
        @ag.no_grad()
        def gen():
            for i in range(3):
                yield i, state["on"]

        out = []
        for item in gen():
            out.append(item)
            assert state["on"] is True  # the caller's mode between steps
        assert out == [(0, False), (1, False), (2, False)]

    def test_set_grad_enabled_function_and_context(self, ag, state):
        ag.set_grad_enabled(False)
        assert state["on"] is False
        ag.set_grad_enabled(True)
        assert state["on"] is True
        with ag.set_grad_enabled(False):
            assert state["on"] is False
        assert state["on"] is True
        state["on"] = False
        with ag.set_grad_enabled(True):
            assert state["on"] is True
        assert state["on"] is False

    def test_set_grad_enabled_decorator_leaves_mode(self, ag, state):
        @ag.set_grad_enabled(False)
        def f():
            return state["on"]

        assert state["on"] is True  # decorating does not switch the mode
        assert f() is False
        assert state["on"] is True


class TestGradcheckOrchestration:
    """gradcheck/gradgradcheck end to end against a fake ``_core._grad`` (monkeypatched)
    and forward functions computed in NumPy, so the orchestration (one-hot rows, flags,
    shape/dtype checks, error reports) is tested independently of the engine."""

    @pytest.fixture
    def fake(self, ag, monkeypatch):
        st = {"calls": [], "made": [], "rules": {}}

        def make(kind, value, **extra):
            t = fg.tensor(np.asarray(value, dtype=np.float64), requires_grad=True)
            st["made"].append((t, kind, extra))
            return t

        def fake_grad(outputs, inputs, gos, retain_graph, create_graph, allow_unused):
            st["calls"].append(dict(n_out=len(outputs), n_in=len(inputs), retain=retain_graph,
                                    create=create_graph, unused=allow_unused,
                                    gos=[None if g is None else np.asarray(g).copy()
                                         for g in gos]))
            total = [None] * len(inputs)
            for out, go in zip(outputs, gos):
                (kind, extra), = [(k, e) for t, k, e in st["made"] if t is out]
                v = np.ones(tuple(out.shape)) if go is None else np.asarray(go, np.float64)
                xs = [np.asarray(x.detach()) for x in inputs]
                res = st["rules"][kind](v, xs, extra, create_graph, make)
                for k, r in enumerate(res):
                    if r is not None:
                        total[k] = r if total[k] is None else total[k]  # one output each
            return total

        monkeypatch.setattr(ag._core, "_grad", fake_grad, raising=False)
        st["make"] = make
        return st

    def test_correct_gradient_passes_with_one_hot_rows(self, ag, fake):
        make = fake["make"]
        A = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
        B = np.array([[1.0, 2.0, -3.0], [0.5, -0.5, 4.0]])

        def fn(a, b):
            xa, xb = np.asarray(a.detach()), np.asarray(b.detach())
            return make("prod", xa * xb), make("suma", (xa ** 2).sum())

        fake["rules"]["prod"] = lambda v, xs, e, c, mk: [fg.tensor(v * xs[1]),
                                                          fg.tensor(v * xs[0])]
        fake["rules"]["suma"] = lambda v, xs, e, c, mk: [fg.tensor(v * 2 * xs[0]), None]
        assert ag.gradcheck(fn, (leaf(A), leaf(B))) is True
        calls = fake["calls"]
        assert len(calls) == 6 + 1  # one backward per output element
        for c in calls:
            assert c["retain"] and c["unused"] and not c["create"] and c["n_in"] == 2
            (g,) = c["gos"]
            assert g.sum() == 1.0 and np.count_nonzero(g) == 1
        firsts = [np.argmax(c["gos"][0].reshape(-1)) for c in calls[:6]]
        assert firsts == list(range(6))

    def test_wrong_gradient_reports_position(self, ag, fake):
        make = fake["make"]
        A = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])

        def fn(a):
            return make("sq", np.asarray(a.detach()) ** 2)

        def rule(v, xs, e, c, mk):
            g = v * 2 * xs[0]
            g[1, 2] *= 1.5  # d out[1,2] / d a[1,2] wrong
            return [fg.tensor(g)]

        fake["rules"]["sq"] = rule
        with pytest.raises(ag.GradcheckError) as ei:
            ag.gradcheck(fn, leaf(A))
        msg = str(ei.value)
        assert "output 0 with respect to input 0" in msg
        assert "output[0][1, 2]" in msg and "input[0][1, 2]" in msg
        assert "analytical=-2.25" in msg and "numerical=-1.5" in msg
        assert ag.gradcheck(fn, leaf(A), raise_exception=False) is False

    def test_wrong_shape_or_dtype_of_gradient(self, ag, fake):
        make = fake["make"]
        fn = lambda a: make("id", np.asarray(a.detach()))  # noqa: E731
        fake["rules"]["id"] = lambda v, xs, e, c, mk: [fg.tensor(v.reshape(-1))]
        with pytest.raises(ag.GradcheckError, match="shape"):
            ag.gradcheck(fn, leaf(np.ones((2, 2))))
        fake["rules"]["id"] = lambda v, xs, e, c, mk: [fg.tensor(v.astype(np.float32))]
        with pytest.raises(ag.GradcheckError, match="dtype"):
            ag.gradcheck(fn, leaf(np.ones((2, 2))))

    def test_zero_size_output_needs_zero_gradients(self, ag, fake):
        make = fake["make"]
        fn = lambda a: make("empty", np.zeros((0, 2)))  # noqa: E731
        fake["rules"]["empty"] = lambda v, xs, e, c, mk: [fg.tensor(np.zeros(3))]
        assert ag.gradcheck(fn, leaf(np.ones(3)))
        fake["rules"]["empty"] = lambda v, xs, e, c, mk: [fg.tensor(np.ones(3))]
        with pytest.raises(ag.GradcheckError, match="empty output"):
            ag.gradcheck(fn, leaf(np.ones(3)))

    def test_gradgradcheck_uses_create_graph(self, ag, fake):
        make = fake["make"]
        A = np.array([0.5, -1.0, 2.0])
        fn = lambda a: make("cube", np.asarray(a.detach()) ** 3)  # noqa: E731
        # first level: g = v * 3 a^2, recorded so the second level can differentiate it
        fake["rules"]["cube"] = lambda v, xs, e, c, mk: [mk("g", v * 3 * xs[0] ** 2, v=v)]
        fake["rules"]["g"] = lambda v, xs, e, c, mk: [fg.tensor(v * 6 * e["v"] * xs[0])]
        assert ag.gradgradcheck(fn, leaf(A)) is True
        assert any(c["create"] for c in fake["calls"])
        fake["rules"]["g"] = lambda v, xs, e, c, mk: [fg.tensor(v * 5 * e["v"] * xs[0])]
        with pytest.raises(ag.GradcheckError):
            ag.gradgradcheck(fn, leaf(A))

    def test_grad_wrapper_defaults(self, ag, fake):
        make = fake["make"]
        fake["rules"]["k"] = lambda v, xs, e, c, mk: [fg.tensor(v * 0 + 1.0)]
        x = leaf([1.0, 2.0])
        out = make("k", np.array(3.0))
        res = ag.grad(out, x)
        assert isinstance(res, tuple) and len(res) == 1
        c = fake["calls"][-1]
        assert c["gos"] == [None] and c["retain"] is False and c["create"] is False
        ag.grad([out], [x], create_graph=True)
        c = fake["calls"][-1]
        assert c["retain"] is True and c["create"] is True  # retain defaults to create
        ag.grad(out, x, fg.tensor(2.0), retain_graph=True, allow_unused=True)
        c = fake["calls"][-1]
        assert c["retain"] is True and c["unused"] is True and float(c["gos"][0]) == 2.0


# ===========================================================================
# Engine semantics (need the engine)
# ===========================================================================


def test_leaf_flags():
    x = leaf([1.0, 2.0])
    assert x.requires_grad and x.is_leaf and x.grad_fn is None and x.grad is None
    c = fg.tensor(np.array([1.0, 2.0]))
    assert not c.requires_grad and c.is_leaf
    y = x + x
    assert y.requires_grad and not y.is_leaf
    assert y.grad_fn == "AddBackward"
    z = x * c
    assert isinstance(z.grad_fn, str) and z.grad_fn.endswith("Backward") and z.requires_grad
    w = c * c
    assert not w.requires_grad and w.grad_fn is None and w.is_leaf


def test_requires_grad_setters():
    x = fg.tensor(np.array([1.0, 2.0]))
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad = False
    assert not x.requires_grad
    x.requires_grad_(True)
    (x * 3.0).sum().backward()
    close(x.grad, [3.0, 3.0])


@pytest.mark.parametrize("maker", [
    lambda: fg.tensor([1, 2], requires_grad=True),
    lambda: fg.tensor([True, False], requires_grad=True),
    lambda: fg.tensor([1, 2]).requires_grad_(),
    lambda: setattr(fg.tensor([1, 2]), "requires_grad", True),
    lambda: fg.zeros((2,), dtype=fg.int64, requires_grad=True),
], ids=["tensor_int", "tensor_bool", "requires_grad_", "setter", "zeros_int"])
def test_requires_grad_on_int_or_bool_raises(maker):
    with pytest.raises(RuntimeError):
        maker()


def test_float32_grad_keeps_dtype():
    x = leaf([1.0, 2.0], np.float32)
    (x * x).sum().backward()
    assert x.grad.dtype == fg.float32
    close(x.grad, [2.0, 4.0])


def test_scalar_backward_simple():
    x = leaf(X)
    ((x * x).sum() * 0.5).backward()
    close(x.grad, X)


def test_accumulation_across_backward_calls():
    x = leaf(X)
    (x * 2.0).sum().backward()
    (x * x).sum().backward()
    close(x.grad, 2.0 + 2 * X)


def test_grad_none_resets():
    x = leaf(X)
    (x.exp()).sum().backward()
    x.grad = None
    assert x.grad is None
    (x * 3.0).sum().backward()
    close(x.grad, np.full_like(X, 3.0))


def test_grad_assignable_then_accumulates():
    x = leaf(X)
    x.grad = fg.tensor(np.ones_like(X))
    (x * 2.0).sum().backward()
    close(x.grad, np.full_like(X, 3.0))


def test_grad_assign_wrong_shape_raises():
    x = leaf(X)
    with pytest.raises((ValueError, RuntimeError)):
        x.grad = fg.tensor(np.ones(3))


def test_leaf_used_twice_diamond():
    x = leaf(X)
    a = x * x
    b = x.sin()
    (a + b + a * b).sum().backward()
    expected = 2 * X + np.cos(X) + 2 * X * np.sin(X) + X ** 2 * np.cos(X)
    close(x.grad, expected, rtol=1e-12, atol=1e-12)


def test_backward_with_gradient_argument():
    x = leaf(X)
    v = np.arange(12.0).reshape(3, 4)
    (x * 3.0).backward(gradient=fg.tensor(v))
    close(x.grad, 3 * v)


def test_backward_non_scalar_without_gradient_raises():
    x = leaf(X)
    with pytest.raises(RuntimeError):
        (x * 2.0).backward()


def test_backward_one_element_non_scalar_ok():
    x = leaf([[2.0]])
    (x * x).backward()
    close(x.grad, [[4.0]])


def test_backward_gradient_wrong_shape_raises():
    x = leaf(X)
    with pytest.raises((ValueError, RuntimeError)):
        (x * 2.0).backward(gradient=fg.tensor(np.ones(3)))


def test_backward_on_tensor_without_grad_raises():
    c = fg.tensor(np.array([1.0, 2.0]))
    with pytest.raises(RuntimeError):
        (c * 2.0).sum().backward()


def test_broadcasting_reduced_to_input_shape():
    a = leaf([[1.0], [2.0], [3.0]])  # (3, 1)
    b = leaf([1.0, -2.0, 0.5, 4.0])  # (4,)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,)
    close(a.grad, np.full((3, 1), 3.5))
    close(b.grad, np.full(4, 6.0))


def test_broadcast_0d_with_matrix():
    s = leaf(2.0)
    x = leaf(X)
    (s * x + s).sum().backward()
    assert s.grad.shape == ()
    close(s.grad, X.sum() + 12)
    close(x.grad, np.full_like(X, 2.0))


def test_broadcast_leading_and_middle_dims():
    a = leaf(np.ones((2, 1, 4)))
    b = leaf(np.arange(12.0).reshape(3, 4))
    (a * b).sum().backward()
    close(a.grad, np.broadcast_to(np.arange(12.0).reshape(3, 4).sum(0), (2, 1, 4)))
    close(b.grad, np.full((3, 4), 2.0))


def test_grads_through_views_to_base():
    x = leaf(X)
    v = x[1:, ::2]
    t = x.T
    r = x.reshape(2, 6)
    (v * 2.0).sum().backward()
    (t[0] * 10.0).sum().backward()  # column 0 of x
    (r[1] * 100.0).sum().backward()  # rows 1 (last 2 elements) and 2 of x
    expected = np.zeros_like(X)
    expected[1:, ::2] += 2.0
    expected[:, 0] += 10.0
    expected.reshape(-1)[6:] += 100.0
    close(x.grad, expected)


def test_view_of_view_and_flip_and_squeeze():
    x = leaf(X)
    y = x.unsqueeze(0).flip(2)[0, ::-1, 1:3].squeeze()
    (y * fg.tensor(np.array([[1.0, 2.0]] * 3))).sum().backward()
    expected = np.zeros_like(X)
    # flip(2) maps column c of y0 to column 3 - c of x; columns 1:3 -> x columns 2, 1
    expected[:, 2] = 1.0
    expected[:, 1] = 2.0
    close(x.grad, expected)


def test_retain_grad_on_non_leaf():
    x = leaf(X)
    y = x * 2.0
    y.retain_grad()
    w = y + 1.0
    (y * y).sum().backward()
    close(y.grad, 4 * X)
    close(x.grad, 8 * X)
    assert w.grad is None  # non-leaf without retain_grad gets no .grad


def test_non_leaf_grad_is_none_without_retain():
    x = leaf(X)
    y = x.exp()
    y.sum().backward()
    assert y.grad is None
    close(x.grad, np.exp(X))


def test_detach_cuts_graph():
    x = leaf(X)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert d._shares_storage(x)
    (x * d).sum().backward()
    close(x.grad, X)  # not 2X: d is a constant


def test_detach_of_non_leaf():
    x = leaf(X)
    y = (x * 3.0).detach()
    assert not y.requires_grad and y.grad_fn is None
    (x * y).sum().backward()
    close(x.grad, 3 * X)


def test_no_grad_blocks_recording():
    x = leaf(X)
    assert fg.is_grad_enabled()
    with fg.no_grad():
        assert not fg.is_grad_enabled()
        y = x * 2.0
        z = x.exp().sum()
    assert fg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert not z.requires_grad
    close(y, 2 * X)


def test_no_grad_decorator():
    x = leaf(X)

    @fg.no_grad()
    def f(t):
        return t * 2.0

    y = f(x)
    assert not y.requires_grad
    assert fg.is_grad_enabled()
    assert (x * 2.0).requires_grad


def test_no_grad_restores_on_exception():
    with pytest.raises(ValueError):
        with fg.no_grad():
            raise ValueError("boom")
    assert fg.is_grad_enabled()
    assert (leaf(X) * 2.0).requires_grad


def test_enable_grad_inside_no_grad():
    x = leaf(X)
    with fg.no_grad():
        with fg.enable_grad():
            assert fg.is_grad_enabled()
            y = x * x
        z = x * x
    assert y.requires_grad and not z.requires_grad
    y.sum().backward()
    close(x.grad, 2 * X)


def test_set_grad_enabled_real_engine():
    x = leaf(X)
    prev = fg.set_grad_enabled(False)
    try:
        assert not fg.is_grad_enabled()
        assert not (x * 2.0).requires_grad
    finally:
        fg.set_grad_enabled(True)
    assert fg.is_grad_enabled()
    with fg.set_grad_enabled(False):
        assert not (x * 2.0).requires_grad
    assert (x * 2.0).requires_grad
    assert prev is not None


def test_reexports_are_the_same_objects(ag):
    assert fg.autograd is ag
    assert fg.no_grad is ag.no_grad and fg.enable_grad is ag.enable_grad
    assert fg.set_grad_enabled is ag.set_grad_enabled
    assert fg.is_grad_enabled is ag.is_grad_enabled


def test_sgd_step_under_no_grad():
    w = leaf(X)
    (w * w).sum().backward()
    with fg.no_grad():
        w -= 0.5 * w.grad
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    close(w, 0.0 * X, atol=1e-15)
    w.grad = None
    (w + 1.0).sum().backward()
    close(w.grad, np.ones_like(X))


def test_leaf_created_in_no_grad_can_require_grad():
    with fg.no_grad():
        x = leaf(X)
    assert x.requires_grad
    (x * 2.0).sum().backward()
    close(x.grad, np.full_like(X, 2.0))


# ----- errors ---------------------------------------------------------------


def test_second_backward_through_freed_graph_raises():
    x = leaf(X)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_second_backward_and_grads_double():
    x = leaf(X)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    g1 = npy(x.grad)
    y.backward()
    close(x.grad, 2 * g1)
    close(x.grad, 2 * (np.exp(X) * (X + 1)), rtol=1e-12)


def test_grad_twice_without_retain_raises(ag):
    x = leaf(X)
    y = (x * x).sum()
    ag.grad(y, x)
    with pytest.raises(RuntimeError, match="retain_graph"):
        ag.grad(y, x)


def test_inplace_on_a_leaf_that_requires_grad_is_refused():
    # In-place ops on non-leaves are recorded (tests/python/test_autograd_inplace.py);
    # a leaf that requires grad may only be updated under no_grad, as in PyTorch.
    x = leaf(X)
    y = x.exp()
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x *= 2.0
    # The gradient through y is unaffected by the refused write.
    y.sum().backward()
    close(x.grad, np.exp(X))


def test_inplace_on_saved_constant_detected_at_backward():
    # version counters also cover tensors that do not require grad
    x = leaf([1.0, 2.0, 3.0])
    c = fg.tensor(np.array([1.0, 1.0, 1.0]))
    y = x * c
    c += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_setitem_on_saved_constant_detected_at_backward():
    x = leaf([1.0, 2.0, 3.0])
    c = fg.tensor(np.array([1.0, 1.0, 1.0]))
    y = x * c
    c[0] = 7.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_no_grad_update_of_saved_leaf_detected_at_backward():
    w = leaf([1.0, 2.0, 3.0])
    y = (w * w).sum()
    with fg.no_grad():
        w -= 1.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_inplace_not_saved_after_no_grad_update_is_fine():
    w = leaf([1.0, 2.0, 3.0])
    y = (w + 1.0).sum()  # add saves nothing
    with fg.no_grad():
        w *= 2.0
    y.backward()
    close(w.grad, np.ones(3))


def test_tensor_constructor_makes_a_new_leaf():
    x = leaf(X)
    t = fg.tensor(x)
    assert t.is_leaf and not t.requires_grad and t.grad_fn is None
    t2 = fg.tensor(x, requires_grad=True)
    assert t2.is_leaf and t2.requires_grad and t2.grad_fn is None
    (t2 * 2.0).sum().backward()
    assert x.grad is None
    close(t2.grad, np.full_like(X, 2.0))


def test_view_method_is_recorded():
    x = leaf(X)
    y = x.view(6, 2)
    assert y.requires_grad
    (y * fg.tensor(np.arange(12.0).reshape(6, 2))).sum().backward()
    close(x.grad, np.arange(12.0).reshape(3, 4))


# ----- fg.autograd.grad --------------------------------------------------------


def test_grad_does_not_touch_dot_grad(ag):
    x = leaf(X)
    (gx,) = ag.grad((x * x).sum(), x)
    close(gx, 2 * X)
    assert x.grad is None


def test_grad_returns_tuple_and_multiple_inputs(ag):
    x, y = leaf(X), leaf(X[::-1].copy())
    res = ag.grad((x * y).sum(), [x, y])
    assert isinstance(res, tuple) and len(res) == 2
    close(res[0], X[::-1])
    close(res[1], X)


def test_grad_multiple_outputs_sum(ag):
    x = leaf(X)
    v = np.linspace(-1, 1, 12).reshape(3, 4)
    (g,) = ag.grad([x * 2.0, x.sum()], [x], [fg.tensor(v), None])
    close(g, 2 * v + 1)


def test_grad_allow_unused(ag):
    x, u = leaf(X), leaf([1.0, 2.0])
    y = (x * 2.0).sum()
    gx, gu = ag.grad(y, [x, u], allow_unused=True, retain_graph=True)
    close(gx, np.full_like(X, 2.0))
    assert gu is None
    with pytest.raises(RuntimeError):
        ag.grad(y, [x, u])


def test_grad_non_scalar_needs_grad_outputs(ag):
    x = leaf(X)
    with pytest.raises(RuntimeError):
        ag.grad(x * 2.0, x)
    (g,) = ag.grad(x * 2.0, x, fg.tensor(np.ones_like(X)))
    close(g, np.full_like(X, 2.0))


def test_grad_wrt_non_leaf(ag):
    x = leaf(X)
    h = x.tanh()
    y = (h * h).sum()
    (gh,) = ag.grad(y, h)
    close(gh, 2 * np.tanh(X), rtol=1e-12)


def test_grad_of_output_not_requiring_grad_raises(ag):
    c = fg.tensor(X)
    x = leaf(X)
    with pytest.raises(RuntimeError):
        ag.grad((c * 2.0).sum(), x)


def test_grad_create_graph_result_requires_grad(ag):
    x = leaf(X)
    (g,) = ag.grad((x ** 3).sum(), x, create_graph=True)
    assert g.requires_grad and not g.is_leaf
    (g2,) = ag.grad((x ** 3).sum(), x)
    assert not g2.requires_grad


def test_zero_size_backward():
    x = leaf(np.zeros((0, 3)))
    y = leaf(np.ones(3))
    (x * y).sum().backward()
    assert x.grad.shape == (0, 3)
    close(y.grad, np.zeros(3))


# ----- gradcheck itself -------------------------------------------------------


def test_gradcheck_passes_and_returns_true(ag):
    x = leaf(X)
    assert ag.gradcheck(lambda a: (a * a).sin(), (x,)) is True


def test_gradcheck_detects_wrong_gradient(ag):
    # x * x.detach() has analytic gradient x, but numerically 2x.
    x = leaf(X)
    with pytest.raises(ag.GradcheckError) as ei:
        ag.gradcheck(lambda a: a * a.detach(), (x,))
    msg = str(ei.value)
    assert "input 0" in msg and "output 0" in msg and "analytical" in msg
    assert ag.gradcheck(lambda a: a * a.detach(), (x,), raise_exception=False) is False


def test_gradcheck_names_second_input_and_output(ag):
    x, y = leaf(X), leaf(X + 1.0)
    with pytest.raises(ag.GradcheckError, match=r"output 1 with respect to input 1"):
        ag.gradcheck(lambda a, b: (a * b, b * b.detach()), (x, y))


def test_gradcheck_skips_inputs_without_grad_and_non_tensors(ag):
    x = leaf(X)
    c = fg.tensor(X * 2.0)
    assert ag.gradcheck(lambda a, k, s: a * k * s, (x, c, 3.0))


def test_gradcheck_strided_leaf(ag):
    base = fg.tensor(np.arange(20.0).reshape(4, 5) / 7.0)
    x = base.T[1:, ::2].requires_grad_()
    assert not x.is_contiguous()
    assert ag.gradcheck(lambda a: (a * a).tanh(), (x,))


def test_gradcheck_zero_size(ag):
    x = leaf(np.zeros((0, 4)))
    assert ag.gradcheck(lambda a: a * 2.0, (x,))


def test_gradgradcheck_detects_wrong_second_derivative(ag):
    # First derivative of a**2 * a.detach() is analytic 2*a*a_det; the analytic second
    # derivative ignores the detached factor.
    x = leaf(X)
    with pytest.raises(ag.GradcheckError, match="analytical"):
        ag.gradgradcheck(lambda a: a * a * a.detach(), (x,))


# ----- deep graphs (in a subprocess: a stack overflow must not kill pytest) -------


def test_deep_graph_backward_and_drop():
    code = textwrap.dedent("""
        import ferrograd as fg, numpy as np
        x = fg.tensor(np.array([1.5]), requires_grad=True)
        y = x
        for _ in range(20000):
            y = y * 1.0 + 0.0
        y.sum().backward()
        print(float(x.grad.numpy()[0]))
        z = x
        for _ in range(20000):
            z = z * 1.0
        del z                      # dropping a deep unbackwarded graph
        print("dropped")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, f"rc={r.returncode}\nstdout={r.stdout}\nstderr={r.stderr[-2000:]}"
    lines = r.stdout.split()
    assert float(lines[0]) == 1.0 and lines[1] == "dropped"


def test_writing_a_tensor_that_requires_grad_is_tracked_not_silently_dropped():
    x = leaf([1.0, 2.0])
    z = fg.zeros(3, dtype=fg.float64)
    z[1:] = x
    z[1:] += x
    assert z.requires_grad and z.tolist() == [0.0, 2.0, 4.0]
    z.sum().backward()
    close(x.grad, [2.0, 2.0])
    w = fg.zeros(3, dtype=fg.float64)
    with fg.no_grad():
        w[1:] = x  # not recorded: w stays a plain tensor
    assert not w.requires_grad and w.tolist() == [0.0, 1.0, 2.0]
