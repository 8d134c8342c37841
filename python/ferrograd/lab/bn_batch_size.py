"""bn-batch-size: BatchNorm breaks down at small batch sizes, LayerNorm and GroupNorm do
not depend on the batch.

Lecture 000 ("BatchNorm: sensitive to batchsize"): with too small a batch BatchNorm's
statistics are computed from a handful of examples (batch size 1 is impossible: see
bn-train-vs-eval); LayerNorm and GroupNorm normalize each example on its own (lecture
002's BN/LN/GN comparison). The same 3-hidden-layer MLP (Linear -> norm -> ReLU) is
trained with BatchNorm, LayerNorm and GroupNorm (8 groups) at batch sizes 2 to 128, for
the same number of epochs with the learning rate scaled linearly with the batch size
(SGD, momentum 0.9), and tested in eval mode.

Lecture 003 ("Batch Normalization is Difficult to Parallelize"): data-parallel SGD sums
the gradients each GPU computes on its part of the batch, but BatchNorm couples the
examples in the forward pass. Measured: the gradient of a batch of 128 against the mean
of the gradients of its 4 shards of 32, for each norm.
"""

import numpy as np

import ferrograd as fg
from ferrograd.nn import functional as F

from ._common import accuracy, claim, normed_mlp, restore, sgd_steps, snapshot, to_numpy

NAME = "bn-batch-size"
SEED = "000, 002, 003"
DESCRIPTION = ("BatchNorm vs LayerNorm vs GroupNorm at batch sizes 2 to 128 (same epochs, "
               "linearly scaled lr): where BatchNorm breaks down; and why it is hard to "
               "parallelize")

NORMS = ("batch", "layer", "group")
SHARDS = 4  # simulated data-parallel workers


def shard_gradient_gap(model, x, y, shards):
    """Data parallelism on one machine: || grad of the whole batch's mean loss - mean of
    the shards' gradients || / || whole-batch gradient ||, over all parameters, in
    training mode. Zero (to rounding) for a model whose examples do not interact."""
    def gradient(xb, yb):
        model.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        return np.concatenate([to_numpy(p.grad).ravel() for p in model.parameters()])

    model.train()
    saved = snapshot(model)
    full = gradient(x, y)
    size = x.shape[0] // shards
    parts = [gradient(x[i * size:(i + 1) * size], y[i * size:(i + 1) * size])
             for i in range(shards)]
    model.zero_grad()
    restore(model, saved)
    return float(np.linalg.norm(full - np.mean(parts, axis=0)) / np.linalg.norm(full))
LABELS = {"batch": "BatchNorm", "layer": "LayerNorm", "group": "GroupNorm (8 groups)"}


