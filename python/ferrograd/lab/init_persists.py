"""init-persists: nets initialized at different scales end at the same test error with
very different weights.

Lecture 000 ("Initialization vs. optimization (2/2)") trains MLPs initialized with
W ~ N(0, c/n) for several c to 5% error on MNIST and shows that the effect of the
initial scale *persists*: the trained nets are equally good, but each layer's weight norm
stays close to its initial value, because SGD moves the weights only a little relative
to their size. Here a 4-layer width-100 ReLU MLP is trained with SGD for each c until
its training error is below 5% (or a step budget runs out), then tested.
"""

import math

import numpy as np

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F

from ._common import accuracy, claim, minibatches, to_numpy

NAME = "init-persists"
SEED = "000"
DESCRIPTION = ("MLPs initialized with W ~ N(0, c/n), c = 1, 2, 3, trained to 5% training "
               "error: same test error, different weight norms, weights barely move")

SCALES = (1.0, 2.0, 3.0)


def make_mlp(c, depth, width, in_features=784, classes=10):
    sizes = [in_features] + [width] * (depth - 1)
    layers = []
    for fan_in, fan_out in zip(sizes, sizes[1:] + [classes]):
        linear = nn.Linear(fan_in, fan_out)
        with fg.no_grad():
            nn.init.normal_(linear.weight, 0.0, math.sqrt(c / fan_in))
            nn.init.zeros_(linear.bias)
        layers += [linear, nn.ReLU()]
    return nn.Sequential(*layers[:-1])  # no ReLU after the logits


def weights(model):
    """The weight matrices (not the biases), as NumPy copies."""
    return [to_numpy(m.weight) for m in model if isinstance(m, nn.Linear)]


def train_to(model, x, y, target_error, max_epochs, batch_size, lr, seed, bar):
    """SGD until the training error (checked once an epoch) is below ``target_error``.
    Returns (epochs, steps, training error)."""
    opt = fg.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    rng = np.random.default_rng(seed)
    steps, error = 0, 1.0
    for epoch in range(1, max_epochs + 1):
        model.train()
        for idx in minibatches(x.shape[0], batch_size, rng):
            idx = fg.from_numpy(idx).to(x.device)
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
            steps += 1
        model.eval()
        error = 1 - accuracy(model, x, y)
        bar.update(1)
        if error < target_error:
            break
    return epoch, steps, error


def run(ctx):
    settings = {"depth": 4, "width": 100, "scales_c": list(SCALES), "optimizer": "SGD",
                "lr": 0.03, "momentum": 0.9, "batch_size": 100, "target_train_error": 0.05,
                "max_epochs": 10 if ctx.quick else 20,
                "n_train": 3000 if ctx.quick else 10000, "n_test": 1000 if ctx.quick else 2000}
    x, y, xt, yt = (t.to(ctx.device) for t in ctx.mnist(settings["n_train"], settings["n_test"]))
    m = {k: {} for k in ("test_error", "train_error", "epochs", "steps", "weight_norm_init",
                         "weight_norm_final", "relative_change")}
    with ctx.progress(len(SCALES) * settings["max_epochs"], NAME) as bar:
        for c in SCALES:
            key = f"c={c:g}"
            fg.manual_seed(ctx.seed)
            model = make_mlp(c, settings["depth"], settings["width"]).to(ctx.device)
            w0 = weights(model)
            epochs, steps, err = train_to(model, x, y, settings["target_train_error"],
                                          settings["max_epochs"], settings["batch_size"],
                                          settings["lr"], ctx.seed, bar)
            bar.update(settings["max_epochs"] - epochs)
            w1 = weights(model)
            m["epochs"][key], m["steps"][key], m["train_error"][key] = epochs, steps, err
            m["test_error"][key] = 1 - accuracy(model, xt, yt)
            m["weight_norm_init"][key] = [float(np.linalg.norm(w)) for w in w0]
            m["weight_norm_final"][key] = [float(np.linalg.norm(w)) for w in w1]
            m["relative_change"][key] = [float(np.linalg.norm(b - a) / np.linalg.norm(a))
                                         for a, b in zip(w0, w1)]

    keys = [f"c={c:g}" for c in SCALES]
    test = [m["test_error"][k] for k in keys]
    spread = max(test) - min(test)
    total = {k: float(np.sqrt(np.sum(np.square(m["weight_norm_final"][k])))) for k in keys}
    ratio = total[keys[-1]] / total[keys[0]]
    m["total_weight_norm_final"], m["test_error_spread"] = total, spread
    m["final_norm_ratio_c3_over_c1"] = ratio
    all_changes = [v for k in keys for v in m["relative_change"][k]]
    median_change = float(np.median(all_changes))
    m["median_relative_change"] = median_change
    reached = all(m["train_error"][k] < settings["target_train_error"] for k in keys)
    claims = [
        claim("Networks initialized at different scales reach the same error", SEED,
              "largest minus smallest test error over c = 1, 2, 3", spread,
              "every net reached the training-error target and the test errors differ by "
              "less than 1.5 percentage points", reached and spread < 0.015),
        claim("...with very different weights: the initial scale persists after training",
              SEED, "total weight norm after training, c=3 / c=1", ratio,
              "ratio > 1.3 (it is sqrt(3) = 1.73 at initialization) and the final norms "
              "keep the order of c",
              ratio > 1.3 and total[keys[0]] < total[keys[1]] < total[keys[2]]),
        claim("The weights barely move from their initialization", SEED,
              "median over layers and c of ||W_final - W_init|| / ||W_init||", median_change,
              "median relative change < 0.5", median_change < 0.5),
    ]
    return {"settings": settings, "measurements": m, "claims": claims, "notes": ""}


def plot(result, fig):
    m = result["measurements"]
    keys = list(m["test_error"])
    ax_norm, ax_change, ax_err = fig.subplots(1, 3)
    layers = np.arange(1, len(m["weight_norm_init"][keys[0]]) + 1)
    colors = ["tab:blue", "tab:green", "tab:red"]
    for key, color in zip(keys, colors):
        ax_norm.plot(layers, m["weight_norm_init"][key], "o--", color=color, alpha=0.6,
                     label=f"{key} at init")
        ax_norm.plot(layers, m["weight_norm_final"][key], "s-", color=color,
                     label=f"{key} trained")
        ax_change.plot(layers, m["relative_change"][key], "o-", color=color, label=key)
    ax_norm.set(xlabel="layer", ylabel="||W||_F", title="weight norms per layer")
    ax_change.set(xlabel="layer", ylabel="||W_final - W_init|| / ||W_init||",
                  title="how far training moved the weights", ylim=(0, None))
    pos = np.arange(len(keys))
    ax_err.bar(pos - 0.2, [100 * m["train_error"][k] for k in keys], 0.4, label="train")
    ax_err.bar(pos + 0.2, [100 * m["test_error"][k] for k in keys], 0.4, label="test")
    ax_err.set_xticks(pos, keys)
    ax_err.set(xlabel="initial scale c in N(0, c/n)", ylabel="error (%)",
               title="errors after training")
    for ax in (ax_norm, ax_change, ax_err):
        ax.legend(fontsize=8)
    fig.suptitle("init-persists (seed 000): same error, different weights; the "
                 "initialization's scale persists through training")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
