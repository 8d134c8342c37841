"""nn.utils: parameter flattening, penalty norms, gradient clipping, decay groups."""

import math

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import utils


def np_(t):
    return np.asarray(t.numpy(), dtype=np.float64)


def params_with_grads(rng, shapes=((3, 4), (4,), (2, 2, 2)), scale=1.0):
    ps = []
    for s in shapes:
        p = nn.Parameter(fg.tensor(rng.normal(size=s), dtype=fg.float64))
        p.grad = fg.tensor(scale * rng.normal(size=s), dtype=fg.float64)
        ps.append(p)
    return ps


def test_parameters_to_vector_and_back(rng):
    m = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    v = utils.parameters_to_vector(m.parameters())
    ref = np.concatenate([np_(p).ravel() for p in m.parameters()])
    np.testing.assert_allclose(np_(v), ref)
    assert v.shape == (11,)
    new = fg.tensor(np.arange(11, dtype=np.float32))
    utils.vector_to_parameters(new, m.parameters())
    np.testing.assert_array_equal(np_(m[0].weight), np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(np_(m[1].bias), [10])
    assert all(isinstance(p, nn.Parameter) and p.is_leaf for p in m.parameters())
    with pytest.raises(TypeError, match="expected fg.Tensor"):
        utils.vector_to_parameters([1.0] * 11, m.parameters())
    with pytest.raises(ValueError, match="11 elements"):
        utils.vector_to_parameters(fg.zeros((10,)), m.parameters())


def test_parameters_to_vector_is_differentiable():
    p = nn.Parameter(fg.tensor([[1.0, 2.0]], dtype=fg.float64))
    q = nn.Parameter(fg.tensor([3.0], dtype=fg.float64))
    v = utils.parameters_to_vector([p, q])
    (v * fg.tensor([1.0, 2.0, 3.0], dtype=fg.float64)).sum().backward()
    np.testing.assert_allclose(np_(p.grad), [[1.0, 2.0]])
    np.testing.assert_allclose(np_(q.grad), [3.0])


def test_penalty_norms_values_and_gradients(rng):
    ps = [nn.Parameter(fg.tensor(rng.normal(size=s), dtype=fg.float64)) for s in ((3, 2), (5,))]
    arrays = [np_(p) for p in ps]
    l1 = utils.l1_norm(ps)
    l2 = utils.squared_l2_norm(ps)
    assert l1.item() == pytest.approx(sum(np.abs(a).sum() for a in arrays), rel=1e-12)
    assert l2.item() == pytest.approx(sum((a * a).sum() for a in arrays), rel=1e-12)
    (l1 + 0.5 * l2).backward()
    for p, a in zip(ps, arrays):
        np.testing.assert_allclose(np_(p.grad), np.sign(a) + a, rtol=1e-12)
    assert utils.squared_l2_norm([]).item() == 0.0


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_numpy(rng, norm_type, max_norm):
    ps = params_with_grads(rng)
    grads = [np_(p.grad) for p in ps]
    flat = np.concatenate([g.ravel() for g in grads])
    if norm_type == math.inf:
        total_ref = np.abs(flat).max()
    else:
        total_ref = (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    total = utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type)
    assert total.ndim == 0
    assert total.item() == pytest.approx(total_ref, rel=1e-10)
    coef = min(max_norm / (total_ref + 1e-6), 1.0)
    for p, g in zip(ps, grads):
        np.testing.assert_allclose(np_(p.grad), g * coef, rtol=1e-10)
    new_flat = np.concatenate([np_(p.grad).ravel() for p in ps])
    if norm_type == 2.0:
        assert np.linalg.norm(new_flat) <= max_norm + 1e-9


def test_clip_grad_norm_edge_cases(rng):
    # A single tensor; parameters without grads are skipped.
    p = nn.Parameter(fg.tensor([3.0, 4.0], dtype=fg.float64))
    p.grad = fg.tensor([3.0, 4.0], dtype=fg.float64)
    q = nn.Parameter(fg.zeros((2,), dtype=fg.float64))
    assert utils.clip_grad_norm_([p, q], 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(np_(p.grad), [0.6, 0.8], rtol=1e-6)
    assert q.grad is None
    assert utils.clip_grad_norm_(p, 10.0).item() == pytest.approx(1.0, rel=1e-6)
    assert utils.clip_grad_norm_([q], 1.0).item() == 0.0
    # Non-finite totals.
    p.grad = fg.tensor([math.inf, 1.0], dtype=fg.float64)
    with pytest.raises(RuntimeError, match="non-finite"):
        utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(np_(p.grad), [math.inf, 1.0])  # untouched
    total = utils.clip_grad_norm_([p], 1.0)
    assert math.isinf(total.item())


def test_clip_grad_norm_on_a_model_after_backward():
    fg.manual_seed(0)
    m = nn.Linear(4, 3)
    (m(fg.randn((8, 4))) * 100).sum().backward()
    before = np.concatenate([np_(p.grad).ravel() for p in m.parameters()])
    total = utils.clip_grad_norm_(m.parameters(), 1.0)
    assert total.item() == pytest.approx(np.linalg.norm(before), rel=1e-5)
    after = np.concatenate([np_(p.grad).ravel() for p in m.parameters()])
    assert np.linalg.norm(after) == pytest.approx(1.0, rel=1e-4)


def test_clip_grad_value(rng):
    ps = params_with_grads(rng, scale=3.0)
    grads = [np_(p.grad) for p in ps]
    utils.clip_grad_value_(ps, 1.5)
    for p, g in zip(ps, grads):
        np.testing.assert_array_equal(np_(p.grad), np.clip(g, -1.5, 1.5))


class TinyTransformerBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln = nn.LayerNorm((4, 2))  # a 2-D normalization weight: still no decay
        self.proj = nn.Linear(8, 8)
        self.out = nn.Linear(8, 3, bias=False)
        self.gain = nn.Parameter(fg.ones(()))
        self.temperature = nn.Parameter(fg.ones((1,)))
        self.bn = nn.BatchNorm1d(8)
        self.gn = nn.GroupNorm(2, 8)
        self.rms = nn.RMSNorm(8)
        self.tied = self.proj  # the same module twice


def test_decay_groups_split():
    m = TinyTransformerBlock()
    groups = utils.decay_groups(m, 0.05)
    assert len(groups) == 2
    decay, no_decay = groups
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    ids = lambda ps: {id(p) for p in ps}  # noqa: E731
    assert ids(decay["params"]) == {id(m.proj.weight), id(m.out.weight)}
    assert ids(no_decay["params"]) == {
        id(m.ln.weight), id(m.ln.bias), id(m.proj.bias), id(m.gain), id(m.temperature),
        id(m.bn.weight), id(m.bn.bias), id(m.gn.weight), id(m.gn.bias), id(m.rms.weight)}
    # Every parameter exactly once, nothing lost, in named_parameters order.
    all_ids = [id(p) for p in m.parameters()]
    got = [id(p) for p in decay["params"]] + [id(p) for p in no_decay["params"]]
    assert sorted(got) == sorted(all_ids) and len(got) == len(set(got))
    assert [id(p) for p in decay["params"]] == [i for i in all_ids if i in ids(decay["params"])]


def test_decay_groups_shared_parameter_prefers_no_decay():
    a = nn.Linear(3, 3)
    m = nn.Module()
    m.a = a
    m.ln = nn.LayerNorm((3, 3))
    m.ln.weight = a.weight  # shared with a normalization layer: not decayed
    decay, no_decay = utils.decay_groups(m, 0.1)
    assert decay["params"] == []
    assert {id(p) for p in no_decay["params"]} == {id(a.weight), id(a.bias), id(m.ln.bias)}
