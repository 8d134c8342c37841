"""double-descent: random ReLU features and minimum-norm least squares past p = n.

Lecture 002 ("Double descent · the 2019 surprise", Belkin et al.) and 003: with
parameters << data the test error follows the classical U; at the interpolation
threshold (parameters ~ data) it spikes; past it (parameters >> data) it drops again.

The model is the simplest one with a clean threshold: p random ReLU features
phi(x) = relu(x W / sqrt(784)), W ~ N(0, 1) fixed, and a linear read-out fitted to
one-hot targets by least squares. With p < n the fit is ordinary least squares; with
p >= n there are many exact fits and we take the minimum-norm one (what gradient
descent from zero converges to, the "implicit regularization" the notes mention).
At p = n the feature matrix is square and nearly singular, so the interpolating
weights, and the test error, blow up.

ferrograd draws the features and forms the products; NumPy only decomposes the
(at most n x n) Gram matrix: ferrograd has no linear-algebra solver yet.
"""

import numpy as np

import ferrograd as fg
from ferrograd.nn import functional as F

from ._common import claim

NAME = "double-descent"
SEED = "002, 003"
DESCRIPTION = ("random ReLU features + minimum-norm least squares on MNIST: test error "
               "and weight norm against p/n through the interpolation threshold")


def ratios(quick):
    """p/n values: log-spaced from 0.1 to 10, plus a dense band around 1."""
    coarse = np.geomspace(0.1, 10, 9 if quick else 15)
    fine = np.array([0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25])
    return np.unique(np.round(np.concatenate([coarse, fine]), 3))


def random_features(x, weights):
    """relu(x W / sqrt(d)) in float64 (the solve near p = n needs the precision)."""
    return F.relu(x @ weights / np.sqrt(x.shape[1]))


def min_norm_fit(phi, targets, rcond=1e-13):
    """Least squares, minimum-norm among the exact fits when there are many.

    Through the eigendecomposition of the smaller Gram matrix (at most n x n), as
    ``pinv`` would through an SVD: with p >= n, beta = Phi^T U diag(1/lambda) U^T Y
    (Phi Phi^T = U diag(lambda) U^T); with p < n, beta = V diag(1/lambda) V^T Phi^T Y.
    Eigenvalues below ``rcond`` times the largest count as zero (directions with no
    data). The big products run in ferrograd; NumPy only decomposes the small matrix."""
    phi = fg.asarray(phi, dtype=fg.float64)
    targets = fg.asarray(targets, dtype=fg.float64)
    wide = phi.shape[1] >= phi.shape[0]
    gram = (phi @ phi.T if wide else phi.T @ phi).numpy()
    lam, vec = np.linalg.eigh(gram)
    keep = lam > rcond * lam.max()
    inv = fg.asarray((vec[:, keep] / lam[keep]) @ vec[:, keep].T)
    return (phi.T @ (inv @ targets) if wide else inv @ (phi.T @ targets)).numpy()


