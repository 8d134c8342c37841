"""Every differentiable op through ``fg.autograd.gradcheck`` in float64: analytic
Jacobians (one backward per output element) against central finite differences.
Plus broadcast, strided (transposed, stepped, reversed, strided leaves) and zero-size
variants, and a check that ``backward()`` accumulates the same gradient as
``autograd.grad`` for a random cotangent.

Inputs are generated at test time from a per-case seed; shapes stay <= (3, 4) (or 24
elements) so each check takes a few dozen backward calls.
"""

import zlib

import numpy as np
import pytest

import ferrograd as fg


def _ag():
    from ferrograd import autograd

    return autograd


# ---------------------------------------------------------------------------
# Input generators: each takes a numpy Generator and returns a float64 array.
# ---------------------------------------------------------------------------


def U(*shape, lo=-2.0, hi=2.0):
    """Uniform in [lo, hi)."""
    return lambda rng: rng.uniform(lo, hi, size=shape)


def P(*shape, lo=0.5, hi=2.0):
    """Positive (for log, sqrt, pow bases, divisors)."""
    return U(*shape, lo=lo, hi=hi)


def NZ(*shape, lo=0.3, hi=1.5):
    """Away from zero with random signs (abs, relu, divisors, prod, masks from sign)."""
    def gen(rng):
        return rng.uniform(lo, hi, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return gen


def D(*shape, spacing=0.3):
    """Distinct values, pairwise at least ``spacing`` apart (unique max/min, no ties)."""
    def gen(rng):
        n = int(np.prod(shape))
        vals = (np.arange(n) - n / 2) * spacing + rng.uniform(0, spacing / 3, size=n)
        return rng.permutation(vals).reshape(shape)
    return gen


def FAR(*shape, points=(), margin=0.1, lo=-1.5, hi=1.5):
    """Uniform, but at least ``margin`` away from each of ``points`` (kinks of clip)."""
    def gen(rng):
        x = rng.uniform(lo, hi, size=shape)
        for _ in range(1000):
            bad = np.zeros(shape, bool)
            for p in points:
                bad |= np.abs(x - p) < margin
            if not bad.any():
                return x
            x[bad] = rng.uniform(lo, hi, size=int(bad.sum()))
        raise AssertionError("could not sample away from the kinks")
    return gen


def Q(*shape):
    """Multiples of 1/8 in [-2, 2]: exactly representable in float32, as are x +- 2**-10."""
    return lambda rng: rng.integers(-16, 17, size=shape) / 8.0


class Case:
    def __init__(self, name, fn, *gens, eps=1e-6, atol=1e-5, rtol=1e-3):
        self.name, self.fn, self.gens = name, fn, gens
        self.kw = dict(eps=eps, atol=atol, rtol=rtol)

    def inputs(self):
        rng = np.random.default_rng(zlib.crc32(self.name.encode()))
        return tuple(fg.tensor(np.asarray(g(rng), dtype=np.float64), requires_grad=True)
                     for g in self.gens)


MASK34 = np.array([[True, False, False, True], [False, True, True, False],
                   [True, True, False, False]])
IDX32 = np.array([[0, 3], [2, 2], [1, 0]])
IDX24 = np.array([[0, 2, 2, 1], [1, 1, 0, 2]])


CASES = [
    # ----- arithmetic --------------------------------------------------------
    Case("add", lambda a, b: a + b, U(3, 4), U(3, 4)),
    Case("add_bcast", lambda a, b: a + b, U(3, 1), U(4)),
    Case("add_bcast_0d", lambda a, b: a + b, U(3, 4), U()),
    Case("add_scalar", lambda a: a + 2.5, U(3, 4)),
    Case("radd_scalar", lambda a: 2.5 + a, U(3, 4)),
    Case("fg_add", lambda a, b: fg.add(a, b), U(2, 3), U(3)),
    Case("sub", lambda a, b: a - b, U(3, 4), U(3, 4)),
    Case("sub_bcast", lambda a, b: a - b, U(3, 1), U(4)),
    Case("rsub_scalar", lambda a: 1.5 - a, U(3, 4)),
    Case("fg_subtract", lambda a, b: fg.subtract(a, b), U(4), U(3, 1)),
    Case("mul", lambda a, b: a * b, U(3, 4), U(3, 4)),
    Case("mul_bcast", lambda a, b: a * b, U(3, 1), U(4)),
    Case("mul_bcast_3d", lambda a, b: a * b, U(2, 1, 4), U(3, 1)),
    Case("mul_scalar", lambda a: a * 3.0, U(3, 4)),
    Case("rmul_scalar", lambda a: -0.5 * a, U(3, 4)),
    Case("mul_self", lambda a: a * a, U(3, 4)),
    Case("div", lambda a, b: a / b, U(3, 4), NZ(3, 4)),
    Case("div_bcast", lambda a, b: a / b, U(3, 1), NZ(4)),
    Case("div_scalar", lambda a: a / 4.0, U(3, 4)),
    Case("rdiv_scalar", lambda b: 2.0 / b, NZ(3, 4)),
    Case("fg_divide", lambda a, b: fg.divide(a, b), U(3, 4), NZ(4)),
    Case("neg", lambda a: -a, U(3, 4)),
    Case("fg_negative", lambda a: fg.negative(a), U(3, 4)),
    # ----- pow --------------------------------------------------------------
    Case("pow_int3", lambda a: a ** 3, U(3, 4)),
    Case("pow_int2", lambda a: a ** 2, U(3, 4)),
    Case("pow_1", lambda a: a ** 1, U(3, 4)),
    Case("pow_0", lambda a: a ** 0, U(3, 4)),
    Case("pow_frac", lambda a: a ** 2.5, P(3, 4)),
    Case("pow_half", lambda a: a ** 0.5, P(3, 4)),
    Case("pow_neg_frac", lambda a: a ** -1.5, P(3, 4)),
    Case("pow_neg_int", lambda a: a ** -2, NZ(3, 4)),
    Case("rpow_2", lambda a: 2.0 ** a, U(3, 4)),
    Case("rpow_half", lambda a: 0.5 ** a, U(3, 4)),
    Case("pow_tensor", lambda a, b: a ** b, P(3, 4), U(3, 4)),
    Case("pow_tensor_bcast", lambda a, b: a ** b, P(3, 1), U(4)),
    Case("fg_pow", lambda a, b: fg.pow(a, b), P(4), U(3, 4)),
    # ----- unary ------------------------------------------------------------
    Case("abs", lambda a: a.abs(), NZ(3, 4)),
    Case("fg_abs", lambda a: fg.abs(a), NZ(3, 4)),
    Case("abs_builtin", lambda a: abs(a), NZ(3, 4)),
    Case("exp", lambda a: a.exp(), U(3, 4)),
    Case("log", lambda a: a.log(), P(3, 4)),
    Case("log1p", lambda a: a.log1p(), U(3, 4, lo=-0.5, hi=2.0)),
    Case("expm1", lambda a: a.expm1(), U(3, 4)),
    Case("sqrt", lambda a: a.sqrt(), P(3, 4)),
    Case("sin", lambda a: a.sin(), U(3, 4, lo=-4, hi=4)),
    Case("cos", lambda a: a.cos(), U(3, 4, lo=-4, hi=4)),
    Case("tanh", lambda a: a.tanh(), U(3, 4)),
    Case("sigmoid", lambda a: a.sigmoid(), U(3, 4, lo=-4, hi=4)),
    Case("relu", lambda a: a.relu(), NZ(3, 4)),
    Case("gelu_none", lambda a: a.gelu(), U(3, 4, lo=-3, hi=3)),
    Case("gelu_none_explicit", lambda a: fg.gelu(a, approximate="none"), U(3, 4, lo=-3, hi=3)),
    Case("gelu_tanh", lambda a: a.gelu("tanh"), U(3, 4, lo=-3, hi=3)),
    Case("fg_gelu_tanh", lambda a: fg.gelu(a, approximate="tanh"), U(3, 4, lo=-3, hi=3)),
    Case("erf", lambda a: a.erf(), U(3, 4)),
    Case("fg_exp_log", lambda a: fg.log(fg.exp(a) + 1.0), U(3, 4)),
    Case("square", lambda a: a.square(), U(3, 4)),
    # ----- maximum / minimum / clip / where ----------------------------------
    Case("maximum", lambda a, b: fg.maximum(a, b), D(3, 4), D(3, 4, spacing=0.31)),
    Case("maximum_bcast", lambda a, b: fg.maximum(a, b), D(3, 1), D(4, spacing=0.37)),
    Case("maximum_method", lambda a, b: a.maximum(b), D(3, 4), D(3, 4, spacing=0.29)),
    Case("minimum", lambda a, b: fg.minimum(a, b), D(3, 4), D(3, 4, spacing=0.31)),
    Case("minimum_bcast", lambda a, b: fg.minimum(a, b), D(3, 1), D(4, spacing=0.37)),
    Case("maximum_scalar", lambda a: fg.maximum(a, 0.25), FAR(3, 4, points=(0.25,))),
    Case("clip", lambda a: a.clip(-0.5, 0.5), FAR(3, 4, points=(-0.5, 0.5))),
    Case("fg_clip", lambda a: fg.clip(a, -1.0, 0.25), FAR(3, 4, points=(-1.0, 0.25))),
    Case("clip_min", lambda a: a.clip(min=0.0), FAR(3, 4, points=(0.0,))),
    Case("clip_max", lambda a: a.clip(max=0.3), FAR(3, 4, points=(0.3,))),
    Case("where", lambda a, b: fg.where(MASK34, a, b), U(3, 4), U(3, 4)),
    Case("where_fg_cond", lambda a, b: fg.where(fg.tensor(MASK34), a, b), U(3, 4), U(3, 4)),
    Case("where_bcast", lambda a, b: fg.where(MASK34, a, b), U(3, 1), U(4)),
    Case("where_scalar", lambda a: fg.where(MASK34, a, 0.0), U(3, 4)),
    Case("where_scalar_first", lambda b: fg.where(MASK34, -1.0, b), U(3, 4)),
    Case("where_data_cond", lambda a: fg.where(a > 0, a * 2.0, a.exp()), NZ(3, 4)),
    # ----- reductions -------------------------------------------------------
    Case("sum_all", lambda a: a.sum(), U(3, 4)),
    Case("sum_axis0", lambda a: a.sum(0), U(3, 4)),
    Case("sum_axis1_keep", lambda a: a.sum(1, keepdims=True), U(3, 4)),
    Case("sum_neg_axis", lambda a: a.sum(axis=-1), U(2, 3, 2)),
    Case("sum_tuple_axes", lambda a: a.sum((0, 2)), U(2, 3, 2)),
    Case("sum_tuple_keep", lambda a: a.sum((0, 2), keepdims=True), U(2, 3, 2)),
    Case("fg_sum_dim", lambda a: fg.sum(a, dim=1, keepdim=True), U(3, 4)),
    Case("sum_0d", lambda a: a.sum(), U()),
    Case("mean_all", lambda a: a.mean(), U(3, 4)),
    Case("mean_axis0", lambda a: a.mean(0), U(3, 4)),
    Case("mean_axis1_keep", lambda a: a.mean(1, keepdims=True), U(3, 4)),
    Case("mean_tuple", lambda a: a.mean((0, 2)), U(2, 3, 2)),
    Case("fg_mean", lambda a: fg.mean(a, axis=-1), U(3, 4)),
    Case("var_c0_all", lambda a: a.var(), U(3, 4)),
    Case("var_c1_all", lambda a: a.var(correction=1), U(3, 4)),
    Case("var_c0_axis0", lambda a: a.var(0), U(3, 4)),
    Case("var_c1_axis1_keep", lambda a: a.var(1, keepdims=True, correction=1), U(3, 4)),
    Case("var_c1_tuple", lambda a: a.var((0, 2), correction=1), U(2, 3, 2)),
    Case("fg_var", lambda a: fg.var(a, axis=1, correction=1), U(3, 4)),
    Case("std_c0_all", lambda a: a.std(), U(3, 4)),
    Case("std_c1_all", lambda a: a.std(correction=1), U(3, 4)),
    Case("std_c0_axis1", lambda a: a.std(1), U(3, 4)),
    Case("std_c1_axis0", lambda a: a.std(0, correction=1), U(3, 4)),
    Case("fg_std", lambda a: fg.std(a, axis=0, correction=0, keepdims=True), U(3, 4)),
    Case("max_all", lambda a: a.max(), D(3, 4)),
    Case("max_axis0", lambda a: a.max(0), D(3, 4)),
    Case("max_axis1_keep", lambda a: a.max(1, keepdims=True), D(3, 4)),
    Case("max_tuple", lambda a: a.max((0, 2)), D(2, 3, 2)),
    Case("fg_max", lambda a: fg.max(a, axis=-1), D(3, 4)),
    Case("min_all", lambda a: a.min(), D(3, 4)),
    Case("min_axis0", lambda a: a.min(0), D(3, 4)),
    Case("min_axis1_keep", lambda a: a.min(1, keepdims=True), D(3, 4)),
    Case("fg_min", lambda a: fg.min(a, axis=(0, 1)), D(3, 4)),
    Case("logsumexp_all", lambda a: a.logsumexp(), U(3, 4)),
    Case("logsumexp_axis1", lambda a: a.logsumexp(1), U(3, 4)),
    Case("logsumexp_axis0_keep", lambda a: a.logsumexp(0, keepdims=True), U(3, 4)),
    Case("logsumexp_large", lambda a: (a * 100.0).logsumexp(1), U(3, 4)),
    Case("fg_logsumexp", lambda a: fg.logsumexp(a, axis=(0, 2)), U(2, 3, 2)),
    Case("prod_all", lambda a: a.prod(), NZ(3, 4, lo=0.5, hi=1.5)),
    Case("prod_axis0", lambda a: a.prod(0), NZ(3, 4)),
    Case("prod_axis1_keep", lambda a: a.prod(1, keepdims=True), NZ(3, 4)),
    Case("fg_prod", lambda a: fg.prod(a, axis=-1), NZ(2, 3, 2)),
    # ----- matmul -----------------------------------------------------------
    Case("matmul_2d", lambda a, b: a @ b, U(3, 4), U(4, 2)),
    Case("matmul_vv", lambda a, b: a @ b, U(4), U(4)),
    Case("matmul_vm", lambda a, b: a @ b, U(4), U(4, 2)),
    Case("matmul_mv", lambda a, b: a @ b, U(3, 4), U(4)),
    Case("matmul_batched", lambda a, b: a @ b, U(2, 3, 4), U(2, 4, 2)),
    Case("matmul_bcast_rhs2d", lambda a, b: a @ b, U(2, 3, 4), U(4, 2)),
    Case("matmul_bcast_lhs2d", lambda a, b: a @ b, U(3, 2), U(2, 2, 3)),
    Case("matmul_bcast_batch", lambda a, b: a @ b, U(2, 1, 2, 3), U(3, 3, 2)),
    Case("matmul_v_batched", lambda a, b: a @ b, U(3), U(2, 3, 2)),
    Case("matmul_batched_v", lambda a, b: a @ b, U(2, 2, 3), U(3)),
    Case("fg_matmul", lambda a, b: fg.matmul(a, b), U(3, 4), U(4, 2)),
    Case("matmul_method", lambda a, b: a.matmul(b), U(3, 4), U(4, 2)),
    Case("matmul_self_T", lambda a: a @ a.T, U(3, 4)),
    # ----- views and shape ops ---------------------------------------------
    Case("reshape", lambda a: a.reshape(2, 6), U(3, 4)),
    Case("reshape_tuple_neg1", lambda a: a.reshape((4, -1)), U(3, 4)),
    Case("fg_reshape", lambda a: fg.reshape(a, (2, 2, 3)), U(3, 4)),
    Case("view", lambda a: a.view(6, 2), U(3, 4)),
    Case("permute", lambda a: a.permute(2, 0, 1), U(2, 3, 2)),
    Case("fg_permute_dims", lambda a: fg.permute_dims(a, (1, 2, 0)), U(2, 3, 2)),
    Case("transpose", lambda a: a.transpose(0, 1), U(3, 4)),
    Case("transpose_3d", lambda a: a.transpose(0, 2), U(2, 3, 2)),
    Case("fg_transpose", lambda a: fg.transpose(a), U(2, 3, 2)),
    Case("T", lambda a: a.T, U(3, 4)),
    Case("mT", lambda a: a.mT, U(2, 3, 2)),
    Case("flatten", lambda a: a.flatten(), U(2, 3, 2)),
    Case("flatten_start", lambda a: a.flatten(1), U(2, 3, 2)),
    Case("fg_flatten", lambda a: fg.flatten(a, 0, 1), U(2, 3, 2)),
    Case("unsqueeze", lambda a: a.unsqueeze(1), U(3, 4)),
    Case("fg_expand_dims", lambda a: fg.expand_dims(a, axis=-1), U(3, 4)),
    Case("fg_unsqueeze0", lambda a: fg.unsqueeze(a, 0), U(3, 4)),
    Case("squeeze_all", lambda a: a.squeeze(), U(3, 1, 4)),
    Case("squeeze_axis", lambda a: a.squeeze(1), U(3, 1, 4)),
    Case("fg_squeeze", lambda a: fg.squeeze(a, axis=0), U(1, 4)),
    Case("broadcast_to", lambda a: a.broadcast_to((2, 3, 4)), U(3, 1)),
    Case("fg_broadcast_to", lambda a: fg.broadcast_to(a, (3, 4)), U(4)),
    Case("broadcast_to_0d", lambda a: fg.broadcast_to(a, (2, 3)), U()),
    Case("expand", lambda a: a.expand(2, 3, 4), U(3, 1)),
    Case("fg_broadcast_arrays", lambda a, b: tuple(fg.broadcast_arrays(a, b)), U(3, 1), U(4)),
    Case("flip_axis0", lambda a: a.flip(0), U(3, 4)),
    Case("flip_all", lambda a: a.flip(), U(3, 4)),
    Case("fg_flip_tuple", lambda a: fg.flip(a, axis=(0, 1)), U(3, 4)),
    Case("contiguous_of_T", lambda a: a.T.contiguous(), U(3, 4)),
    Case("contiguous", lambda a: a.contiguous() * 2.0, U(3, 4)),
    Case("clone", lambda a: a.clone(), U(3, 4)),
    Case("astype_f32_roundtrip", lambda a: a.astype(fg.float32).astype(fg.float64), Q(3, 4),
         eps=2.0 ** -10),
    Case("astype_f32_out", lambda a: a.astype(fg.float32) * 2.0, Q(3, 4), eps=2.0 ** -10),
    Case("astype_f64_same", lambda a: a.astype(fg.float64) * 3.0, U(3, 4)),
    Case("fg_astype", lambda a: fg.astype(fg.astype(a, fg.float32), fg.float64), Q(3, 4),
         eps=2.0 ** -10),
    Case("float_double", lambda a: a.float().double() * 2.0, Q(3, 4), eps=2.0 ** -10),
    Case("to_dtype", lambda a: a.to(dtype=fg.float32).to(dtype=fg.float64), Q(3, 4),
         eps=2.0 ** -10),
    Case("clamp_alias", lambda a: a.clamp(-0.5, 0.5), FAR(3, 4, points=(-0.5, 0.5))),
    Case("remainder", lambda a: a % 0.7, FAR(3, 4, points=(-1.4, -0.7, 0.0, 0.7, 1.4),
                                             margin=0.05)),
    Case("floor_times_x", lambda a: a.floor() * a, FAR(3, 4, points=(-1.0, 0.0, 1.0),
                                                       margin=0.05)),
    # ----- getitem ----------------------------------------------------------
    Case("getitem_int", lambda a: a[1], U(3, 4)),
    Case("getitem_neg_int", lambda a: a[-1], U(3, 4)),
    Case("getitem_two_ints", lambda a: a[1, 2], U(3, 4)),
    Case("getitem_slice", lambda a: a[1:3], U(3, 4)),
    Case("getitem_slice_cols", lambda a: a[:, 1:], U(3, 4)),
    Case("getitem_steps", lambda a: a[::2, 1::2], U(3, 4)),
    Case("getitem_neg_step", lambda a: a[::-1, ::-2], U(3, 4)),
    Case("getitem_none", lambda a: a[None, :, None, 1], U(3, 4)),
    Case("getitem_ellipsis", lambda a: a[..., 1], U(2, 3, 2)),
    Case("getitem_ellipsis_front", lambda a: a[0, ...], U(2, 3, 2)),
    Case("getitem_mask_np", lambda a: a[MASK34], U(3, 4)),
    Case("getitem_mask_fg", lambda a: a[fg.tensor(MASK34)], U(3, 4)),
    Case("getitem_mask_data", lambda a: a[a > 0], NZ(3, 4)),
    Case("getitem_mask_rows", lambda a: a[np.array([True, False, True])], U(3, 4)),
    Case("getitem_intarray_repeat", lambda a: a[[0, 2, 0]], U(3, 4)),
    Case("getitem_intarray_fg", lambda a: a[fg.tensor([2, 2, 1, 2])], U(3, 4)),
    Case("getitem_intarray_neg", lambda a: a[[-1, 0, -1]], U(3, 4)),
    Case("getitem_intarray_pair", lambda a: a[[1, 1, 0], [3, 3, 0]], U(3, 4)),
    Case("getitem_intarray_cols", lambda a: a[:, [1, 1, 3]], U(3, 4)),
    Case("getitem_intarray_2d", lambda a: a[np.array([[0, 1], [1, 1]])], U(3, 4)),
    Case("getitem_mixed", lambda a: a[[2, 0, 2], 1:3], U(3, 4)),
    Case("getitem_mixed_3d", lambda a: a[:, [0, 2, 0], 1], U(2, 3, 2)),
    # ----- joining / splitting ----------------------------------------------
    Case("concat_axis0", lambda a, b, c: fg.concat([a, b, c]), U(2, 4), U(1, 4), U(3, 4)),
    Case("concat_axis1", lambda a, b: fg.concat([a, b], axis=1), U(3, 1), U(3, 2)),
    Case("concat_neg_axis", lambda a, b: fg.concat((a, b), axis=-1), U(2, 2, 1), U(2, 2, 2)),
    Case("concat_none", lambda a, b: fg.concat([a, b], axis=None), U(2, 2), U(3)),
    Case("concat_same_twice", lambda a: fg.concat([a, a * 2.0], axis=0), U(2, 3)),
    Case("stack_axis0", lambda a, b: fg.stack([a, b]), U(3, 2), U(3, 2)),
    Case("stack_axis1", lambda a, b, c: fg.stack([a, b, c], axis=1), U(2, 2), U(2, 2), U(2, 2)),
    Case("stack_neg", lambda a, b: fg.stack([a, b], axis=-1), U(3, 2), U(3, 2)),
    Case("split_sections", lambda a: tuple(fg.split(a, 2, axis=1)), U(3, 4)),
    Case("split_indices", lambda a: tuple(fg.split(a, [1, 3], axis=1)), U(3, 4)),
    Case("split_axis0_partial_use", lambda a: fg.split(a, 3)[1] * 2.0, U(3, 4)),
    # ----- softmax ----------------------------------------------------------
    Case("softmax_last", lambda a: a.softmax(-1), U(3, 4)),
    Case("softmax_axis0", lambda a: a.softmax(0), U(3, 4)),
    Case("fg_softmax", lambda a: fg.softmax(a, axis=1), U(2, 3, 2)),
    Case("softmax_large", lambda a: (a * 50.0).softmax(-1), U(3, 4)),
    Case("log_softmax_last", lambda a: a.log_softmax(-1), U(3, 4)),
    Case("log_softmax_axis0", lambda a: a.log_softmax(0), U(3, 4)),
    Case("fg_log_softmax", lambda a: fg.log_softmax(a, dim=1), U(2, 3, 2)),
    Case("softmax_weighted_sum", lambda a, w: (a.softmax(-1) * w).sum(), U(3, 4), U(3, 4)),
    # ----- take / take_along_axis -----------------------------------------
    Case("take_flat", lambda a: a.take(fg.tensor([0, 5, 5, 11, 0])), U(3, 4)),
    Case("take_axis1", lambda a: fg.take(a, fg.tensor([1, 1, 0]), axis=1), U(3, 4)),
    Case("take_axis0", lambda a: a.take(fg.tensor([2, 0, 2, 2]), 0), U(3, 4)),
    Case("take_along_axis1", lambda a: fg.take_along_axis(a, fg.tensor(IDX32), axis=1), U(3, 4)),
    Case("take_along_axis0", lambda a: fg.take_along_axis(a, fg.tensor(IDX24), axis=0), U(3, 4)),
    # ----- compositions -----------------------------------------------------
    Case("mlp", lambda x, w1, w2: ((x @ w1).tanh() @ w2).sigmoid(), U(3, 4), U(4, 3), U(3, 2)),
    Case("softmax_manual", lambda a: a.exp() / a.exp().sum(1, keepdims=True), U(3, 4)),
    Case("layernorm_manual",
         lambda a: (a - a.mean(-1, keepdims=True)) / (a.var(-1, keepdims=True) + 1e-5).sqrt(),
         U(3, 4)),
    Case("cross_entropy", lambda a: -(a.log_softmax(-1)[[0, 1, 2], [3, 0, 1]]).mean(), U(3, 4)),
    Case("distance", lambda a, b: ((a.unsqueeze(1) - b.unsqueeze(0)) ** 2).sum(-1).sqrt(),
         U(3, 2), U(2, 2)),
]


def _ids(cases):
    ids = [c.name for c in cases]
    assert len(set(ids)) == len(ids), "duplicate case names"
    return ids


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_gradcheck_op(case):
    inputs = case.inputs()
    assert _ag().gradcheck(case.fn, inputs, **case.kw) is True


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_backward_matches_grad(case):
    """sum(out * v).backward() accumulates exactly what autograd.grad returns, into
    every leaf's .grad, with the leaf's shape and dtype."""
    ag = _ag()
    inputs = case.inputs()
    outs = [o for o in _as_tuple(case.fn(*inputs)) if o.requires_grad]
    assert outs, "an op of a tensor requiring grad should produce an output requiring grad"
    rng = np.random.default_rng(7)
    vs = [fg.tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype) for o in outs]
    expected = ag.grad(outs, inputs, vs, retain_graph=True, allow_unused=True)
    loss = sum(((o * v).sum() for o, v in zip(outs, vs)), fg.tensor(0.0, dtype=fg.float64))
    loss.backward()
    for x, e in zip(inputs, expected):
        if e is None:
            assert x.grad is None or not np.asarray(x.grad).any()
            continue
        assert x.grad is not None
        assert x.grad.shape == x.shape and x.grad.dtype == x.dtype
        np.testing.assert_allclose(np.asarray(x.grad), np.asarray(e.detach()), rtol=1e-10,
                                   atol=1e-12)


