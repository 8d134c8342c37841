"""weight-decay: a sweep of lambda, and which optimizers make L2 and weight decay the same.

Lectures 000 and 002 add lambda/2 ||W||^2 to the loss; SGD's step then becomes
W := (1 - lr*lambda) W - lr * grad, so "L2 regularization" and "weight decay" are one
thing for SGD. Discussion 004 (Q5) asks what a moderate lambda does: smaller ||theta||,
a little worse on the training set, and, one hopes, better on the test set. 002 adds
(pointing to lecture 5) that for adaptive optimizers the two are NOT the same, hence
AdamW. 000 and 002 add that L1 "encourages sparsity": its penalty has corners on the
axes, so weights become exactly 0, where L2 only shrinks them.

This experiment trains a one-hidden-layer MLP on MNIST for each lambda of a sweep (SGD
with ``weight_decay=lambda``), checks both equivalence claims directly by training
twins from the same initialization on the same batches, and compares L1 with L2 on a
linear classifier.

Notes on the notes: 004 writes the penalty as lambda ||theta||^2, without the 1/2,
whose gradient is 2 lambda theta, so its lambda is half of ``weight_decay``'s. 000
glosses the Frobenius norm ||W||_F as the "sum of squared entries"; that is ||W||_F^2
(an error: the norm is its square root).
"""

import math

import numpy as np

import ferrograd as fg
from ferrograd import nn, optim
from ferrograd.nn import functional as F

from ._common import accuracy, claim, minibatches

NAME = "weight-decay"
SEED = "000, 002, 004"
DESCRIPTION = ("sweep of lambda: weight norm, train loss, test accuracy; SGD + L2 equals "
               "decoupled decay, Adam + L2 differs from AdamW; L1 against L2 sparsity")

LAMBDAS = (0.0, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 1.0)
TWIN_LAMBDAS = (0.0, 1e-2, 1e-1)


def make_mlp(seed, device):
    fg.manual_seed(seed)
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)).to(device)


def weight_norm(model):
    """||theta||_2 over every parameter (what L2 penalises)."""
    return math.sqrt(sum(float((p * p).sum().item()) for p in model.parameters()))


def full_loss(model, x, y):
    """Cross-entropy on the whole set, without any penalty."""
    with fg.no_grad():
        return float(F.cross_entropy(model(x), y).item())


def train(model, opt, x, y, batches, l2_in_loss=0.0, decay_by_hand=0.0, lr=0.0, bar=None):
    """SGD-style loop over the given index batches.

    ``l2_in_loss``: adds lambda/2 ||theta||^2 to the loss (the lecture's L2 penalty).
    ``decay_by_hand``: multiplies every parameter by (1 - lr*lambda) before the step
    (decoupled weight decay written out), the gradient having been taken at the old W."""
    params = list(model.parameters())
    for idx in batches:
        idx = fg.from_numpy(idx).to(x.device)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        if l2_in_loss:
            loss = loss + l2_in_loss / 2 * sum((p * p).sum() for p in params)
        opt.zero_grad()
        loss.backward()
        if decay_by_hand:
            with fg.no_grad():
                for p in params:
                    p[...] = p * (1 - lr * decay_by_hand)
        opt.step()
        if bar is not None:
            bar.update(1)


def flat_params(model):
    return np.concatenate([p.to("cpu").numpy().ravel() for p in model.parameters()])


def relative_difference(a, b):
    return float(np.linalg.norm(flat_params(a) - flat_params(b)) / np.linalg.norm(flat_params(b)))


def l1_or_l2_linear(kind, x, y, batches, lr, lam, seed, bar):
    """A linear classifier 784 -> 10 trained with an L2 penalty (SGD ``weight_decay``) or
    an L1 penalty lam * ||W||_1. L1 is applied as lasso solvers do, by a proximal step:
    a gradient step on the data loss, then soft-thresholding
    W <- sign(W) * max(|W| - lr*lam, 0), which sets small weights exactly to 0 (a plain
    subgradient step would only make them oscillate around 0). Returns the weights."""
    fg.manual_seed(seed)
    model = nn.Linear(784, 10).to(x.device)
    opt = optim.SGD(model.parameters(), lr=lr, weight_decay=lam if kind == "l2" else 0.0)
    for idx in batches:
        idx = fg.from_numpy(idx).to(x.device)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if kind == "l1":
            with fg.no_grad():
                w = model.weight
                w[...] = fg.sign(w) * F.relu(fg.abs(w) - lr * lam)
        bar.update(1)
    return model