def run(ctx):
    s = {"n_train": 100 if ctx.quick else 200, "n_test": 500 if ctx.quick else 1000,
         "feature_draws": 3 if ctx.quick else 5, "ratios_p_over_n": ratios(ctx.quick).tolist(),
         "targets": "one-hot minus 0.1 (zero mean)", "features": "relu(x W / sqrt(784))"}
    n = s["n_train"]
    x, y, xt, yt = ctx.mnist(n, s["n_test"])
    x, xt = x.astype(fg.float64), xt.astype(fg.float64)
    targets = np.eye(10)[y.numpy()] - 0.1
    test_targets = np.eye(10)[yt.numpy()] - 0.1
    ps = sorted({max(1, int(round(r * n))) for r in s["ratios_p_over_n"]})
    m = {"p": ps, "p_over_n": [p / n for p in ps], "test_mse": [], "test_error": [],
         "train_mse": [], "weight_norm": []}
    fg.manual_seed(ctx.seed)
    with ctx.progress(len(ps) * s["feature_draws"], NAME) as bar:
        per_p = {p: [] for p in ps}
        for _ in range(s["feature_draws"]):
            w_all = fg.randn((784, max(ps)), dtype=fg.float64)  # nested: feature j is shared
            phi_all = random_features(x, w_all).numpy()
            phi_test_all = random_features(xt, w_all).numpy()
            for p in ps:
                beta = min_norm_fit(phi_all[:, :p], targets)
                pred = phi_test_all[:, :p] @ beta
                per_p[p].append((
                    float(np.mean((pred - test_targets) ** 2)),
                    float(np.mean(pred.argmax(axis=1) != yt.numpy())),
                    float(np.mean((phi_all[:, :p] @ beta - targets) ** 2)),
                    float(np.linalg.norm(beta))))
                bar.update(1)
    for p in ps:
        # the median over feature draws: one draw that lands very close to singular
        # would otherwise set the mean at p = n by itself
        test_mse, test_err, train_mse, norm = np.median(np.array(per_p[p]), axis=0)
        m["test_mse"].append(float(test_mse))
        m["test_error"].append(float(test_err))
        m["train_mse"].append(float(train_mse))
        m["weight_norm"].append(float(norm))

    r = np.array(m["p_over_n"])
    test, norm, train = map(np.array, (m["test_mse"], m["weight_norm"], m["train_mse"]))
    at = int(np.argmin(np.abs(r - 1.0)))
    under = r <= 0.5
    over = r >= 4.0
    m["threshold_test_mse"] = float(test[at])
    m["best_under_parameterized_test_mse"] = float(test[under].min())
    m["best_over_parameterized_test_mse"] = float(test[over].min())
    peak_norm_ratio = float(r[int(np.argmax(norm))])
    claims = [
        claim("at the interpolation threshold (parameters ~ data) the test error spikes",
              "002, 003", "test MSE at p = n / the best test MSE at p/n <= 0.5 and at p/n >= 4",
              {"vs_under": test[at] / test[under].min(), "vs_over": test[at] / test[over].min()},
              "both ratios > 2",
              test[at] > 2 * test[under].min() and test[at] > 2 * test[over].min()),
        claim("past the threshold test error drops again, below the classical regime's best "
              "(more parameters does not hurt, it helps)", "002",
              "best test MSE at p/n >= 4 / best test MSE at p/n <= 0.5",
              float(test[over].min() / test[under].min()), "< 1",
              test[over].min() < test[under].min()),
        claim("the interpolating weights are largest at the threshold (the minimum-norm "
              "fit's implicit regularization shrinks them as p grows)", "002, 003",
              "p/n where ||beta|| is largest", peak_norm_ratio, "within [0.8, 1.25]",
              0.8 <= peak_norm_ratio <= 1.25),
        claim("past the threshold the model fits the training data exactly", "002",
              "largest train MSE at p/n >= 1.05", float(train[r >= 1.05].max()), "< 1e-8",
              float(train[r >= 1.05].max()) < 1e-8),
    ]
    return {"settings": s, "measurements": m, "claims": claims, "notes": ""}


def plot(result, fig):
    m = result["measurements"]
    r = np.array(m["p_over_n"])
    ax_test, ax_norm = fig.subplots(1, 2)
    ax_test.loglog(r, m["test_mse"], "o-", color="tab:red", label="test MSE")
    floor = 1e-4  # interpolation gives train MSE ~1e-30; draw it at the floor
    ax_test.loglog(r, np.maximum(m["train_mse"], floor), "s-", color="tab:blue",
                   label=f"train MSE (below {floor:g} drawn at {floor:g})")
    ax_test.axvline(1.0, color="gray", ls="--", label="interpolation threshold p = n")
    ax_test.set(xlabel="features / training samples (p/n)", ylabel="MSE (log)",
                title="test error: U, spike, second descent")
    ax_err = ax_test.twinx()
    ax_err.semilogx(r, m["test_error"], "^:", color="tab:green", label="test classification error")
    ax_err.set_ylabel("test classification error")
    lines = ax_test.get_lines() + ax_err.get_lines()
    ax_test.legend(lines, [ln.get_label() for ln in lines], fontsize=8, loc="lower left")
    ax_norm.loglog(r, m["weight_norm"], "o-", color="tab:purple", label="||beta||_F")
    ax_norm.axvline(1.0, color="gray", ls="--", label="p = n")
    ax_norm.set(xlabel="features / training samples (p/n)",
                ylabel="norm of the read-out weights (log)",
                title="minimum-norm solution: weight norm")
    ax_norm.legend(fontsize=8)
    fig.suptitle("double-descent: random ReLU features, minimum-norm least squares: test "
                 "error spikes at p = n and falls again (seeds 002, 003)")
    fig.tight_layout()
