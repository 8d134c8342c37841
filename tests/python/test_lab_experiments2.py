"""Unit checks of the measuring tools inside experiments 9-16 of the seed lab.

The quick run of every experiment (JSON fields, verdicts, the PNG) is tested in
test_lab.py; here each experiment's own instruments are checked against an answer
known independently: a closed form, NumPy, or an identity.
"""

import math

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn, optim
from ferrograd.lab import (bagging, capacity_and_bias_variance, double_descent, dropout,
                           early_stopping, edge_of_stability, label_smoothing, weight_decay)
from ferrograd.lab import _registry

MODULES = (weight_decay, capacity_and_bias_variance, early_stopping, double_descent, dropout,
           label_smoothing, edge_of_stability, bagging)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.NAME)
def test_module_matches_its_registry_name(module):
    assert module.__name__.rsplit(".", 1)[1].replace("_", "-") == module.NAME
    assert module.NAME in _registry.names()
    assert _registry.load(module.NAME) is module
    assert module.SEED and module.DESCRIPTION


def test_label_smoothing_closed_form_gap():
    # ln((1 - a + a/K) / (a/K)): a = 0.1, K = 10 -> ln(0.91 / 0.01) = ln 91
    assert label_smoothing.closed_form_gap(0.1) == pytest.approx(math.log(91), rel=1e-12)
    assert label_smoothing.closed_form_gap(0.3, k=4) == pytest.approx(
        math.log((0.7 + 0.075) / 0.075), rel=1e-12)


def test_label_smoothing_free_logit_optimum_reaches_the_gap():
    assert label_smoothing.optimum_gap(0.1, steps=2000) == pytest.approx(math.log(91), abs=1e-3)


def test_reliability_bins_and_ece():
    # all predictions at confidence 0.9, 60% right: one bin, ECE = |0.6 - 0.9| = 0.3
    probs = np.full((10, 10), 0.1 / 9)
    probs[:, 0] = 0.9
    labels = np.array([0] * 6 + [1] * 4)
    bins, ece = label_smoothing.reliability(probs, labels)
    assert ece == pytest.approx(0.3)
    assert sum(bins["count"]) == 10 and max(bins["count"]) == 10


def test_bootstrap_unique_fraction():
    fg.manual_seed(0)
    assert bagging.unique_fraction(5000, 20) == pytest.approx(1 - math.exp(-1), abs=0.005)
    fg.manual_seed(0)
    # n = 2: two draws are distinct half the time -> fraction 0.5 * 1 + 0.5 * 0.5 = 0.75
    assert bagging.unique_fraction(2, 2000) == pytest.approx(0.75, abs=0.02)


def test_sharpness_of_a_quadratic_matches_numpy():
    # A linear model with MSE loss has a constant Hessian: per output, A^T A / n over the
    # inputs augmented with a 1 for the bias. Its top eigenvalue is known from NumPy.
    fg.manual_seed(1)
    n, d = 40, 6
    x = fg.randn((n, d))
    targets = fg.randn((n, 3))
    model = nn.Linear(d, 3)
    params = list(model.parameters())
    v = [fg.randn(tuple(p.shape)) for p in params]
    estimate, _ = edge_of_stability.sharpness(model, x, targets, params, v, iters=200)
    a = np.hstack([x.numpy().astype(np.float64), np.ones((n, 1))])
    expected = np.linalg.eigvalsh(a.T @ a / n).max()
    assert estimate == pytest.approx(expected, rel=1e-3)


def test_gradient_descent_on_a_quadratic_is_stable_only_below_2_over_sharpness():
    # the fact edge-of-stability rests on: GD on (h/2) w^2 diverges iff lr > 2/h
    h = 5.0
    for lr, stable in ((0.99 * 2 / h, True), (1.01 * 2 / h, False)):
        w = fg.tensor([1.0], dtype=fg.float64, requires_grad=True)
        opt = optim.SGD([w], lr=lr)
        for _ in range(2000):
            opt.zero_grad()
            (0.5 * h * w * w).sum().backward()
            opt.step()
        assert (abs(w.item()) < 1.0) == stable