# ---------------------------------------------------------------------------
# Strided inputs: the op receives a transposed / stepped / reversed view of the leaf,
# or the leaf itself is a strided view of a tensor that does not require grad.
# ---------------------------------------------------------------------------

LAYOUT_OPS = {
    "exp": lambda x: x.exp(),
    "tanh": lambda x: x.tanh(),
    "mul_self": lambda x: x * x,
    "add_bcast": lambda x: x + fg.tensor(np.array([1.0, -2.0, 0.5, 3.0])),
    "div_by": lambda x: 1.0 / (x * x + 1.0),
    "sum_axis0": lambda x: x.sum(0),
    "mean_all": lambda x: x.mean(),
    "var_axis1": lambda x: x.var(1, correction=1),
    "max_axis1": lambda x: x.max(1),
    "softmax": lambda x: x.softmax(-1),
    "log_softmax0": lambda x: x.log_softmax(0),
    "logsumexp": lambda x: x.logsumexp(1),
    "matmul_left": lambda x: x @ fg.tensor(np.linspace(-1, 1, 8).reshape(4, 2)),
    "matmul_right": lambda x: fg.tensor(np.linspace(-1, 1, 6).reshape(2, 3)) @ x,
    "matmul_self": lambda x: x.T @ x,
    "reshape": lambda x: x.reshape(2, 6) * 2.0,
    "flatten": lambda x: x.flatten(),
    "getitem": lambda x: x[1:, ::2],
    "getitem_array": lambda x: x[[2, 0, 2]],
    "flip": lambda x: x.flip(1),
    "concat": lambda x: fg.concat([x, x[:1]], axis=0),
    "clip": lambda x: x.clip(-1.0, 1.0),
}


