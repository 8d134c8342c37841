"""Parity cases for indexing and the shape ops of the tensor core: getitem/setitem,
take, take_along_axis, one_hot, concat, stack, split, flip. Index tensors are int64
(or bool) inputs, so they live on the device of the run like the data."""

import numpy as np

import ferrograd as fg
from wgpu_cases import EXACT, Case, Inp, bools, signed

RNG = np.random.default_rng(2222)
_X = signed(0.2, 3)


def _x(shape):
    return _X(RNG, shape)


def _idx(values):
    return Inp(np.asarray(values, dtype=np.int64))


def _mask(shape, p=0.5):
    return Inp(RNG.random(shape) < p)


# ----------------------------------------------------------------- getitem
_MASK_ROWS = RNG.random(6) < 0.5
_MASK_ROWS[:2] = [True, False]
_MASK_2D = RNG.random((6, 5)) < 0.4

GETITEM_CASES = [
    Case("getitem-slices", lambda x: x[1:4, ::2], [_x((6, 5))]),
    Case("getitem-negstep", lambda x: x[::-1, -2::-2], [_x((6, 5))]),
    Case("getitem-int", lambda x: x[2], [_x((6, 5))]),
    Case("getitem-int_neg_slice", lambda x: x[-1, 1:], [_x((6, 5))]),
    Case("getitem-none_ellipsis", lambda x: x[None, ..., 1], [_x((6, 5))]),
    Case("getitem-to_0d", lambda x: x[2, 3], [_x((6, 5))]),
    Case("getitem-of_transposed", lambda x: x.T[1:, ::-2], [_x((6, 5))]),
    Case("getitem-empty_slice", lambda x: x[3:3], [_x((6, 5))]),
    # Integer arrays: repeated rows make the backward accumulate (scatter-add).
    Case("getitem-intarray_dups", lambda x, i: x[i], [_x((6, 5)), _idx([0, 2, 2, 5, 0])]),
    Case("getitem-intarray_neg", lambda x, i: x[i], [_x((6, 5)), _idx([-1, -6, 3])]),
    Case("getitem-intarray_cols", lambda x, i: x[:, i], [_x((6, 5)), _idx([4, 0, 4])]),
    Case("getitem-intarray_2d", lambda x, i: x[i], [_x((6, 5)), _idx([[0, 1, 1], [5, 4, 0]])]),
    Case("getitem-two_arrays", lambda x, i, j: x[i, j], [_x((6, 5)), _idx([0, 3, 3, 5]), _idx([1, 4, 4, 0])]),
    Case("getitem-intarray_transposed", lambda x, i: x.T[i], [_x((6, 5)), _idx([1, 1, 3])]),
    Case("getitem-intarray_empty", lambda x, i: x[i], [_x((6, 5)), _idx(np.zeros((0,), np.int64))]),
    Case("getitem-list_index", lambda x: x[[0, 2, 2]], [_x((6, 5))]),
    Case("getitem-mask_rows", lambda x, m: x[m], [_x((6, 5)), Inp(_MASK_ROWS)]),
    Case("getitem-mask_2d", lambda x, m: x[m], [_x((6, 5)), Inp(_MASK_2D)]),
    Case("getitem-mask_from_cmp", lambda x: x[x > 0], [_x((6, 5))]),
    Case("getitem-mask_int64", lambda x, m: x[m], [_idx(RNG.integers(0, 9, (6, 5))), Inp(_MASK_2D)]),
]


# ----------------------------------------------------------------- setitem
def _set(fn):
    """Write into a copy of the first input (a non-leaf, so autograd records the
    write) and return it; the gradient flows to the copy's source and the values."""

    def f(a, *rest):
        y = a * 1.0
        fn(y, *rest)
        return y

    return f


def _set_slice(y, b):
    y[1:3] = b


def _set_negstep(y, b):
    y[::-2] = b


def _set_intarray(y, b, i):
    y[i] = b


def _set_mask_scalar(y, m):
    y[m] = 0.5


def _set_mask_values(y, m, b):
    y[m] = b


def _set_column_scalar(y):
    y[:, 2] = -7.0


def _set_by_cmp(y):
    y[y > 0] = 0.0


def _set_transposed(y, b):
    y.T[1:3] = b


def _set_broadcast_row(y, b):
    y[2:5] = b


def _set_int64_copy(a, b):
    y = a.clone()
    y[1:3] = b
    return y


SETITEM_CASES = [
    Case("setitem-slice", _set(_set_slice), [_x((6, 5)), _x((2, 5))]),
    Case("setitem-negstep", _set(_set_negstep), [_x((6, 5)), _x((3, 5))]),
    Case("setitem-intarray", _set(_set_intarray), [_x((6, 5)), _x((3, 5)), _idx([4, 0, 2])]),
    Case("setitem-mask_scalar", _set(_set_mask_scalar), [_x((6, 5)), Inp(_MASK_ROWS)]),
    Case("setitem-mask_values", _set(_set_mask_values), [_x((6, 5)), Inp(_MASK_2D), _x((int(_MASK_2D.sum()),))]),
    Case("setitem-column_scalar", _set(_set_column_scalar), [_x((6, 5))]),
    Case("setitem-mask_from_cmp", _set(_set_by_cmp), [_x((6, 5))]),
    Case("setitem-through_transpose", _set(_set_transposed), [_x((6, 5)), _x((2, 6))]),
    Case("setitem-broadcast_value", _set(_set_broadcast_row), [_x((6, 5)), _x((5,))]),
    Case("setitem-int64", _set_int64_copy, [_idx(RNG.integers(-9, 9, (6, 5))), _idx(RNG.integers(-9, 9, (2, 5)))], tol=EXACT),
]

