"""edge-of-stability: full-batch gradient descent drives the sharpness to 2/lr and keeps it there.

Lectures 000 and 001 quote Cohen et al. (2021), "Gradient descent on neural networks
typically occurs at the edge of stability": "the sharpness hovers right at (or just
above) the value 2/eta when both BN and non-BN networks are trained using gradient
descent at reasonable step sizes. Therefore, at least in the case of full-batch
gradient descent, it cannot be said that batch normalization decreases the sharpness."

Sharpness is the largest eigenvalue of the Hessian of the training loss. On a quadratic,
gradient descent with step eta diverges along any direction whose curvature exceeds
2/eta; Cohen et al. observed that on neural nets the sharpness first rises during
training ("progressive sharpening") until it reaches 2/eta, then hovers there while the
loss keeps falling, non-monotonically.

The sharpness is measured by power iteration on Hessian-vector products, each one a
double backward: g = grad(L, theta, create_graph=True), then Hv = grad(g . v, theta).
The vector is warm-started from the previous measurement, so a few iterations suffice.
Power iteration finds the eigenvalue of largest magnitude; during training the top
positive one dominates (the negative curvature is far smaller), so that is the sharpness.
Setting (as in the paper, smaller): MSE loss on one-hot targets, a tanh MLP, full-batch
GD on a fixed MNIST subset downsampled to 14x14, for several step sizes; the same with
BatchNorm after each hidden layer (train-mode BN on the full batch is deterministic).
"""

import math

import numpy as np

import ferrograd as fg
from ferrograd import nn, optim

from ._common import claim

NAME = "edge-of-stability"
SEED = "000, 001"
DESCRIPTION = ("full-batch GD: the top Hessian eigenvalue (power iteration on double-"
               "backward Hessian-vector products) rises to 2/lr and hovers there, BN or not")


def make_mlp(width, batch_norm, seed, device):
    fg.manual_seed(seed)
    layers = []
    for fan_in in (196, width):
        layers.append(nn.Linear(fan_in, width))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(nn.Tanh())
    return nn.Sequential(*layers, nn.Linear(width, 10)).to(device)


def mse(model, x, targets):
    """0.5 * mean over examples of the squared error (the paper's MSE loss)."""
    return 0.5 * ((model(x) - targets) ** 2).sum() / x.shape[0]


def hessian_vector_product(model, x, targets, params, v):
    loss = mse(model, x, targets)
    grads = fg.autograd.grad(loss, params, create_graph=True)
    dot = sum((g * vi).sum() for g, vi in zip(grads, v))
    return fg.autograd.grad(dot, params)


def sharpness(model, x, targets, params, v, iters):
    """Top Hessian eigenvalue by power iteration from ``v``; returns (estimate, vector).
    The Rayleigh quotient v.Hv of the unit vector is the estimate."""
    estimate = float("nan")
    for _ in range(iters):
        hv = hessian_vector_product(model, x, targets, params, v)
        estimate = sum(float((h * vi).sum().item()) for h, vi in zip(hv, v))
        norm = math.sqrt(sum(float((h * h).sum().item()) for h in hv))
        if not math.isfinite(norm) or norm == 0:
            return float("nan"), v
        v = [h / norm for h in hv]
    return estimate, v