def _layout_input(layout, rng):
    """(leaf, view_fn): the leaf requiring grad and the view the op is applied to, so
    that the op always sees a (3, 4) tensor."""
    if layout == "transposed":
        leaf = fg.tensor(rng.uniform(-2, 2, (4, 3)), requires_grad=True)
        return leaf, lambda t: t.T
    if layout == "stepped":
        leaf = fg.tensor(rng.uniform(-2, 2, (5, 7)), requires_grad=True)
        return leaf, lambda t: t[::2, ::2]
    if layout == "reversed":
        leaf = fg.tensor(rng.uniform(-2, 2, (3, 8)), requires_grad=True)
        return leaf, lambda t: t[::-1, 7::-2]
    if layout == "permuted3d":
        leaf = fg.tensor(rng.uniform(-2, 2, (4, 1, 3)), requires_grad=True)
        return leaf, lambda t: t.permute(2, 1, 0)[:, 0]
    if layout == "strided_leaf_T":
        base = fg.tensor(rng.uniform(-2, 2, (4, 3)))
        leaf = base.T.requires_grad_()
        return leaf, lambda t: t
    if layout == "strided_leaf_step":
        base = fg.tensor(rng.uniform(-2, 2, (6, 8)))
        leaf = base[::2, 1::2].requires_grad_()
        return leaf, lambda t: t
    raise AssertionError(layout)