def run(ctx):
    s = {"model": "784-128-10 ReLU MLP", "n_train": 1000 if ctx.quick else 4000,
         "n_test": 500 if ctx.quick else 2000, "epochs": 5 if ctx.quick else 30,
         "batch_size": 50, "sgd_lr": 0.1, "lambdas": list(LAMBDAS),
         "twin_lambdas": list(TWIN_LAMBDAS), "twin_epochs": 1 if ctx.quick else 3,
         "adam_lr": 1e-3,
         # L1's proximal step must outlast the initial weights (~0.04) where the data
         # pushes back on nothing: a shorter quick run needs a larger lambda
         "sparsity_lambda": 3e-3 if ctx.quick else 1e-3}
    x, y, xt, yt = (t.to(ctx.device) for t in ctx.mnist(s["n_train"], s["n_test"]))
    rng = np.random.default_rng(ctx.seed)
    sweep_batches = [b for _ in range(s["epochs"])
                     for b in minibatches(s["n_train"], s["batch_size"], rng)]
    twin_batches = [b for _ in range(s["twin_epochs"])
                    for b in minibatches(s["n_train"], s["batch_size"], rng)]
    total = ((len(LAMBDAS) + 2) * len(sweep_batches)
             + (3 + 2 * len(TWIN_LAMBDAS)) * len(twin_batches))
    m = {"weight_norm": [], "train_loss": [], "test_accuracy": [], "train_accuracy": []}
    with ctx.progress(total, NAME) as bar:
        # 1. the sweep: SGD with weight_decay = lambda
        for lam in LAMBDAS:
            model = make_mlp(ctx.seed, ctx.device)
            train(model, optim.SGD(model.parameters(), lr=s["sgd_lr"], weight_decay=lam),
                  x, y, sweep_batches, bar=bar)
            m["weight_norm"].append(weight_norm(model))
            m["train_loss"].append(full_loss(model, x, y))
            m["train_accuracy"].append(accuracy(model, x, y))
            m["test_accuracy"].append(accuracy(model, xt, yt))
        m["initial_weight_norm"] = weight_norm(make_mlp(ctx.seed, ctx.device))

        # 2. SGD: weight_decay=lambda, lambda/2 ||W||^2 in the loss, decay by hand
        lam, lr = TWIN_LAMBDAS[1], s["sgd_lr"]
        twins = {}
        for how in ("weight_decay", "l2_in_loss", "decoupled_by_hand"):
            model = make_mlp(ctx.seed, ctx.device)
            opt = optim.SGD(model.parameters(), lr=lr,
                            weight_decay=lam if how == "weight_decay" else 0.0)
            train(model, opt, x, y, twin_batches, bar=bar,
                  l2_in_loss=lam if how == "l2_in_loss" else 0.0,
                  decay_by_hand=lam if how == "decoupled_by_hand" else 0.0, lr=lr)
            twins[how] = model
        m["sgd_l2_vs_weight_decay"] = relative_difference(twins["l2_in_loss"],
                                                          twins["weight_decay"])
        m["sgd_l2_vs_decoupled"] = relative_difference(twins["l2_in_loss"],
                                                       twins["decoupled_by_hand"])
        m["sgd_l2_weight_norm_change"] = (weight_norm(twins["l2_in_loss"])
                                          / m["initial_weight_norm"])

        # 3. Adam with L2 (weight_decay adds lambda*W to the gradient) against AdamW
        m["adam_l2_vs_adamw"], m["adam_l2_weight_norm"], m["adamw_weight_norm"] = {}, {}, {}
        m["adam_l2_test_accuracy"], m["adamw_test_accuracy"] = {}, {}
        for lam in TWIN_LAMBDAS:
            pair = {}
            for cls in (optim.Adam, optim.AdamW):
                model = make_mlp(ctx.seed, ctx.device)
                train(model, cls(model.parameters(), lr=s["adam_lr"], weight_decay=lam),
                      x, y, twin_batches, bar=bar)
                pair[cls.__name__] = model
            key = f"{lam:g}"
            m["adam_l2_vs_adamw"][key] = relative_difference(pair["Adam"], pair["AdamW"])
            m["adam_l2_weight_norm"][key] = weight_norm(pair["Adam"])
            m["adamw_weight_norm"][key] = weight_norm(pair["AdamW"])
            m["adam_l2_test_accuracy"][key] = accuracy(pair["Adam"], xt, yt)
            m["adamw_test_accuracy"][key] = accuracy(pair["AdamW"], xt, yt)

        # 4. L1 against L2: how many weights are exactly zero
        thresholds = np.logspace(-6, 0, 25)
        m["sparsity_thresholds"] = thresholds.tolist()
        m["zero_fraction"], m["fraction_below"], m["linear_test_accuracy"] = {}, {}, {}
        for kind in ("l1", "l2"):
            model = l1_or_l2_linear(kind, x, y, sweep_batches, s["sgd_lr"], s["sparsity_lambda"],
                                    ctx.seed, bar)
            w = np.abs(model.weight.to("cpu").numpy())
            m["zero_fraction"][kind] = float((w == 0).mean())
            m["fraction_below"][kind] = [float((w <= t).mean()) for t in thresholds]
            m["linear_test_accuracy"][kind] = accuracy(model, xt, yt)

    norms, losses, acc = m["weight_norm"], m["train_loss"], m["test_accuracy"]
    shrinks = all(b <= a * 1.01 for a, b in zip(norms, norms[1:]))
    loss_rises = all(b >= a * 0.95 for a, b in zip(losses, losses[1:]))
    best_reg = max(acc[1:])
    diff0 = m["adam_l2_vs_adamw"]["0"]
    diffs = [m["adam_l2_vs_adamw"][f"{lam:g}"] for lam in TWIN_LAMBDAS[1:]]
    claims = [
        claim("a larger lambda gives smaller weights (||theta|| < ||theta*||), and a very "
              "large lambda drives theta towards 0", "004", "||theta||_2 per lambda",
              dict(zip(map(str, LAMBDAS), norms)),
              "non-increasing along the sweep (1% slack) and the largest lambda's (1.0) "
              "norm < 0.1 of lambda=0's", shrinks and norms[-1] < 0.1 * norms[0]),
        claim("regularized weights do a little worse on the training set", "004",
              "train cross-entropy per lambda", dict(zip(map(str, LAMBDAS), losses)),
              "non-decreasing along the sweep (5% slack) and the largest lambda's loss "
              "> lambda=0's", loss_rises and losses[-1] > losses[0]),
        claim("a moderate lambda generalizes better than lambda = 0", "004",
              "best test accuracy over lambda > 0 minus test accuracy at lambda = 0",
              best_reg - acc[0], "at least +0.005 (half a point)", best_reg - acc[0] >= 0.005),
        claim("for SGD, lambda/2 ||W||^2 in the loss is the same as weight decay "
              "W := (1 - lr*lambda) W - lr*grad", "000, 002",
              "relative parameter difference after training, L2-in-loss vs "
              "weight_decay and vs decay by hand",
              {"vs_weight_decay": m["sgd_l2_vs_weight_decay"],
               "vs_decoupled_by_hand": m["sgd_l2_vs_decoupled"]},
              "both < 1e-4 (float32 rounding only)",
              max(m["sgd_l2_vs_weight_decay"], m["sgd_l2_vs_decoupled"]) < 1e-4),
        claim("for Adam, L2 in the gradient differs from decoupled weight decay (AdamW)",
              "002", "relative parameter difference Adam(weight_decay) vs AdamW, per lambda",
              m["adam_l2_vs_adamw"],
              "< 1e-4 at lambda = 0 (the control: the same optimizer) and > 1e-2 at every "
              "lambda > 0", diff0 < 1e-4 and min(diffs) > 1e-2),
    ]
    zero, lin_acc = m["zero_fraction"], m["linear_test_accuracy"]
    claims.append(claim(
        "L1 gives sparse weights (many exactly 0), L2 only shrinks them", "000, 002",
        "fraction of exactly-zero weights of a linear classifier, lambda = "
        f"{s['sparsity_lambda']:g}, and the test accuracies",
        {"zero_fraction": zero, "test_accuracy": lin_acc},
        "L1 >= 0.3 zeros, L2 < 0.01, and L1's accuracy within 0.03 of L2's",
        zero["l1"] >= 0.3 and zero["l2"] < 0.01 and lin_acc["l1"] >= lin_acc["l2"] - 0.03))
    notes = ""
    if best_reg - acc[0] < 0.005:
        notes = (f"A moderate lambda did not raise test accuracy by half a point here: "
                 f"at lambda = 0 the MLP reaches train accuracy {m['train_accuracy'][0]:.3f} "
                 f"and test accuracy {acc[0]:.3f}, and the best lambda > 0 gives test "
                 f"accuracy {best_reg:.3f}. Discussion 004 only says one would 'hope' "
                 "for better generalization; on this MNIST subset, with a fixed number "
                 "of epochs, weight decay gives up training fit without a test gain.")
    errors = ("An error in the notes: 000 glosses the Frobenius norm ||W||_F as the \"sum "
              "of squared entries\", which is ||W||_F^2 (its penalty lambda/2 ||W||_F^2 is "
              "right). A convention to mind: 004 writes the penalty as lambda ||theta||^2 "
              "without the 1/2, so its lambda is half of weight_decay's.")
    notes = f"{notes} {errors}" if notes else errors
    return {"settings": s, "measurements": m, "claims": claims, "notes": notes}


