"""label-smoothing: bounded logit gaps, smaller logits, lower confidence, calibration.

Lecture 002 (Label smoothing): the target y_smooth = (1 - a) y_hard + a/K "is bounded",
so the model cannot push logits to +-infinity; it "prevents overconfidence", "regularizes
the output layer (softer target -> smaller logit magnitudes)" and gives "better
calibration"; one flag in PyTorch, ``CrossEntropyLoss(label_smoothing=0.1)``.

The bound is exact: with free logits, the smoothed cross-entropy is minimized by
softmax(z) = y_smooth, i.e. p_true = 1 - a + a/K and p_other = a/K, so the gap between
the true logit and every other one is ln((1 - a + a/K) / (a/K)) (4.51 for a = 0.1,
K = 10). This experiment checks that optimum by gradient descent on free logits, then
trains an MLP on MNIST with a = 0, 0.1, 0.3 and measures the gap on training examples,
the logit norm, the confidence, the accuracy and the expected calibration error (ECE:
the bin-weighted mean |accuracy - confidence| over 15 confidence bins), with a
reliability diagram.
"""

import math

import numpy as np

import ferrograd as fg
from ferrograd import nn, optim
from ferrograd.nn import functional as F

from ._common import claim, minibatches

NAME = "label-smoothing"
SEED = "002"
DESCRIPTION = ("confidence, logit gap against ln((1-a+a/K)/(a/K)), logit norm, accuracy, "
               "reliability diagram and calibration error, for a = 0, 0.1, 0.3")

ALPHAS = (0.0, 0.1, 0.3)
K = 10
BINS = 15


def closed_form_gap(alpha, k=K):
    return math.log((1 - alpha + alpha / k) / (alpha / k))


def optimum_gap(alpha, steps=3000, lr=1.0):
    """Gradient descent on one free logit vector against the smoothed cross-entropy of
    class 0; returns z_0 - mean of the others at the end."""
    z = fg.zeros((1, K), dtype=fg.float64, requires_grad=True)
    opt = optim.SGD([z], lr=lr)
    target = fg.tensor([0])
    for _ in range(steps):
        loss = F.cross_entropy(z, target, label_smoothing=alpha)
        opt.zero_grad()
        loss.backward()
        opt.step()
    v = z.detach().numpy()[0]
    return float(v[0] - v[1:].mean())


def make_mlp(seed, device):
    fg.manual_seed(seed)
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, K)).to(device)


def logits_of(model, x):
    with fg.no_grad():
        return model(x).to("cpu").numpy().astype(np.float64)