LAYOUTS = ["transposed", "stepped", "reversed", "permuted3d", "strided_leaf_T",
           "strided_leaf_step"]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("op", list(LAYOUT_OPS))
def test_gradcheck_strided(op, layout):
    rng = np.random.default_rng(zlib.crc32(f"{op}/{layout}".encode()))
    leaf, view = _layout_input(layout, rng)
    f = LAYOUT_OPS[op]
    if op == "clip":
        # keep values away from the clip kinks
        vals = np.asarray(leaf.detach())
        assert np.all(np.abs(np.abs(vals) - 1.0) > 1e-4)
    assert tuple(view(leaf).shape) == (3, 4)
    assert _ag().gradcheck(lambda t: f(view(t)), (leaf,)) is True


# ---------------------------------------------------------------------------
# Zero-size inputs/outputs: gradients must come back with the right (empty) shapes,
# and zeros where the output is empty.
# ---------------------------------------------------------------------------

ZERO_CASES = [
    Case("z_add_bcast", lambda a, b: a + b, U(0, 3), U(3)),
    Case("z_mul", lambda a, b: a * b, U(0, 3), U(0, 3)),
    Case("z_exp", lambda a: a.exp(), U(0, 3)),
    Case("z_tanh", lambda a: a.tanh(), U(3, 0)),
    Case("z_sum_all", lambda a: a.sum(), U(0, 3)),
    Case("z_sum_axis0", lambda a: a.sum(0), U(0, 3)),
    Case("z_sum_axis1", lambda a: a.sum(1), U(0, 3)),
    Case("z_sum_plus", lambda a, b: a.sum(0) * b, U(0, 3), U(3)),
    Case("z_mean_axis1", lambda a: a.mean(1), U(0, 3)),
    Case("z_var_axis1", lambda a: a.var(1), U(0, 3)),
    Case("z_max_axis1", lambda a: a.max(1), U(0, 3)),
    Case("z_prod_axis0", lambda a: a.prod(0), U(0, 3)),
    Case("z_logsumexp_axis1", lambda a: a.logsumexp(1), U(0, 3)),
    Case("z_matmul_rows", lambda a, b: a @ b, U(0, 3), U(3, 2)),
    Case("z_matmul_inner", lambda a, b: a @ b, U(2, 0), U(0, 3)),
    Case("z_matmul_batch", lambda a, b: a @ b, U(0, 2, 3), U(3, 2)),
    Case("z_reshape", lambda a: a.reshape(3, 0), U(0, 3)),
    Case("z_T", lambda a: a.T, U(0, 3)),
    Case("z_concat", lambda a, b: fg.concat([a, b]), U(0, 3), U(2, 3)),
    Case("z_stack", lambda a, b: fg.stack([a, b]), U(0, 3), U(0, 3)),
    Case("z_softmax", lambda a: a.softmax(-1), U(0, 3)),
    Case("z_log_softmax", lambda a: a.log_softmax(-1), U(0, 3)),
    Case("z_getitem_empty_slice", lambda a: a[:0], U(3, 4)),
    Case("z_getitem_false_mask", lambda a: a[np.zeros((3, 4), bool)], U(3, 4)),
    Case("z_broadcast_to", lambda a: a.broadcast_to((0, 3)), U(1, 3)),
    Case("z_split_empty_part", lambda a: tuple(fg.split(a, [0, 2], axis=1)), U(3, 4)),
    Case("z_where", lambda a, b: fg.where(np.zeros((0, 3), bool), a, b), U(0, 3), U(3)),
]