def plot(result, fig):
    m, s = result["measurements"], result["settings"]
    lams = np.array(s["lambdas"], dtype=float)
    xs = np.where(lams > 0, lams, lams[lams > 0].min() / 10)  # lambda = 0 drawn at the left
    (ax_norm, ax_fit), (ax_twins, ax_sparse) = fig.subplots(2, 2)
    ax_norm.semilogx(xs, m["weight_norm"], "o-", label="after SGD training")
    ax_norm.axhline(m["initial_weight_norm"], color="gray", ls="--", label="at initialization")
    ax_norm.set(xlabel="lambda", ylabel="||theta||_2",
                title="weight norm shrinks with lambda")
    ax_norm.legend(fontsize=8)
    ax_fit.semilogx(xs, m["train_loss"], "o-", color="tab:red", label="train loss")
    ax_fit.set(xlabel="lambda", ylabel="train cross-entropy",
               title="fit vs regularization")
    ax_acc = ax_fit.twinx()
    ax_acc.semilogx(xs, m["test_accuracy"], "s-", color="tab:green", label="test accuracy")
    ax_acc.set_ylabel("test accuracy")
    lines = ax_fit.get_lines() + ax_acc.get_lines()
    ax_fit.legend(lines, [ln.get_label() for ln in lines], fontsize=8, loc="center left")
    labels = ["SGD L2 / wd", "SGD L2 / by hand"]
    values = [m["sgd_l2_vs_weight_decay"], m["sgd_l2_vs_decoupled"]]
    for key, v in m["adam_l2_vs_adamw"].items():
        labels.append(f"Adam L2 / AdamW l={key}")
        values.append(v)
    floor = 1e-9  # identical runs have 0, which a log axis cannot show: drawn at 1e-9
    colors = ["tab:blue"] * 2 + ["tab:orange"] * len(m["adam_l2_vs_adamw"])
    rows = np.arange(len(values))[::-1]
    ax_twins.barh(rows, [max(v, floor) for v in values], color=colors)
    ax_twins.set_xscale("log")
    ax_twins.set_yticks(rows)
    ax_twins.set_yticklabels([lbl.replace("\n", " ") + (" (0)" if v == 0 else "")
                              for lbl, v in zip(labels, values)], fontsize=7)
    ax_twins.set(xlabel="relative difference (log)",
                 title="twins: same init, batches")
    ax_twins.axvline(1e-4, color="gray", ls=":", label="1e-4 (float32 noise level)")
    ax_twins.legend(fontsize=8)
    for ax in (ax_norm, ax_fit, ax_acc):  # label the stand-in position of lambda = 0
        ax.set_xticks([xs[0]] + [v for v in (1e-4, 1e-2, 1.0) if v in lams])
        ax.set_xticklabels(["0"] + [f"{v:g}" for v in (1e-4, 1e-2, 1.0) if v in lams])
    t = m["sparsity_thresholds"]
    for kind, color in (("l1", "tab:red"), ("l2", "tab:blue")):
        ax_sparse.semilogx(t, m["fraction_below"][kind], color=color,
                           label=f"{kind.upper()}: {m['zero_fraction'][kind]:.0%} exactly 0, "
                                 f"test accuracy {m['linear_test_accuracy'][kind]:.3f}")
    ax_sparse.set(xlabel="threshold t", ylabel="fraction of weights with |w| <= t",
                  title=f"linear classifier, L1 vs L2 at lambda {s['sparsity_lambda']:g}",
                  ylim=(0, 1.02))
    ax_sparse.legend(fontsize=8, loc="lower right")
    fig.suptitle("weight-decay: lambda shrinks the weights; SGD+L2 = weight decay, "
                 "Adam+L2 != AdamW; L1 is sparse (seeds 000, 002, 004)")
    fig.tight_layout()
