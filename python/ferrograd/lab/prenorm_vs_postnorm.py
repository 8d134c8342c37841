"""prenorm-vs-postnorm: residual stacks with the LayerNorm on the branch (pre-norm)
train at any depth; with the LayerNorm after the addition (post-norm) they need warmup
and degrade as they get deep.

Lecture 002 ("Pre-norm vs post-norm"): post-norm, out = LN(x + f(x)), puts the norm on
the residual "highway", so the gradient to x passes through every LayerNorm: "can vanish
at depth, needs careful warmup". Pre-norm, out = x + f(LN(x)), keeps a direct +1 path:
"scales cleanly to very deep models, needs less warmup". Here the blocks are MLP blocks
f = Linear(d, 2d) -> ReLU -> Linear(2d, d) on MNIST, a stack of L of them between a
Linear embedding and a Linear head (pre-norm adds the customary final LayerNorm),
trained with Adam at several depths and learning rates, with and without a linear
warmup of the learning rate over the first 20% of the steps.
"""

import math

import numpy as np

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F
from ferrograd.optim import lr_scheduler

from ._common import accuracy, claim, minibatches

NAME = "prenorm-vs-postnorm"
SEED = "002"
DESCRIPTION = ("residual MLP stacks x + f(LN(x)) vs LN(x + f(x)) at growing depth and "
               "learning rate, with and without warmup")

ARCHS = ("pre", "post")


class Block(nn.Module):
    def __init__(self, width, placement):
        super().__init__()
        self.placement = placement
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, 2 * width)
        self.fc2 = nn.Linear(2 * width, width)

    def branch(self, x):
        return self.fc2(F.relu(self.fc1(x)))

    def forward(self, x):
        if self.placement == "pre":
            return x + self.branch(self.norm(x))  # the skip path never meets a norm
        return self.norm(x + self.branch(x))      # every path passes through the norm


class ResidualMLP(nn.Module):
    def __init__(self, depth, width, placement, in_features=784, classes=10):
        super().__init__()
        self.embed = nn.Linear(in_features, width)
        self.blocks = nn.Sequential(*[Block(width, placement) for _ in range(depth)])
        # Pre-norm stacks end with a LayerNorm (as GPT-2 does); post-norm already did.
        self.final_norm = nn.LayerNorm(width) if placement == "pre" else nn.Identity()
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        return self.head(self.final_norm(self.blocks(self.embed(x))))


def train(model, x, y, steps, batch_size, lr, warmup_steps, seed, bar):
    """Adam, lr warmed up linearly from lr/100 over ``warmup_steps`` (0: none); returns
    the per-step losses (stopping at a non-finite one)."""
    opt = fg.optim.Adam(model.parameters(), lr=lr)
    sched = (lr_scheduler.LinearLR(opt, start_factor=0.01, total_iters=warmup_steps)
             if warmup_steps else None)
    rng = np.random.default_rng(seed)
    losses = []
    model.train()
    while len(losses) < steps:
        for idx in minibatches(x.shape[0], batch_size, rng):
            idx = fg.from_numpy(idx).to(x.device)
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            losses.append(float(loss.item()))
            bar.update(1)
            if not math.isfinite(losses[-1]) or len(losses) == steps:
                return losses
    return losses


