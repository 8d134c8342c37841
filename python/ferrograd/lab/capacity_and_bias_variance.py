"""capacity-and-bias-variance: polynomial fits of degree 0-9 to noisy samples of a sine.

Lecture 000 ("Model capacity: curve fitting") shows a low-degree polynomial underfitting,
a middle one fitting well and a very high degree overfitting; 003 draws the matching
picture of bias^2 falling and variance rising with model complexity, their sum (the
test error) U-shaped; 000 names L2 regularization ("ridge regression") as the cure.
This is Bishop's classic setting: 10 points x evenly spaced in [0, 1] and
y = sin(2 pi x) + N(0, 0.3^2), a fresh draw of the noise for every training set.
(With x drawn at random instead, a few training sets with clustered points make the
mean test error of every degree above 3 astronomically large and hide the U-shape.)

Bias and variance are measured, not assumed: the fit of every degree is repeated on
many independent training sets, and on a grid of x
    bias^2   = mean_x (E_D[f_D(x)] - sin(2 pi x))^2
    variance = mean_x Var_D[f_D(x)]
so that bias^2 + variance + noise^2 is the expected test error on fresh noisy points.

ferrograd draws the data and builds the features; the least-squares solve itself uses
NumPy's ``lstsq`` (ferrograd has no linear-algebra solver yet).

An error in the notes: 000 writes the model as f(x) = a_0 x + a_1 x^2 + a_2 x^3 + ...,
without a constant term, so even its "degree 1" line would have to pass through the
origin. The fits here include the constant (degree 0 is a constant, degree 1 a line).
"""

import math

import numpy as np

import ferrograd as fg

from ._common import claim

NAME = "capacity-and-bias-variance"
SEED = "000, 003"
DESCRIPTION = ("polynomial fits of degree 0-9 to 10 noisy samples of sin(2 pi x): "
               "under/over-fitting, bias^2 and variance per degree, ridge rescues degree 9")

DEGREES = tuple(range(10))
NOISE = 0.3
N_POINTS = 10
RIDGE_LAMBDAS = tuple(10.0 ** k for k in range(-12, 1))


def target(x):
    return np.sin(2 * math.pi * x)


def draw(n, spaced=True):
    """``n`` points x, evenly spaced in [0, 1] or (``spaced=False``) x ~ U(0, 1), and
    noisy y, from ferrograd's generator."""
    x = fg.linspace(0.0, 1.0, n, dtype=fg.float64) if spaced else fg.rand((n,), dtype=fg.float64)
    y = fg.sin(2 * math.pi * x) + NOISE * fg.randn((n,), dtype=fg.float64)
    return x, y


def features(x, degree):
    """Columns 1, x, ..., x^degree (float64: degree 9 is badly conditioned)."""
    return fg.stack([x ** k for k in range(degree + 1)], axis=1)


def fit(x, y, degree, ridge=0.0):
    """Least-squares coefficients, with an optional ridge penalty ridge * ||w||^2 on every
    coefficient but the constant (solved as an augmented least-squares problem)."""
    a = features(x, degree).numpy()
    b = y.numpy()
    if ridge > 0:
        penalty = math.sqrt(ridge) * np.eye(degree + 1)[1:]
        a = np.vstack([a, penalty])
        b = np.concatenate([b, np.zeros(degree)])
    return np.linalg.lstsq(a, b, rcond=None)[0]


def predict(coef, x):
    return features(x, len(coef) - 1).numpy() @ coef


