"""norm-robustness: normalization makes a deep MLP trainable over a wide range of
initial scales and learning rates.

Lecture 000 ("Normalization and optimization"): normalizing the intermediate activations
gives a "better behaved" optimization, more robust to parameter initialization and
learning rate (and "the time of day"); the BatchNorm paper quoted there says it allows
much higher learning rates and less careful initialization. Here depth-20 width-64 MLPs
(Linear -> norm -> ReLU) without a norm, with BatchNorm and with LayerNorm are trained
with SGD (momentum 0.9) over a grid of init scale c (W ~ N(0, c/n)) and learning rate, and each
cell's test accuracy is one pixel of a heatmap.
"""

import math

import numpy as np

import ferrograd as fg

from ._common import accuracy, claim, normed_mlp, sgd_steps

NAME = "norm-robustness"
SEED = "000"
DESCRIPTION = ("depth-20 MLPs without norm / BatchNorm / LayerNorm over a grid of init "
               "scale x learning rate: test-accuracy heatmaps")

NORMS = ("none", "batch", "layer")


def run(ctx):
    quick = ctx.quick
    settings = {"depth": 10 if quick else 20, "width": 64, "norms": list(NORMS),
                "optimizer": "SGD", "momentum": 0.9,
                "scales_c": [0.5, 2.0, 8.0] if quick else [0.25, 1.0, 2.0, 4.0, 16.0],
                "lrs": [0.003, 0.03, 0.3] if quick else [0.001, 0.003, 0.01, 0.03, 0.1, 0.3],
                "steps": 100 if quick else 300, "batch_size": 64,
                "n_train": 3000 if quick else 6000, "n_test": 1000,
                "trains_threshold": 0.5}
    x, y, xt, yt = (t.to(ctx.device) for t in ctx.mnist(settings["n_train"], settings["n_test"]))
    cs, lrs = settings["scales_c"], settings["lrs"]
    grids = {}
    total = len(NORMS) * len(cs) * len(lrs) * settings["steps"]
    with ctx.progress(total, NAME) as bar:
        for norm in NORMS:
            grid = np.zeros((len(cs), len(lrs)))
            for i, c in enumerate(cs):
                for j, lr in enumerate(lrs):
                    fg.manual_seed(ctx.seed)
                    model = normed_mlp(norm, settings["depth"], settings["width"], c)
                    model.to(ctx.device)
                    opt = fg.optim.SGD(model.parameters(), lr=lr, momentum=settings["momentum"])
                    losses = sgd_steps(model, opt, x, y, settings["steps"],
                                       settings["batch_size"], np.random.default_rng(ctx.seed),
                                       bar)
                    bar.update(settings["steps"] - len(losses))
                    model.eval()
                    # A diverged net (NaN weights) scores chance, whatever argmax says.
                    grid[i, j] = (accuracy(model, xt, yt) if math.isfinite(losses[-1])
                                  else 0.1)
            grids[norm] = grid
    threshold = settings["trains_threshold"]
    cells = {norm: int((grid >= threshold).sum()) for norm, grid in grids.items()}
    m = {"test_accuracy": {k: v.tolist() for k, v in grids.items()},
         "cells_that_train": cells, "cells_total": len(cs) * len(lrs)}
    claims = [
        claim("Normalization (BatchNorm) makes training robust to the initialization and "
              "the learning rate", SEED,
              f"grid cells with test accuracy >= {threshold}, BatchNorm vs no norm",
              {"batch": cells["batch"], "none": cells["none"]},
              "BatchNorm trains (test accuracy >= 0.5, five times chance) in at least 3 times "
              "as many cells as no norm, and in at least 4 cells",
              cells["batch"] >= 3 * cells["none"] and cells["batch"] >= 4),
        claim("The same for LayerNorm", SEED,
              f"grid cells with test accuracy >= {threshold}, LayerNorm vs no norm",
              {"layer": cells["layer"], "none": cells["none"]},
              "LayerNorm trains (test accuracy >= 0.5, five times chance) in at least 3 times "
              "as many cells as no norm, and in at least 4 cells",
              cells["layer"] >= 3 * cells["none"] and cells["layer"] >= 4),
    ]
    notes = ("With a norm after each Linear the net is invariant to the scale of its "
             "weights, so a larger init scale c acts as a smaller learning rate: the "
             "trainable region of the normalized nets is a diagonal band in (c, lr), not "
             "the whole grid. LayerNorm fails at the largest learning rates where BatchNorm "
             "still trains.")
    return {"settings": settings, "measurements": m, "claims": claims, "notes": notes}


def plot(result, fig):
    s, m = result["settings"], result["measurements"]
    fig.set_size_inches(16, 6)
    fig.set_layout_engine("constrained")
    axes = fig.subplots(1, len(NORMS))
    titles = {"none": "no norm", "batch": "BatchNorm", "layer": "LayerNorm"}
    for ax, norm in zip(axes, NORMS):
        grid = np.array(m["test_accuracy"][norm])
        image = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", origin="lower", aspect="auto")
        for (i, j), value in np.ndenumerate(grid):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if value < 0.5 else "black")
        ax.set_xticks(range(len(s["lrs"])), [f"{v:g}" for v in s["lrs"]])
        ax.set_yticks(range(len(s["scales_c"])), [f"{v:g}" for v in s["scales_c"]])
        ax.set(xlabel="learning rate (SGD, momentum 0.9)",
               title=f"{titles[norm]}\n{m['cells_that_train'][norm]} of "
                     f"{m['cells_total']} cells with accuracy >= {s['trains_threshold']}")
    axes[0].set_ylabel("init scale c in W ~ N(0, c/n)")
    fig.colorbar(image, ax=list(axes), label="test accuracy", shrink=0.8)
    fig.suptitle(f"norm-robustness (seed 000): depth-{s['depth']} MLPs, test accuracy after "
                 f"{s['steps']} SGD steps:\nnormalization widens the region of init scale x "
                 "learning rate that trains")