# ----------------------------------------------------------------- gathers
GATHER_CASES = [
    Case("take-axis0", lambda x, i: x.take(i, 0), [_x((6, 5)), _idx([5, 0, 0, 3])]),
    Case("take-axis1", lambda x, i: fg.take(x, i, axis=1), [_x((6, 5)), _idx([4, 4, 1])]),
    Case("take-flat", lambda x, i: x.take(i, None), [_x((6, 5)), _idx([29, 0, 7, 7])]),
    Case("take-neg", lambda x, i: x.take(i, 0), [_x((6, 5)), _idx([-1, -6])]),
    Case("take-transposed", lambda x, i: x.T.take(i, 1), [_x((6, 5)), _idx([2, 2, 5])]),
    Case("take_along_axis-1", lambda x, i: fg.take_along_axis(x, i, 1), [_x((6, 5)), _idx(RNG.integers(0, 5, (6, 3)))]),
    Case("take_along_axis-0", lambda x, i: fg.take_along_axis(x, i, 0), [_x((6, 5)), _idx(RNG.integers(0, 6, (2, 5)))]),
    Case("take_along_axis-3d", lambda x, i: fg.take_along_axis(x, i, -1), [_x((2, 3, 4)), _idx(RNG.integers(0, 4, (2, 3, 1)))]),
    # The cross-entropy pattern: pick each row's label after log_softmax.
    Case(
        "take_along_axis-labels",
        lambda x, i: fg.take_along_axis(x.log_softmax(-1), i.unsqueeze(1), 1).mean(),
        [_x((8, 5)), _idx(RNG.integers(0, 5, (8,)))],
        tol=(1e-4, 1e-5),
    ),
    Case("one_hot-1d", lambda i: fg.one_hot(i, 5), [_idx([0, 4, 2, 2, 1])], tol=EXACT),
    Case("one_hot-2d", lambda i: fg.one_hot(i, 4), [_idx(RNG.integers(0, 4, (3, 5)))], tol=EXACT),
    Case("one_hot-inferred", lambda i: fg.one_hot(i), [_idx([3, 0, 1])], tol=EXACT),
    Case("one_hot-as_float", lambda i: fg.one_hot(i, 6).astype(fg.float32) * 2.0, [_idx([5, 0, 3])], tol=EXACT),
]

# ----------------------------------------------------------------- concat, stack, split, flip
SHAPE_CASES = [
    Case("concat-axis0", lambda a, b: fg.concat([a, b], axis=0), [_x((2, 5)), _x((4, 5))]),
    Case("concat-axis1", lambda a, b: fg.concat([a, b], axis=1), [_x((3, 2)), _x((3, 4))]),
    Case("concat-neg_axis", lambda a, b, c: fg.concat([a, b, c], axis=-1), [_x((2, 3, 1)), _x((2, 3, 2)), _x((2, 3, 3))]),
    Case("concat-none", lambda a, b: fg.concat([a, b], axis=None), [_x((2, 3)), _x((4,))]),
    Case("concat-transposed", lambda a, b: fg.concat([a.T, b], axis=0), [_x((5, 2)), _x((3, 5))]),
    Case("concat-zero_part", lambda a, b: fg.concat([a, b], axis=0), [_x((0, 5)), _x((3, 5))]),
    Case("concat-int64", lambda a, b: fg.concat([a, b]), [_idx([1, 2]), _idx([-3])], tol=EXACT),
    Case("concat-bool", lambda a, b: fg.concat([a, b]), [Inp(bools(RNG, (2, 3))), Inp(bools(RNG, (1, 3)))], tol=EXACT),
    Case("stack-axis0", lambda a, b: fg.stack([a, b]), [_x((3, 4)), _x((3, 4))]),
    Case("stack-last", lambda a, b, c: fg.stack([a, b, c], axis=-1), [_x((3, 4)), _x((3, 4)), _x((3, 4))]),
    Case("stack-strided", lambda a, b: fg.stack([a[::2], b.T], axis=1), [_x((6, 4)), _x((4, 3))]),
    Case("stack-int64", lambda a, b: fg.stack([a, b]), [_idx([1, 2]), _idx([-3, 7])], tol=EXACT),
    Case("split-sections", lambda x: fg.split(x, 3, axis=1), [_x((4, 6))]),
    Case("split-indices", lambda x: fg.split(x, [1, 4], axis=0), [_x((6, 3))]),
    Case("split-then_op", lambda x: [p.exp() for p in fg.split(x, 2, axis=0)], [_x((4, 3))], tol=(1e-4, 1e-5)),
    Case("flip-all", lambda x: x.flip(None), [_x((4, 5))]),
    Case("flip-axis0", lambda x: fg.flip(x, axis=0), [_x((4, 5))]),
    Case("flip-tuple", lambda x: x.flip((0, 2)), [_x((2, 3, 4))]),
    Case("flip-neg_transposed", lambda x: x.T.flip(-1), [_x((4, 5))]),
    Case("flip-int64", lambda x: x.flip(0), [_idx([1, 2, 3])], tol=EXACT),
]