def run(ctx):
    s = {"n_points": N_POINTS, "x": "evenly spaced in [0, 1]", "noise_std": NOISE,
         "degrees": list(DEGREES),
         "datasets": 100 if ctx.quick else 1000, "grid_points": 200,
         "n_validation": 200, "ridge_lambdas": list(RIDGE_LAMBDAS)}
    fg.manual_seed(ctx.seed)
    grid = fg.linspace(0.0, 1.0, s["grid_points"], dtype=fg.float64)
    truth = target(grid.numpy())
    x_val, y_val = draw(s["n_validation"], spaced=False)
    preds = {d: [] for d in DEGREES}
    ridge_preds = {lam: [] for lam in RIDGE_LAMBDAS}
    ridge_val = {lam: [] for lam in RIDGE_LAMBDAS}
    train_mse = {d: [] for d in DEGREES}
    example = None
    with ctx.progress(s["datasets"], NAME) as bar:
        for r in range(s["datasets"]):
            x, y = draw(N_POINTS)
            for d in DEGREES:
                coef = fit(x, y, d)
                preds[d].append(predict(coef, grid))
                train_mse[d].append(float(np.mean((predict(coef, x) - y.numpy()) ** 2)))
            for lam in RIDGE_LAMBDAS:
                coef = fit(x, y, 9, lam)
                ridge_preds[lam].append(predict(coef, grid))
                ridge_val[lam].append(float(np.mean((predict(coef, x_val) - y_val.numpy()) ** 2)))
            if r == 0:
                example = {"x": x.numpy(), "y": y.numpy()}
            bar.update(1)

    def decompose(p):
        p = np.array(p)
        bias2 = float(np.mean((p.mean(axis=0) - truth) ** 2))
        var = float(np.mean(p.var(axis=0)))
        return bias2, var, float(np.mean((p - truth) ** 2)) + NOISE ** 2

    m = {"train_mse": [], "test_mse": [], "bias2": [], "variance": []}
    for d in DEGREES:
        bias2, var, test = decompose(preds[d])
        m["train_mse"].append(float(np.median(train_mse[d])))
        m["bias2"].append(bias2)
        m["variance"].append(var)
        m["test_mse"].append(test)
    m["ridge_test_mse"] = {f"{lam:g}": decompose(ridge_preds[lam])[2] for lam in RIDGE_LAMBDAS}
    # The ridge strength is chosen on a validation set, as one would in practice: the
    # lambda whose fits have the least mean error on separate validation points.
    val_err = {f"{lam:g}": float(np.mean(ridge_val[lam])) for lam in RIDGE_LAMBDAS}
    best_lam = min(val_err, key=val_err.get)
    m["ridge_validation_mse"] = val_err
    m["ridge_lambda_chosen"] = float(best_lam)
    m["ridge_degree9_test_mse"] = m["ridge_test_mse"][best_lam]
    m["example_fits"] = {
        "x": example["x"].tolist(), "y": example["y"].tolist(), "grid": grid.numpy().tolist(),
        **{f"degree_{d}": preds[d][0].tolist() for d in (0, 3, 9)},
        "ridge_degree_9": ridge_preds[RIDGE_LAMBDAS[list(val_err).index(best_lam)]][0].tolist()}

    test, train, bias2, var = m["test_mse"], m["train_mse"], m["bias2"], m["variance"]
    best = int(np.argmin(test))
    m["best_degree"] = best
    claims = [
        claim("a higher-capacity model fits the training data better: degree 9 "
              "interpolates the 10 points", "000", "median train MSE per degree",
              train, "non-increasing in the degree (1e-9 slack) and < 1e-6 at degree 9",
              all(b <= a + 1e-9 for a, b in zip(train, train[1:])) and train[9] < 1e-6),
        claim("low degree underfits, a middle degree fits well, very high degree "
              "overfits (test error is U-shaped)", "000, 003",
              "expected test MSE per degree", test,
              "the best degree is in 2..7 and degrees 0 and 9 have > 2x its test MSE",
              2 <= best <= 7 and test[0] > 2 * test[best] and test[9] > 2 * test[best]),
        claim("bias^2 falls and variance rises with model complexity", "003",
              "bias^2 and variance at degrees 0, 3, 9",
              {"bias2": [bias2[0], bias2[3], bias2[9]],
               "variance": [var[0], var[3], var[9]]},
              "bias2(0) > 10 bias2(3) and variance(9) > 10 variance(3)",
              bias2[0] > 10 * bias2[3] and var[9] > 10 * var[3]),
        claim("L2 regularization (ridge) brings the degree-9 fit back", "000",
              "test MSE of ridge degree 9 (lambda chosen on validation data) / "
              "unregularized degree 9, and / best unregularized degree",
              {"vs_degree_9": m["ridge_degree9_test_mse"] / test[9],
               "vs_best_degree": m["ridge_degree9_test_mse"] / test[best]},
              "below 0.5 of unregularized degree 9's and within 1.5x the best degree's",
              m["ridge_degree9_test_mse"] < 0.5 * test[9]
              and m["ridge_degree9_test_mse"] < 1.5 * test[best]),
    ]
    notes = ("An error in the notes: 000 writes the polynomial model as "
             "f(x) = a_0 x + a_1 x^2 + a_2 x^3 + ..., without a constant term (every fit would "
             "pass through the origin); the fits here include it.")
    return {"settings": s, "measurements": m, "claims": claims, "notes": notes}