def test_minimum_norm_fit_interpolates_with_the_smallest_norm():
    rng = np.random.default_rng(0)
    phi = rng.standard_normal((20, 50))
    targets = rng.standard_normal((20, 2))
    beta = double_descent.min_norm_fit(phi, targets)
    np.testing.assert_allclose(phi @ beta, targets, atol=1e-9)
    # any other exact fit adds a null-space direction and is longer
    null = np.linalg.svd(phi)[2][-1]
    other = beta + np.outer(null, [1.0, -1.0])
    np.testing.assert_allclose(phi @ other, targets, atol=1e-9)
    assert np.linalg.norm(beta) < np.linalg.norm(other)


def test_polynomial_fit_interpolates_and_ridge_shrinks():
    fg.manual_seed(2)
    x, y = capacity_and_bias_variance.draw(10)
    coef = capacity_and_bias_variance.fit(x, y, 9)
    np.testing.assert_allclose(capacity_and_bias_variance.predict(coef, x), y.numpy(), atol=1e-6)
    ridge = capacity_and_bias_variance.fit(x, y, 9, ridge=1e-3)
    assert np.linalg.norm(ridge[1:]) < np.linalg.norm(coef[1:])
    line = capacity_and_bias_variance.fit(x, y, 1)
    np.testing.assert_allclose(line[::-1], np.polyfit(x.numpy(), y.numpy(), 1), rtol=1e-8)


def test_dropout_activation_ratios():
    fg.manual_seed(3)
    ratios = dropout.activation_ratios(fg.rand((400, 784)), "cpu")
    for p, value in ratios["with_correction"].items():
        assert value == pytest.approx(1.0, abs=0.02)
        assert ratios["without_correction"][p] == pytest.approx(1 - float(p), abs=0.02)


def test_sgd_l2_in_loss_equals_weight_decay_and_decay_by_hand():
    fg.manual_seed(4)
    x, y = fg.rand((60, 784)), fg.randint(0, 10, (60,))
    batches = [np.arange(i, i + 20) for i in range(0, 60, 20)] * 3
    lam, lr = 0.05, 0.1
    runs = []
    for how in ("weight_decay", "l2_in_loss", "by_hand"):
        model = weight_decay.make_mlp(0, "cpu")
        opt = optim.SGD(model.parameters(), lr=lr, weight_decay=lam if how == "weight_decay" else 0)
        weight_decay.train(model, opt, x, y, batches, lr=lr,
                           l2_in_loss=lam if how == "l2_in_loss" else 0.0,
                           decay_by_hand=lam if how == "by_hand" else 0.0)
        runs.append(model)
    assert weight_decay.relative_difference(runs[0], runs[1]) < 1e-5
    assert weight_decay.relative_difference(runs[2], runs[1]) < 1e-5
    untrained = weight_decay.make_mlp(0, "cpu")
    assert weight_decay.relative_difference(untrained, runs[1]) > 1e-3  # training did move them


def test_label_corruption_changes_exactly_the_flipped_labels():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 10, 4000)
    noisy, flipped = early_stopping.corrupt(y, 0.4, rng)
    assert np.array_equal(noisy != y, flipped)
    assert flipped.mean() == pytest.approx(0.4, abs=0.03)
    assert noisy.min() >= 0 and noisy.max() <= 9


class _Bar:
    def update(self, n=1):
        pass


def test_l1_proximal_step_zeroes_weights_that_no_data_supports():
    # Pixels that are 0 in every image give their weights no gradient: L1's soft
    # threshold takes them to exactly 0, L2's decay only shrinks them.
    fg.manual_seed(6)
    x = fg.rand((40, 784)) * fg.tensor(np.r_[np.ones(392), np.zeros(392)].astype(np.float32))
    y = fg.randint(0, 10, (40,))
    batches = [np.arange(40)] * 400
    w1 = weight_decay.l1_or_l2_linear("l1", x, y, batches, 0.1, 1e-2, 0, _Bar()).weight.numpy()
    w2 = weight_decay.l1_or_l2_linear("l2", x, y, batches, 0.1, 1e-2, 0, _Bar()).weight.numpy()
    assert np.all(w1[:, 392:] == 0)
    assert np.all(w2[:, 392:] != 0)
    fg.manual_seed(0)  # the initialization both started from
    w0 = nn.Linear(784, 10).weight.numpy()
    np.testing.assert_allclose(w2[:, 392:], w0[:, 392:] * (1 - 0.1 * 1e-2) ** 400, rtol=1e-4)