def gd_run(x, targets, lr, s, batch_norm, seed, device, bar):
    model = make_mlp(s["width"], batch_norm, seed, device)
    params = list(model.parameters())
    opt = optim.SGD(params, lr=lr)  # the full batch every step: gradient descent
    v = [fg.randn(tuple(p.shape)).to(device) for p in params]
    norm = math.sqrt(sum(float((vi * vi).sum().item()) for vi in v))
    v = [vi / norm for vi in v]
    first, v = sharpness(model, x, targets, params, v, s["power_iters_first"])
    out = {"lr": lr, "two_over_lr": 2 / lr, "steps": [0], "sharpness": [first], "loss": []}
    for step in range(1, s["steps"] + 1):
        loss = mse(model, x, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out["loss"].append(float(loss.item()))
        if not math.isfinite(out["loss"][-1]):
            break
        if step % s["measure_every"] == 0:
            value, v = sharpness(model, x, targets, params, v, s["power_iters"])
            out["steps"].append(step)
            out["sharpness"].append(value)
        bar.update(1)
    bar.update(s["steps"] - len(out["loss"]))
    return out


def summarize(run_, s):
    """Where the sharpness first reaches 0.9 * 2/lr, and its median over the second half."""
    sharp = np.array(run_["sharpness"])
    steps = np.array(run_["steps"])
    bound = run_["two_over_lr"]
    reached = steps[sharp >= 0.9 * bound]
    late = sharp[steps > s["steps"] / 2]
    losses = np.array(run_["loss"])
    return {"initial_over_bound": float(sharp[0] / bound),
            "first_step_at_0.9_bound": int(reached[0]) if len(reached) else None,
            "late_median_over_bound": float(np.median(late) / bound) if len(late) else float("nan"),
            "loss_rises_in_steps": int((np.diff(losses) > 0).sum()),
            "final_loss": float(losses[-1]), "initial_loss": float(losses[0])}


def run(ctx):
    s = {"n_train": 200 if ctx.quick else 500, "input": "MNIST 2x2-average-pooled to 14x14",
         "width": 64, "activation": "tanh", "loss": "0.5 * mean squared error, one-hot targets",
         "lrs": [0.3, 0.4] if ctx.quick else [0.2, 0.3, 0.4],
         "batch_norm_lr": 0.3, "steps": 300 if ctx.quick else 1000,
         "measure_every": 10, "power_iters": 4, "power_iters_first": 20}
    x, y, _, _ = ctx.mnist(s["n_train"], 1)
    n = s["n_train"]
    pooled = x.numpy().reshape(n, 14, 2, 14, 2).mean(axis=(2, 4)).reshape(n, 196)
    x = fg.from_numpy(np.ascontiguousarray(pooled, dtype=np.float32)).to(ctx.device)
    targets = fg.one_hot(y, 10).astype(fg.float32).to(ctx.device)
    runs = [(lr, False) for lr in s["lrs"]] + [(s["batch_norm_lr"], True)]
    m = {"runs": {}, "summary": {}}
    with ctx.progress(len(runs) * s["steps"], NAME) as bar:
        for lr, bn in runs:
            key = f"lr={lr:g}" + (", BatchNorm" if bn else "")
            m["runs"][key] = gd_run(x, targets, lr, s, bn, ctx.seed, ctx.device, bar)
            m["summary"][key] = summarize(m["runs"][key], s)

    sm = m["summary"]
    plain = [k for k in sm if "BatchNorm" not in k]
    bn_key = [k for k in sm if "BatchNorm" in k][0]
    hover = {k: sm[k]["late_median_over_bound"] for k in sm}
    rising = {k: sm[k]["initial_over_bound"] for k in plain}
    claims = [
        claim("the sharpness rises during training (progressive sharpening) until it "
              "reaches 2/lr", "000, 001",
              "per lr: initial sharpness / (2/lr), and the first step with sharpness >= "
              "0.9 * 2/lr", {k: [rising[k], sm[k]["first_step_at_0.9_bound"]] for k in plain},
              "for every lr whose initial sharpness is below 0.9 * 2/lr, a later step "
              "reaches 0.9 * 2/lr",
              all(sm[k]["first_step_at_0.9_bound"] is not None for k in plain)
              and any(rising[k] < 0.9 for k in plain)),
        claim("then it hovers right at (or just above) 2/lr", "000, 001",
              "median sharpness over the second half of training / (2/lr), per lr",
              {k: hover[k] for k in plain}, "within [0.9, 1.25] for every lr",
              all(0.9 <= hover[k] <= 1.25 for k in plain)),
        claim("with BatchNorm too: BN does not keep the sharpness below 2/lr under "
              "full-batch gradient descent", "000, 001",
              f"median late sharpness / (2/lr), BN net at lr {s['batch_norm_lr']}",
              hover[bn_key], "within [0.9, 1.25]", 0.9 <= hover[bn_key] <= 1.25),
        claim("at the edge of stability the loss still decreases, non-monotonically",
              "000, 001", "per lr: final / initial loss, and how many steps the loss rose",
              {k: [sm[k]["final_loss"] / sm[k]["initial_loss"], sm[k]["loss_rises_in_steps"]]
               for k in sm},
              "for every run: final < 0.7 x initial loss and the loss rose at some step",
              all(sm[k]["final_loss"] < 0.7 * sm[k]["initial_loss"]
                  and sm[k]["loss_rises_in_steps"] > 0 for k in sm)),
    ]
    return {"settings": s, "measurements": m, "claims": claims, "notes": ""}


def plot(result, fig):
    m = result["measurements"]
    ax_sharp, ax_loss = fig.subplots(1, 2)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]
    for (key, run_), color in zip(m["runs"].items(), colors):
        ls = "--" if "BatchNorm" in key else "-"
        ax_sharp.plot(run_["steps"], run_["sharpness"], ls, color=color, label=key)
        ax_sharp.axhline(run_["two_over_lr"], color=color, ls=":", lw=1)
        ax_loss.semilogy(np.arange(1, len(run_["loss"]) + 1), run_["loss"], ls, color=color,
                         label=key)
    ax_sharp.set(xlabel="gradient descent step", ylabel="sharpness (top Hessian eigenvalue)",
                 title="sharpness; dotted: 2/lr")
    top = max(r["two_over_lr"] for r in m["runs"].values())
    ax_sharp.set_ylim(0, 1.5 * top)
    ax_sharp.legend(fontsize=8)
    ax_loss.set(xlabel="gradient descent step", ylabel="training loss (log)",
                title="loss keeps falling, non-monotonically")
    ax_loss.legend(fontsize=8)
    fig.suptitle("edge-of-stability: full-batch GD, sharpness rises to 2/lr and hovers "
                 "there, with or without BatchNorm (seeds 000, 001)")
    fig.tight_layout()
