"""init-variance: W ~ N(0, c/n) in a 50-layer ReLU MLP; only c = 2 keeps it trainable.

Lecture 000 ("Initialization vs. optimization") trains a 50-layer, width-100 ReLU MLP on
MNIST with every weight drawn from N(0, c/n), n the fan-in, and shows: c = 3 gives NaN,
c = 2 works, c = 1 makes no progress. The reason is that a ReLU layer multiplies the
mean squared activation by c/2 on average, so after L layers the activations (and the
back-propagated gradients) have been scaled by about (c/2)^(L/2): 2^-25 ~ 3e-8 for c = 1,
1.5^25 ~ 2.5e4 for c = 3. This experiment measures those norms layer by layer at
initialization, then runs plain SGD (same learning rate for every c) for a few hundred
steps and records the training loss.
"""

import math

import numpy as np

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F

from ._common import claim, minibatches, to_numpy

NAME = "init-variance"
SEED = "000"
DESCRIPTION = ("50-layer width-100 ReLU MLP, W ~ N(0, c/n), c = 1, 2, 3: activation and "
               "gradient norms per layer, and whether SGD trains")

SCALES = (1.0, 2.0, 3.0)
WINDOW = 50  # steps averaged when reading off how far training got (SGD loss is noisy)


def best_window_mean(losses, window):
    """The lowest mean loss over ``window`` consecutive steps; NaN if the run diverged
    (a deep net at this learning rate has loss spikes, so the last steps alone would
    say more about the latest spike than about how far training got)."""
    if not losses or not all(map(math.isfinite, losses)):
        return float("nan")
    values = np.asarray(losses)
    window = min(window, len(values))
    means = np.convolve(values, np.ones(window) / window, mode="valid")
    return float(means.min())


def make_net(c, depth, width, in_features=784, classes=10):
    """``depth`` Linear layers without bias (ReLU between them), W ~ N(0, c / fan_in)."""
    sizes = [in_features] + [width] * (depth - 1) + [classes]
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        linear = nn.Linear(fan_in, fan_out, bias=False)
        with fg.no_grad():
            nn.init.normal_(linear.weight, 0.0, math.sqrt(c / fan_in))
        layers.append(linear)
    return layers


def forward(layers, x, keep=None):
    """Logits of the MLP; appends each hidden activation to ``keep`` when given."""
    for linear in layers[:-1]:
        x = F.relu(linear(x))
        if keep is not None:
            keep.append(x)
    return layers[-1](x)


def norms_at_init(layers, x, y):
    """Mean per-example L2 norm of each hidden activation, and the Frobenius norm of
    each weight's gradient of the cross-entropy, at initialization."""
    hidden = []
    loss = F.cross_entropy(forward(layers, x, hidden), y)
    loss.backward()
    act = [float(np.linalg.norm(to_numpy(h), axis=1).mean()) for h in hidden]
    grad = [float(np.linalg.norm(to_numpy(layer.weight.grad))) for layer in layers]
    for layer in layers:
        layer.weight.grad = None
    return act, grad, float(loss.item())


def train(layers, x, y, steps, batch_size, lr, seed, bar):
    """Plain SGD; returns the loss of every step (stops at the first non-finite one)."""
    params = [layer.weight for layer in layers]
    opt = fg.optim.SGD(params, lr=lr)
    rng = np.random.default_rng(seed)
    losses = []
    while len(losses) < steps:
        for idx in minibatches(x.shape[0], batch_size, rng):
            idx = fg.from_numpy(idx).to(x.device)
            opt.zero_grad()
            loss = F.cross_entropy(forward(layers, x[idx]), y[idx])
            loss.backward()
            opt.step()
            losses.append(float(loss.item()))
            bar.update(1)
            if not math.isfinite(losses[-1]) or len(losses) == steps:
                return losses
    return losses


