"""Gradients of the Array API functions that PyTorch differentiates (sort's values,
cumulative_sum/prod, roll, repeat, tile, moveaxis, diff, unstack, tril/triu,
meshgrid), checked against central finite differences with fg.autograd.gradcheck,
and the functions whose outputs are integer indices record no graph."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.autograd import gradcheck

R = np.random.default_rng(7)


def _x(*shape, distinct=True):
    """A float64 leaf; distinct values keep sort away from ties (where the
    derivative of the permutation is undefined)."""
    if distinct:
        a = R.permutation(np.prod(shape, dtype=int)).reshape(shape) * 0.37 - 1.1
    else:
        a = R.uniform(-2, 2, shape)
    return fg.tensor(a.astype(np.float64), requires_grad=True)


CASES = {
    "sort": (lambda x: fg.sort(x, axis=0), (3, 4)),
    "sort_descending": (lambda x: fg.sort(x, descending=True), (2, 5)),
    "cumulative_sum": (lambda x: fg.cumulative_sum(x, axis=1, include_initial=True), (3, 9)),
    "cumulative_sum_1d": (lambda x: fg.cumulative_sum(x), (17,)),
    "cumulative_prod": (lambda x: fg.cumulative_prod(x, axis=-1), (2, 7)),
    "roll": (lambda x: fg.roll(x, (1, -2), axis=(0, 1)), (3, 4)),
    "roll_flat": (lambda x: fg.roll(x, 5), (2, 3)),
    "repeat_int": (lambda x: fg.repeat(x, 3, axis=1), (2, 3)),
    "repeat_counts": (lambda x: fg.repeat(x, fg.tensor([2, 0, 1])), (3,)),
    "tile": (lambda x: fg.tile(x, (2, 1, 3)), (2, 3)),
    "moveaxis": (lambda x: fg.moveaxis(x, (0, 1), (2, 0)), (2, 3, 4)),
    "diff": (lambda x: fg.diff(x, n=2, axis=0, prepend=x[:1] * 2.0), (5, 3)),
    "unstack": (lambda x: fg.unstack(x, axis=1), (2, 3)),
    "tril": (lambda x: fg.tril(x, k=-1), (2, 4, 4)),
    "triu": (lambda x: fg.triu(x, k=1), (3, 5)),
    "expand_dims": (lambda x: fg.expand_dims(x, axis=(0, 3)), (2, 3)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    fn, shape = CASES[name]
    assert gradcheck(fn, (_x(*shape),))


def test_cumulative_prod_gradient_through_zeros():
    # A product, not a quotient: zeros in the input still give finite gradients.
    x = fg.tensor(np.array([2.0, 0.0, 3.0, 0.0, 1.5]), requires_grad=True)
    assert gradcheck(lambda t: fg.cumulative_prod(t), (x,))
    fg.cumulative_prod(x).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_meshgrid_gradcheck():
    a, b = _x(3), _x(4)
    assert gradcheck(lambda u, v: tuple(fg.meshgrid(u, v)), (a, b))
    assert gradcheck(lambda u, v: tuple(fg.meshgrid(u, v, indexing="ij")), (a, b))


def test_sort_gradient_follows_the_permutation():
    x = fg.tensor([3.0, 1.0, 2.0], requires_grad=True)
    (fg.sort(x) * fg.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [100.0, 1.0, 10.0]


def test_index_results_record_no_graph():
    x = _x(4)
    for out in (fg.argsort(x), fg.searchsorted(fg.sort(x).detach(), x), fg.count_nonzero(x),
                fg.unique_all(x).indices, fg.unique_values(x)):
        assert not out.requires_grad