def run(ctx):
    quick = ctx.quick
    settings = {"width": 64, "depths": [2, 16] if quick else [2, 8, 32],
                "lrs": [1e-3, 1e-2] if quick else [1e-3, 3e-3, 1e-2, 3e-2],
                "optimizer": "Adam", "steps": 80 if quick else 300, "batch_size": 64,
                "warmup_fraction": 0.2, "n_train": 3000 if quick else 8000, "n_test": 1000}
    x, y, xt, yt = (t.to(ctx.device) for t in ctx.mnist(settings["n_train"], settings["n_test"]))
    steps = settings["steps"]
    results = {}  # "pre|post, warmup|no warmup" -> [depth][lr] test accuracy
    total = len(ARCHS) * 2 * len(settings["depths"]) * len(settings["lrs"]) * steps
    with ctx.progress(total, NAME) as bar:
        for arch in ARCHS:
            for warm in (False, True):
                grid = []
                for depth in settings["depths"]:
                    row = []
                    for lr in settings["lrs"]:
                        fg.manual_seed(ctx.seed)
                        model = ResidualMLP(depth, settings["width"], arch).to(ctx.device)
                        warmup = int(settings["warmup_fraction"] * steps) if warm else 0
                        losses = train(model, x, y, steps, settings["batch_size"], lr,
                                       warmup, ctx.seed, bar)
                        bar.update(steps - len(losses))
                        model.eval()
                        row.append(accuracy(model, xt, yt) if math.isfinite(losses[-1])
                                   else 0.1)
                    grid.append(row)
                results[f"{arch}-norm, {'warmup' if warm else 'no warmup'}"] = grid

    def acc(arch, warm, depth_index, lr_index):
        return results[f"{arch}-norm, {'warmup' if warm else 'no warmup'}"][depth_index][lr_index]

    n_depths, n_lrs = len(settings["depths"]), len(settings["lrs"])
    deep = n_depths - 1
    cells = [(i, j) for i in range(n_depths) for j in range(n_lrs)]
    # Warmup's effect, averaged over the whole depth x learning-rate grid (one cell can
    # be beyond what either schedule trains, so a single cell would say little).
    gain = {arch: float(np.mean([acc(arch, True, i, j) - acc(arch, False, i, j)
                                 for i, j in cells])) for arch in ARCHS}
    # How much accuracy each placement loses from the shallowest to the deepest stack,
    # averaged over the learning rates (no warmup).
    drop = {arch: float(np.mean([acc(arch, False, 0, j) - acc(arch, False, deep, j)
                                 for j in range(n_lrs)])) for arch in ARCHS}
    def fails(arch):  # the cells where ``arch`` with warmup ends below 50% test accuracy
        return [f"depth {settings['depths'][i]}, lr {settings['lrs'][j]:g}"
                for i, j in cells if acc(arch, True, i, j) < 0.5]

    failing, pre_failing = fails("post"), fails("pre")
    m = {"test_accuracy": results, "depth_drop_mean_over_lrs": drop,
         "warmup_gain_mean_over_grid": gain, "post_norm_fails_even_with_warmup": failing}
    claims = [
        claim("Post-norm stacks stop training as they get deep; pre-norm scales cleanly",
              SEED, "mean over lrs of (test acc at the shallowest - at the deepest stack), "
              "no warmup", drop,
              "post-norm's drop exceeds pre-norm's by at least 5 points",
              drop["post"] - drop["pre"] >= 0.05),
        claim("Post-norm needs (careful) warmup", SEED,
              "post-norm test accuracy gain from warmup, mean over the depth x lr grid",
              gain["post"], ">= 0.05", gain["post"] >= 0.05),
        claim("Pre-norm needs less warmup", SEED,
              "warmup gain, mean over the grid: pre-norm vs post-norm", gain,
              "pre-norm's gain is smaller than post-norm's by at least 3 points",
              gain["pre"] <= gain["post"] - 0.03),
    ]
    notes = ""
    if failing:
        notes = ("Post-norm does not train even with warmup at " + "; ".join(failing) +
                 f": a linear warmup over {settings['warmup_fraction']:.0%} of "
                 f"{steps} steps is not careful enough there. Pre-norm with warmup "
                 + (f"fails at {len(pre_failing)} cells." if pre_failing
                    else "trains (>= 50% test accuracy) in every cell."))
    return {"settings": settings, "measurements": m, "claims": claims, "notes": notes}


def plot(result, fig):
    s, m = result["settings"], result["measurements"]
    keys = list(m["test_accuracy"])
    fig.set_size_inches(16, 5.5)
    fig.set_layout_engine("constrained")
    axes = fig.subplots(1, len(keys))
    for ax, key in zip(axes, keys):
        grid = np.array(m["test_accuracy"][key])
        image = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", origin="lower", aspect="auto")
        for (i, j), value in np.ndenumerate(grid):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if value < 0.5 else "black")
        ax.set_xticks(range(len(s["lrs"])), [f"{v:g}" for v in s["lrs"]])
        ax.set_yticks(range(len(s["depths"])), [str(v) for v in s["depths"]])
        ax.set(xlabel="learning rate (Adam)", title=key)
    axes[0].set_ylabel("depth (residual blocks)")
    fig.colorbar(image, ax=list(axes), label="test accuracy", shrink=0.8)
    fig.suptitle(f"prenorm-vs-postnorm (seed 002): x + f(LN(x)) vs LN(x + f(x)), "
                 f"{s['steps']} Adam steps")