def run(ctx):
    settings = {"depth": 50, "width": 100, "scales_c": list(SCALES), "lr": 0.02,
                "batch_size": 100, "n_train": 10000,
                "n_probe": 500, "steps": 250 if ctx.quick else 1000}
    x, y, _, _ = ctx.mnist(settings["n_train"], 1)
    x, y = x.to(ctx.device), y.to(ctx.device)
    probe_x, probe_y = x[:settings["n_probe"]], y[:settings["n_probe"]]
    m = {"activation_norm": {}, "gradient_norm": {}, "initial_loss": {}, "losses": {},
         "best_window_loss": {}, "diverged_at_step": {}}
    bar = ctx.progress(len(SCALES) * settings["steps"], NAME)
    with bar:
        for c in SCALES:
            key = f"c={c:g}"
            fg.manual_seed(ctx.seed)
            layers = [layer.to(ctx.device) for layer in
                      make_net(c, settings["depth"], settings["width"])]
            act, grad, loss0 = norms_at_init(layers, probe_x, probe_y)
            losses = train(layers, x, y, settings["steps"], settings["batch_size"],
                           settings["lr"], ctx.seed, bar)
            bar.update(settings["steps"] - len(losses))  # a diverged run stops early
            m["activation_norm"][key], m["gradient_norm"][key] = act, grad
            m["initial_loss"][key] = loss0
            m["losses"][key] = losses
            m["best_window_loss"][key] = best_window_mean(losses, WINDOW)
            m["diverged_at_step"][key] = next(
                (i for i, v in enumerate(losses) if not math.isfinite(v)), None)

    act = m["activation_norm"]
    growth = {k: v[-1] / v[0] for k, v in act.items()}  # last hidden / first hidden
    m["activation_growth_last_over_first"] = growth
    chance = math.log(10)
    best = m["best_window_loss"]
    claims = [
        claim("sigma^2 = 2/n keeps activation norms at the same scale through 50 ReLU "
              "layers, 1/n shrinks them and 3/n blows them up", SEED,
              "norm of the last hidden activation / norm of the first, per c", growth,
              "c=2 ratio within [0.1, 10], c=1 ratio < 1e-3 and c=3 ratio > 1e3",
              0.1 <= growth["c=2"] <= 10 and growth["c=1"] < 1e-3 and growth["c=3"] > 1e3),
        claim("sigma^2 = 2/n works: SGD trains the 50-layer net", SEED,
              f"lowest {WINDOW}-step mean train loss, c=2", best["c=2"],
              f"finite and at least 0.1 below the chance-level loss ln(10) = {chance:.3f} "
              "(SGD makes progress; how far it gets depends on the step budget)",
              math.isfinite(best["c=2"]) and best["c=2"] < chance - 0.1),
        claim("sigma^2 = 1/n makes no progress", SEED,
              f"lowest {WINDOW}-step mean train loss, c=1", best["c=1"],
              "finite and within 0.02 of ln(10) (the loss of predicting uniformly)",
              math.isfinite(best["c=1"]) and abs(best["c=1"] - chance) < 0.02),
        claim("sigma^2 = 3/n gives NaN", SEED,
              "first step with a non-finite loss, c=3", m["diverged_at_step"]["c=3"],
              "some step's loss is NaN or infinite",
              m["diverged_at_step"]["c=3"] is not None),
    ]
    return {"settings": settings, "measurements": m, "claims": claims, "notes": ""}


def plot(result, fig):
    m, s = result["measurements"], result["settings"]
    ax_act, ax_grad, ax_loss = fig.subplots(1, 3)
    colors = {"c=1": "tab:blue", "c=2": "tab:green", "c=3": "tab:red"}
    for key, color in colors.items():
        act = m["activation_norm"][key]
        ax_act.semilogy(range(1, len(act) + 1), act, color=color, label=key)
        grad = m["gradient_norm"][key]
        ax_grad.semilogy(range(1, len(grad) + 1), grad, color=color, label=key)
        losses = np.array([v if isinstance(v, float) else np.nan for v in m["losses"][key]])
        ax_loss.plot(losses, color=color, label=key)
        step = m["diverged_at_step"][key]
        if step is not None:
            ax_loss.axvline(step, color=color, ls=":", label=f"{key}: NaN at step {step}")
    ax_act.set(xlabel="hidden layer", ylabel="mean ||activation||_2 (log)",
               title="activations at initialization")
    ax_grad.set(xlabel="layer", ylabel="||dLoss/dW||_F (log)",
                title="weight gradients at initialization")
    ax_loss.axhline(math.log(10), color="gray", ls="--", label="ln 10 (chance)")
    ax_loss.set(xlabel="SGD step", ylabel="train loss (cross-entropy)",
                title=f"SGD, lr {s['lr']}", ylim=(0, 4))
    for ax in (ax_act, ax_grad, ax_loss):
        ax.legend(fontsize=8)
    fig.suptitle("init-variance (seed 000): W ~ N(0, c/n) in a 50-layer ReLU net: "
                 "c=3 NaN, c=2 works, c=1 no progress")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