def run(ctx):
    quick = ctx.quick
    settings = {"depth": 3, "width": 128, "norms": list(NORMS),
                "batch_sizes": [2, 8, 32, 128] if quick else [2, 4, 8, 16, 32, 64, 128],
                "epochs": 1 if quick else 2, "lr_per_32_examples": 0.02, "momentum": 0.9,
                "n_train": 1000 if quick else 4000, "n_test": 1000 if quick else 2000}
    x, y, xt, yt = (t.to(ctx.device) for t in ctx.mnist(settings["n_train"], settings["n_test"]))
    n = settings["n_train"]
    sizes = settings["batch_sizes"]
    steps = {b: settings["epochs"] * (n // b) for b in sizes}
    m = {"test_accuracy": {norm: {} for norm in NORMS}, "steps": steps}
    with ctx.progress(len(NORMS) * sum(steps.values()), NAME) as bar:
        for norm in NORMS:
            for b in sizes:
                fg.manual_seed(ctx.seed)
                model = normed_mlp(norm, settings["depth"], settings["width"]).to(ctx.device)
                lr = settings["lr_per_32_examples"] * b / 32
                opt = fg.optim.SGD(model.parameters(), lr=lr, momentum=settings["momentum"])
                sgd_steps(model, opt, x, y, steps[b], b, np.random.default_rng(ctx.seed), bar)
                model.eval()
                m["test_accuracy"][norm][str(b)] = accuracy(model, xt, yt)

    # BatchNorm and data parallelism (lecture 003): the gradient of a batch of 128 is
    # the mean of its 4 shards' gradients only when examples do not interact.
    m["shard_gradient_gap"] = {}
    for norm in NORMS:
        fg.manual_seed(ctx.seed)
        model = normed_mlp(norm, settings["depth"], settings["width"]).to(ctx.device)
        m["shard_gradient_gap"][norm] = shard_gradient_gap(model, x[:128], y[:128], SHARDS)
    acc = m["test_accuracy"]
    small, large = str(sizes[0]), [str(b) for b in sizes if b >= 32]
    others_small = min(acc["layer"][small], acc["group"][small])
    gap_small = others_small - acc["batch"][small]
    gap_large = max(max(acc["layer"][b], acc["group"][b]) - acc["batch"][b] for b in large)
    spread = {norm: max(acc[norm].values()) - min(acc[norm].values()) for norm in NORMS}
    m["gap_to_layer_group_at_smallest_batch"] = gap_small
    m["largest_gap_at_batch_32_or_more"] = gap_large
    m["spread_over_batch_sizes"] = spread
    claims = [
        claim("BatchNorm breaks down at small batch sizes", "000",
              f"test accuracy of LayerNorm/GroupNorm (the worse) minus BatchNorm at batch {small}",
              gap_small, ">= 0.05 (BatchNorm at least 5 points worse)", gap_small >= 0.05),
        claim("...while at usual batch sizes BatchNorm is as good as the others", "000",
              "largest (best of LayerNorm/GroupNorm) minus BatchNorm at batch >= 32",
              gap_large, "<= 0.02", gap_large <= 0.02),
        claim("LayerNorm and GroupNorm stay flat across batch sizes (they do not use the "
              "batch)", "002", "max - min test accuracy over batch sizes, per norm", spread,
              "LayerNorm and GroupNorm spreads are each less than half of BatchNorm's",
              spread["layer"] < 0.5 * spread["batch"] and spread["group"] < 0.5 * spread["batch"]),
    ]
    gaps = m["shard_gradient_gap"]
    claims.append(claim(
        "BatchNorm is difficult to parallelize: it couples the examples of a batch, so the "
        "batch's gradient is not the sum of the GPUs' gradients (LayerNorm's is)", "003",
        f"relative gap between the gradient of a batch of 128 and the mean of its {SHARDS} "
        "shards' gradients, per norm", gaps, "BatchNorm's gap > 1e-2, LayerNorm's < 1e-4",
        gaps["batch"] > 1e-2 and gaps["layer"] < 1e-4))
    return {"settings": settings, "measurements": m, "claims": claims, "notes": ""}


def plot(result, fig):
    m = result["measurements"]
    ax, ax_gap = fig.subplots(1, 2, width_ratios=[2, 1])
    for norm, marker in zip(NORMS, "osD"):
        sizes = [int(b) for b in m["test_accuracy"][norm]]
        ax.plot(sizes, list(m["test_accuracy"][norm].values()), marker=marker, label=LABELS[norm])
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(b) for b in sizes])
    ax.set(xlabel="batch size (lr scaled linearly, same epochs)", ylabel="test accuracy (eval mode)",
           title="3-hidden-layer MLP on MNIST")
    ax.legend()
    gaps = m["shard_gradient_gap"]
    bars = ax_gap.bar([LABELS[n].split(" ")[0] for n in gaps], [max(v, 1e-12) for v in gaps.values()],
                      color=["tab:blue", "tab:orange", "tab:green"],
                      label="||g_batch - mean(g_shards)|| / ||g_batch||")
    ax_gap.bar_label(bars, fmt="%.1e", fontsize=8)
    ax_gap.set_yscale("log")
    ax_gap.set(xlabel="norm", ylabel="relative gradient gap (log)",
               title="gradient of a batch of 128 vs\nmean of its 4 shards' (data parallel)")
    ax_gap.legend(fontsize=7, loc="upper right")
    fig.suptitle("bn-batch-size (seed 000, 002, 003): BatchNorm degrades at small batches "
                 "and couples the examples;\nLayerNorm and GroupNorm stay flat and "
                 "split across workers exactly")
    fig.tight_layout(rect=(0, 0, 1, 0.93))