@pytest.mark.parametrize("case", ZERO_CASES, ids=_ids(ZERO_CASES))
def test_gradcheck_zero_size(case):
    ag = _ag()
    inputs = case.inputs()
    assert ag.gradcheck(case.fn, inputs, **case.kw) is True
    # and backward through a loss that touches the empty path
    outs = _as_tuple(case.fn(*inputs))
    loss = sum((o.sum() for o in outs), fg.tensor(0.0, dtype=fg.float64))
    loss.backward()
    for x in inputs:
        assert x.grad is not None and x.grad.shape == x.shape


def test_case_table_covers_the_op_list():
    """Guard against silently dropping an op from the table."""
    names = " ".join(c.name for c in CASES)
    for op in ["add", "sub", "mul", "div", "pow_int", "rpow", "pow_tensor", "neg", "abs",
               "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tanh", "sigmoid",
               "relu", "gelu_none", "gelu_tanh", "erf", "maximum", "minimum", "clip",
               "where", "sum", "mean", "var_c0", "var_c1", "std_c0", "std_c1", "max",
               "min", "logsumexp", "prod", "matmul_vv", "matmul_batched",
               "matmul_bcast_batch", "reshape", "permute", "transpose", "T", "mT",
               "flatten", "expand_dims", "unsqueeze", "squeeze", "broadcast_to", "flip",
               "getitem_int", "getitem_slice", "getitem_steps", "getitem_none",
               "getitem_ellipsis", "getitem_mask", "getitem_intarray_repeat", "concat",
               "stack", "split", "softmax", "log_softmax", "take", "take_along_axis",
               "astype", "contiguous"]:
        assert op in names, op
    assert len(CASES) >= 150