def plot(result, fig):
    m, s = result["measurements"], result["settings"]
    ex = m["example_fits"]
    ax_fit, ax_err, ax_bv, ax_ridge = fig.subplots(1, 4)
    grid = np.array(ex["grid"])
    ax_fit.plot(grid, target(grid), color="gray", ls="--", label="sin(2 pi x)")
    ax_fit.plot(ex["x"], ex["y"], "ko", label="training points")
    for key, color, label in (("degree_0", "tab:blue", "degree 0 (underfit)"),
                              ("degree_3", "tab:green", "degree 3 (good)"),
                              ("degree_9", "tab:red", "degree 9 (overfit)"),
                              ("ridge_degree_9", "tab:purple", "degree 9 + ridge")):
        ax_fit.plot(grid, ex[key], color=color, label=label)
    ax_fit.set(xlabel="x", ylabel="y", ylim=(-1.8, 1.8), title="one training set")
    ax_fit.legend(fontsize=7)
    deg = s["degrees"]
    ax_err.semilogy(deg, np.maximum(m["train_mse"], 1e-12), "o-", label="train MSE (median)")
    ax_err.semilogy(deg, m["test_mse"], "s-", label="test MSE (expected)")
    ax_err.axhline(m["ridge_degree9_test_mse"], color="tab:purple", ls=":",
                   label="degree 9 + ridge, test")
    ax_err.set(xlabel="polynomial degree", ylabel="MSE (log)", title="capacity")
    ax_err.legend(fontsize=7)
    ax_bv.semilogy(deg, m["bias2"], "o-", label="bias^2")
    ax_bv.semilogy(deg, m["variance"], "s-", label="variance")
    ax_bv.axhline(s["noise_std"] ** 2, color="gray", ls="--", label="noise^2")
    ax_bv.set(xlabel="polynomial degree", ylabel="bias^2, variance (log)",
              title=f"over {s['datasets']} training sets")
    ax_bv.legend(fontsize=7)
    lams = [float(k) for k in m["ridge_test_mse"]]
    ax_ridge.loglog(lams, list(m["ridge_test_mse"].values()), "o-", color="tab:purple",
                    label="degree 9 + ridge, test")
    ax_ridge.axvline(m["ridge_lambda_chosen"], color="k", ls=":", label="chosen on validation")
    ax_ridge.axhline(m["test_mse"][9], color="tab:red", ls="--", label="degree 9, no ridge")
    ax_ridge.set(xlabel="ridge lambda", ylabel="test MSE (log)", title="ridge on degree 9")
    ax_ridge.legend(fontsize=7)
    fig.suptitle("capacity-and-bias-variance: under/over-fitting, bias^2 vs variance, "
                 "ridge rescues degree 9 (seeds 000, 003)")
    fig.tight_layout()
