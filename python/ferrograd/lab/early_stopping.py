"""early-stopping: learning curves with clean and noisy labels, and what the best epoch buys.

Lecture 002 ("Early stopping as implicit regularization"): "If val loss starts rising at
epoch 30, why stop training? ... Eventually you'll memorize training noise. Early
stopping ... is free and almost always helps. Every serious training script checkpoints
on val loss." Lecture 003: "stop training (return to the model checkpoint) when the
validation error stopped decreasing", and "early stopping is a form of weight decay",
since the weights start small and grow as gradient descent goes on.

An MLP is trained for a fixed number of epochs on a small MNIST subset, once with clean
labels and once with a fraction of the training labels replaced by random ones (the
"training noise" to memorize). Every epoch records train/validation/test loss and
accuracy and how far the weights have moved; ``fg.train.EarlyStopping`` follows the
validation loss, keeps the best weights, and notes when patience would have stopped.
"""

import math

import numpy as np

import ferrograd as fg
from ferrograd import nn, optim
from ferrograd.nn import functional as F

from ._common import claim, minibatches

NAME = "early-stopping"
SEED = "002, 003"
DESCRIPTION = ("learning curves with clean and noisy labels, the best-validation epoch "
               "marked, and what stopping there buys in loss and in accuracy")

PATIENCE = 5


def make_mlp(seed, device):
    fg.manual_seed(seed)
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 10)).to(device)


def evaluate(model, x, y):
    """(mean cross-entropy, accuracy) without gradients."""
    with fg.no_grad():
        logits = model(x)
        loss = float(F.cross_entropy(logits, y).item())
        acc = float((logits.to("cpu").numpy().argmax(axis=1) == y.to("cpu").numpy()).mean())
    return loss, acc


def distance_from_init(model, init):
    return math.sqrt(sum(float(((p - p0) ** 2).sum().item())
                         for p, p0 in zip(model.parameters(), init)))


def corrupt(y, fraction, rng):
    """A copy of the labels with ``fraction`` of them replaced by a uniformly random
    *different* class, and the mask of the changed ones."""
    y = y.copy()
    flip = rng.random(len(y)) < fraction
    y[flip] = (y[flip] + rng.integers(1, 10, size=flip.sum())) % 10
    return y, flip


def train_curve(x, y, sets, s, seed, device, bar):
    """Trains for ``s["epochs"]`` epochs; per-epoch metrics and the early-stopping result."""
    model = make_mlp(seed, device)
    init = [p.detach().clone() for p in model.parameters()]
    opt = optim.Adam(model.parameters(), lr=s["lr"])
    stopper = fg.train.EarlyStopping(patience=PATIENCE)
    rng = np.random.default_rng(seed)
    curve = {k: [] for k in ("train_loss", "train_accuracy", "val_loss", "val_accuracy",
                             "test_loss", "test_accuracy", "distance_from_init")}
    patience_stop = None
    for epoch in range(1, s["epochs"] + 1):
        model.train()
        for idx in minibatches(x.shape[0], s["batch_size"], rng):
            idx = fg.from_numpy(idx).to(device)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        for split, (xs, ys) in sets.items():
            loss, acc = evaluate(model, xs, ys)
            curve[f"{split}_loss"].append(loss)
            curve[f"{split}_accuracy"].append(acc)
        curve["distance_from_init"].append(distance_from_init(model, init))
        if stopper.step(curve["val_loss"][-1], model) and patience_stop is None:
            patience_stop = epoch  # where a patience-5 loop would have stopped
        bar.update(1)
    final = {k: v[-1] for k, v in curve.items()}
    stopper.restore(model)  # back to the best validation loss
    restored = dict(zip(("test_loss", "test_accuracy"), evaluate(model, *sets["test"])))
    return {"curve": curve, "best_epoch": stopper.best_epoch, "patience_stop": patience_stop,
            "final": final, "early_stopped": restored}