def reliability(probs, labels):
    """Per-bin mean confidence, accuracy and count, and the ECE."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0, 1, BINS + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, BINS - 1)
    bins = {"confidence": [], "accuracy": [], "count": []}
    ece = 0.0
    for b in range(BINS):
        sel = which == b
        n = int(sel.sum())
        bins["count"].append(n)
        bins["confidence"].append(float(conf[sel].mean()) if n else None)
        bins["accuracy"].append(float(correct[sel].mean()) if n else None)
        if n:
            ece += n / len(labels) * abs(correct[sel].mean() - conf[sel].mean())
    return bins, float(ece)


def softmax_np(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def run(ctx):
    s = {"model": "784-256-256-10 ReLU MLP", "optimizer": "Adam", "lr": 1e-3,
         "batch_size": 50, "n_train": 1000 if ctx.quick else 3000,
         "n_test": 1000 if ctx.quick else 2000, "epochs": 10 if ctx.quick else 30,
         "alphas": list(ALPHAS), "classes": K, "ece_bins": BINS}
    dev = ctx.device
    x, y, xt, yt = (t.to(dev) for t in ctx.mnist(s["n_train"], s["n_test"]))
    y_np, yt_np = y.to("cpu").numpy(), yt.to("cpu").numpy()
    m = {"closed_form_gap": {}, "optimum_gap_free_logits": {}, "train_gap_median": {},
         "train_logit_norm": {}, "test_confidence": {}, "test_accuracy": {},
         "ece": {}, "reliability": {}, "overconfidence": {}}
    with ctx.progress(len(ALPHAS) * s["epochs"] + 2, NAME) as bar:
        for a in ALPHAS[1:]:
            m["closed_form_gap"][str(a)] = closed_form_gap(a)
            m["optimum_gap_free_logits"][str(a)] = optimum_gap(a)
            bar.update(1)
        for a in ALPHAS:
            model = make_mlp(ctx.seed, dev)
            opt = optim.Adam(model.parameters(), lr=s["lr"])
            loss_fn = nn.CrossEntropyLoss(label_smoothing=a)
            rng = np.random.default_rng(ctx.seed)
            for _ in range(s["epochs"]):
                for idx in minibatches(s["n_train"], s["batch_size"], rng):
                    idx = fg.from_numpy(idx).to(dev)
                    loss = loss_fn(model(x[idx]), y[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                bar.update(1)
            z = logits_of(model, x)
            true = z[np.arange(len(y_np)), y_np]
            others = (z.sum(axis=1) - true) / (K - 1)
            right = z.argmax(axis=1) == y_np  # the gap is about examples the net fits
            key = str(a)
            m["train_gap_median"][key] = float(np.median((true - others)[right]))
            m["train_logit_norm"][key] = float(np.linalg.norm(z, axis=1).mean())
            probs = softmax_np(logits_of(model, xt))
            m["test_confidence"][key] = float(probs.max(axis=1).mean())
            m["test_accuracy"][key] = float((probs.argmax(axis=1) == yt_np).mean())
            m["reliability"][key], m["ece"][key] = reliability(probs, yt_np)
            m["overconfidence"][key] = m["test_confidence"][key] - m["test_accuracy"][key]

    gaps_exact = all(abs(m["optimum_gap_free_logits"][k] - m["closed_form_gap"][k]) < 1e-3
                     for k in m["closed_form_gap"])
    g, cf = m["train_gap_median"], m["closed_form_gap"]
    norms, conf, ece = m["train_logit_norm"], m["test_confidence"], m["ece"]
    claims = [
        claim("the smoothed target is bounded: its optimum has logit gap "
              "ln((1 - a + a/K)/(a/K)) (4.51 for a = 0.1, K = 10)", "002",
              "gap reached by gradient descent on free logits, per a",
              m["optimum_gap_free_logits"], "within 1e-3 of the closed form for a = 0.1 and 0.3",
              gaps_exact),
        claim("a trained net's logit gap stays near that bound with smoothing, and grows "
              "past it without", "002",
              "median train-set gap (true logit - mean other), per a", g,
              "within 30% of the closed form for a = 0.1 and 0.3, and a = 0's gap larger "
              "than the a = 0.1 bound",
              all(abs(g[k] / cf[k] - 1) < 0.3 for k in cf) and g["0.0"] > cf["0.1"]),
        claim("softer targets give smaller logit magnitudes", "002",
              "mean ||z||_2 on the training set, per a", norms,
              "decreasing in a", norms["0.0"] > norms["0.1"] > norms["0.3"]),
        claim("label smoothing prevents overconfidence", "002",
              "mean max-probability on the test set, per a", conf,
              "decreasing in a", conf["0.0"] > conf["0.1"] > conf["0.3"]),
        claim("label smoothing gives better calibration", "002",
              f"expected calibration error ({BINS} bins), test set, per a", ece,
              "ECE at a = 0.1 below ECE at a = 0", ece["0.1"] < ece["0.0"]),
    ]
    over = m["overconfidence"]
    notes = ""
    if ece["0.1"] >= ece["0.0"] or ece["0.3"] >= ece["0.0"]:
        notes = ("Calibration: mean confidence minus accuracy is "
                 + ", ".join(f"{v:+.3f} at a = {k}" for k, v in over.items())
                 + ". Where it is negative the smoothed model is UNDERconfident: smoothing "
                 "pulls the confidence of a net that was already about as confident as it "
                 "was accurate below its accuracy, so the calibration error does not fall "
                 "(or rises) even though overconfidence is gone.")
    return {"settings": s, "measurements": m, "claims": claims, "notes": notes}


def plot(result, fig):
    m = result["measurements"]
    ax_rel, ax_gap, ax_bar = fig.subplots(1, 3)
    colors = {"0.0": "tab:red", "0.1": "tab:blue", "0.3": "tab:green"}
    ax_rel.plot([0, 1], [0, 1], "k:", label="perfect calibration")
    for a, color in colors.items():
        rel = m["reliability"][a]
        pts = [(c, acc) for c, acc in zip(rel["confidence"], rel["accuracy"]) if c is not None]
        cx, ay = zip(*pts)
        ax_rel.plot(cx, ay, "o-", color=color, label=f"a = {a}: ECE {m['ece'][a]:.3f}")
    ax_rel.set(xlabel="confidence (bin mean)", ylabel="accuracy in the bin",
               title="reliability diagram (test)", xlim=(0, 1.02), ylim=(0, 1.02))
    ax_rel.legend(fontsize=8)
    alphas = list(colors)
    ax_gap.bar(np.arange(3) - 0.2, [m["train_gap_median"][a] for a in alphas], 0.4,
               color=[colors[a] for a in alphas], label="trained net: median gap")
    bound = [m["closed_form_gap"].get(a, np.nan) for a in alphas]
    ax_gap.bar(np.arange(3) + 0.2, np.nan_to_num(bound), 0.4, color="lightgray",
               edgecolor="k", label="closed form ln((1-a+a/K)/(a/K))")
    ax_gap.text(0.2, 0.3, "no bound\n(a = 0)", ha="center", fontsize=8)
    ax_gap.set_xticks(range(3))
    ax_gap.set_xticklabels([f"a = {a}" for a in alphas])
    ax_gap.set(ylabel="true logit - mean other logit", title="logit gap (train)")
    ax_gap.legend(fontsize=8)
    x = np.arange(3)
    ax_bar.plot(x, [m["test_confidence"][a] for a in alphas], "o-", label="mean confidence")
    ax_bar.plot(x, [m["test_accuracy"][a] for a in alphas], "s-", label="accuracy")
    ax_bar.set_xticks(x)
    ax_bar.set_xticklabels([f"a = {a}" for a in alphas])
    ax_bar.set(ylabel="test set", title="confidence vs accuracy")
    ax_norm = ax_bar.twinx()
    ax_norm.plot(x, [m["train_logit_norm"][a] for a in alphas], "^--", color="tab:purple",
                 label="mean ||logits|| (right)")
    ax_norm.set_ylabel("mean ||logits||_2")
    lines = ax_bar.get_lines() + ax_norm.get_lines()
    ax_bar.legend(lines, [ln.get_label() for ln in lines], fontsize=8, loc="center left")
    fig.suptitle("label-smoothing: bounded logit gap, smaller logits, lower confidence; "
                 "calibration (seed 002)")
    fig.tight_layout()