def run(ctx):
    s = {"model": "784-256-256-10 ReLU MLP", "optimizer": "Adam", "lr": 1e-3,
         "batch_size": 50, "n_train": 1000 if ctx.quick else 2000,
         "n_val": 500 if ctx.quick else 1000, "n_test": 500 if ctx.quick else 1000,
         "epochs": 15 if ctx.quick else 40, "label_noise": 0.4, "patience": PATIENCE}
    x, y, xt, yt = ctx.mnist(s["n_train"], s["n_val"] + s["n_test"])
    rng = np.random.default_rng(ctx.seed)
    noisy_y, flipped = corrupt(y.numpy(), s["label_noise"], rng)
    dev = ctx.device
    sets = {"train": None,
            "val": (xt[:s["n_val"]].to(dev), yt[:s["n_val"]].to(dev)),
            "test": (xt[s["n_val"]:].to(dev), yt[s["n_val"]:].to(dev))}
    m = {"flipped_fraction": float(flipped.mean())}
    with ctx.progress(2 * s["epochs"], NAME) as bar:
        for labels, ys in (("clean", y), ("noisy", fg.from_numpy(noisy_y))):
            xs, ys = x.to(dev), ys.to(dev)
            sets["train"] = (xs, ys)
            m[labels] = train_curve(xs, ys, dict(sets), s, ctx.seed, dev, bar)

    def gains(run_):
        return {"loss": run_["final"]["test_loss"] - run_["early_stopped"]["test_loss"],
                "accuracy": run_["early_stopped"]["test_accuracy"] - run_["final"]["test_accuracy"]}

    m["gain_clean"], m["gain_noisy"] = gains(m["clean"]), gains(m["noisy"])
    noisy = m["noisy"]
    val = noisy["curve"]["val_loss"]
    best = noisy["best_epoch"]
    dist = noisy["curve"]["distance_from_init"]
    rising = val[-1] > 1.2 * min(val) and best <= 0.8 * s["epochs"]
    claims = [
        claim("with noisy labels the validation loss reaches a minimum and then rises "
              "(the net memorizes the training noise)", "002, 003",
              "noisy labels: best epoch, and final / minimum validation loss",
              {"best_epoch": best, "final_over_min": val[-1] / min(val)},
              "final validation loss > 1.2 x its minimum and the minimum in the first 80% "
              "of epochs", rising),
        claim("stopping at the best validation epoch helps (in test loss)", "002",
              "test loss at the last epoch minus at the restored best-val epoch",
              {"clean": m["gain_clean"]["loss"], "noisy": m["gain_noisy"]["loss"]},
              "> 0 for noisy labels and >= 0 for clean labels",
              m["gain_noisy"]["loss"] > 0 and m["gain_clean"]["loss"] >= 0),
        claim("stopping at the best validation epoch helps (in test accuracy)", "002",
              "test accuracy at the restored best-val epoch minus at the last epoch",
              {"clean": m["gain_clean"]["accuracy"], "noisy": m["gain_noisy"]["accuracy"]},
              ">= +0.01 for noisy labels and >= -0.005 for clean labels",
              m["gain_noisy"]["accuracy"] >= 0.01 and m["gain_clean"]["accuracy"] >= -0.005),
        claim("early stopping is a form of weight decay: the weights move further from "
              "their (small) initialization the longer training runs", "003",
              "noisy labels: distance from init at the best epoch / at the last epoch, and "
              "the fraction of epochs where it grew",
              {"best_over_final": dist[best - 1] / dist[-1],
               "fraction_growing": float(np.mean(np.diff(dist) > 0))},
              "best/final < 0.8 and the distance grows in >= 90% of epochs",
              dist[best - 1] / dist[-1] < 0.8 and np.mean(np.diff(dist) > 0) >= 0.9),
    ]
    notes = []
    gain_c, gain_n = m["gain_clean"], m["gain_noisy"]
    if gain_n["accuracy"] < 0.01:
        notes.append(f"With noisy labels stopping at the best validation loss changed test "
                     f"accuracy by only {gain_n['accuracy']:+.3f} while test loss fell by "
                     f"{gain_n['loss']:.3f}: after the minimum the net grows more confident on "
                     "the examples it gets wrong, so the loss rises while most predictions "
                     "stay the same.")
    if gain_c["accuracy"] < -0.005:
        notes.append(f"With clean labels the validation-loss minimum (epoch "
                     f"{m['clean']['best_epoch']}) comes before accuracy peaks: stopping "
                     f"there costs {-gain_c['accuracy']:.3f} test accuracy. Which metric one "
                     "stops on matters.")
    notes = " ".join(notes)
    return {"settings": s, "measurements": m, "claims": claims, "notes": notes}


def plot(result, fig):
    m = result["measurements"]
    ax_loss, ax_acc, ax_dist = fig.subplots(1, 3)
    styles = {"clean": "tab:blue", "noisy": "tab:red"}
    for labels, color in styles.items():
        run_ = m[labels]
        c = run_["curve"]
        epochs = np.arange(1, len(c["val_loss"]) + 1)
        best = run_["best_epoch"]
        ax_loss.plot(epochs, c["train_loss"], color=color, ls=":", label=f"{labels}: train")
        ax_loss.plot(epochs, c["val_loss"], color=color, label=f"{labels}: validation")
        ax_loss.plot(best, c["val_loss"][best - 1], "*", color=color, ms=14,
                     label=f"{labels}: best val (epoch {best})")
        ax_acc.plot(epochs, c["test_accuracy"], color=color, label=f"{labels}: test")
        ax_acc.plot(best, c["test_accuracy"][best - 1], "*", color=color, ms=14,
                    label=f"{labels}: at best val loss")
        ax_dist.plot(epochs, c["distance_from_init"], color=color, label=labels)
        ax_dist.plot(best, c["distance_from_init"][best - 1], "*", color=color, ms=14)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="learning curves")
    ax_loss.set_ylim(0, max(3.0, min(6.0, max(m["noisy"]["curve"]["val_loss"]) * 1.1)))
    ax_acc.set(xlabel="epoch", ylabel="test accuracy", title="what the best epoch buys")
    ax_dist.set(xlabel="epoch", ylabel="||theta - theta_0||_2",
                title="weights move away from init")
    for ax in (ax_loss, ax_acc, ax_dist):
        ax.legend(fontsize=7)
    fig.suptitle("early-stopping: with noisy labels validation loss rises after its "
                 "minimum; stopping there (star) (seeds 002, 003)")
    fig.tight_layout()
