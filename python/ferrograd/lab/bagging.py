"""bagging: bootstrap ensembles against seed ensembles and a single model; the 63.2%.

Lecture 003 ("Model averaging"): ensembles of models beat their members; "Bootstrap
Aggregation (Bagging) is a classic technique to construct an ensemble by training on
bootstrap samples of the training data": each member sees n examples drawn with
replacement from the n training examples, so a fraction 1 - (1 - 1/n)^n -> 1 - 1/e
= 63.2% of them are distinct, and the ensemble averages the members' predictions.

For neural nets there is a second source of diversity that costs no data: the random
initialization and batch order. This experiment trains M members each way (bootstrap
samples, or the full set with different seeds), averages their predicted
probabilities, and compares both ensembles, at every size 1..M, with a single model.
"""

import math

import numpy as np

import ferrograd as fg
from ferrograd import nn, optim
from ferrograd.nn import functional as F

from ._common import claim, minibatches

NAME = "bagging"
SEED = "003"
DESCRIPTION = ("bootstrap ensembles against seed ensembles and a single model on MNIST; "
               "the 63.2% unique fraction of a bootstrap sample")


def unique_fraction(n, draws):
    """Mean fraction of distinct indices in ``draws`` bootstrap samples of size ``n``
    (drawn with ferrograd's generator)."""
    fractions = []
    for _ in range(draws):
        idx = fg.randint(0, n, (n,)).numpy()
        fractions.append(len(np.unique(idx)) / n)
    return float(np.mean(fractions))


def make_mlp(seed, device):
    fg.manual_seed(seed)
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)).to(device)


def train_member(x, y, rows, seed, s, device):
    """A member trained on the training rows ``rows`` (a bootstrap sample repeats some)."""
    model = make_mlp(seed, device)
    opt = optim.Adam(model.parameters(), lr=s["lr"])
    rng = np.random.default_rng(seed)
    for _ in range(s["epochs"]):
        for batch in minibatches(len(rows), s["batch_size"], rng):
            idx = fg.from_numpy(rows[batch]).to(device)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def probabilities(model, x):
    with fg.no_grad():
        return F.softmax(model(x), dim=1).to("cpu").numpy()


def run(ctx):
    s = {"model": "784-128-10 ReLU MLP", "optimizer": "Adam", "lr": 1e-3, "batch_size": 50,
         "n_train": 500 if ctx.quick else 1000, "n_test": 1000 if ctx.quick else 2000,
         "epochs": 10 if ctx.quick else 20, "members": 4 if ctx.quick else 8,
         "bootstrap_sizes": [10, 100, 1000, 10000], "bootstrap_draws": 200}
    dev = ctx.device
    x, y, xt, yt = (t.to(dev) for t in ctx.mnist(s["n_train"], s["n_test"]))
    yt_np = yt.to("cpu").numpy()
    n, members = s["n_train"], s["members"]
    m = {"unique_fraction": {}, "unique_fraction_formula": {}}
    fg.manual_seed(ctx.seed)
    for size in s["bootstrap_sizes"]:
        m["unique_fraction"][str(size)] = unique_fraction(size, s["bootstrap_draws"])
        m["unique_fraction_formula"][str(size)] = 1 - (1 - 1 / size) ** size
    m["one_minus_1_over_e"] = 1 - math.exp(-1)

    probs = {"seed": [], "bootstrap": []}
    m["bootstrap_member_unique"] = []
    with ctx.progress(2 * members, NAME) as bar:
        for k in range(members):
            seed = ctx.seed * 1000 + k
            model = train_member(x, y, np.arange(n), seed, s, dev)
            probs["seed"].append(probabilities(model, xt))
            bar.update(1)
            fg.manual_seed(seed)
            rows = fg.randint(0, n, (n,)).numpy()  # the bootstrap sample
            m["bootstrap_member_unique"].append(len(np.unique(rows)) / n)
            model = train_member(x, y, rows, seed, s, dev)
            probs["bootstrap"].append(probabilities(model, xt))
            bar.update(1)

    def acc(p):
        return float((p.argmax(axis=1) == yt_np).mean())

    for kind in probs:
        m[f"{kind}_member_accuracy"] = [acc(p) for p in probs[kind]]
        running = np.cumsum(probs[kind], axis=0)
        m[f"{kind}_ensemble_accuracy"] = [acc(running[k]) for k in range(members)]
    single = float(np.mean(m["seed_member_accuracy"]))
    m["single_model_accuracy"] = single
    bag, seed_ens = m["bootstrap_ensemble_accuracy"][-1], m["seed_ensemble_accuracy"][-1]
    big = str(max(s["bootstrap_sizes"]))
    claims = [
        claim("a bootstrap sample of n contains about 1 - 1/e = 63.2% distinct examples",
              "003", f"mean distinct fraction, n = {big}, {s['bootstrap_draws']} samples",
              m["unique_fraction"][big], "within 0.005 of 0.632",
              abs(m["unique_fraction"][big] - m["one_minus_1_over_e"]) < 0.005),
        claim("averaging reduces variance: the bagged ensemble beats its own members",
              "003", f"test accuracy of the {members}-member bagged ensemble minus the mean "
              "of its members'", bag - float(np.mean(m["bootstrap_member_accuracy"])),
              ">= +0.005", bag - float(np.mean(m["bootstrap_member_accuracy"])) >= 0.005),
        claim("bagging: an ensemble of models trained on bootstrap samples beats a single "
              "model", "003", f"test accuracy of the {members}-member bagged ensemble minus "
              "a single model's (mean over seeds)", bag - single, ">= +0.005",
              bag - single >= 0.005),
        claim("averaging several independently trained models beats a single model", "003",
              f"test accuracy of the {members}-member seed ensemble minus a single model's",
              seed_ens - single, ">= +0.005", seed_ens - single >= 0.005),
        claim("bootstrap resampling is a good way to build the ensemble: bagging is at "
              "least as accurate as the seed ensemble", "003",
              "bagged minus seed-ensemble test accuracy", bag - seed_ens, ">= 0",
              bag >= seed_ens),
    ]
    lost = single - float(np.mean(m["bootstrap_member_accuracy"]))
    notes = []
    if bag - single < 0.005:
        notes.append(f"Each bootstrap member sees only about 63% distinct examples and is "
                     f"{lost:.3f} less accurate alone than a model trained on all the data; "
                     f"averaging {members} of them wins back {bag - single + lost:.3f}, so the "
                     f"bagged ensemble ends {bag - single:+.3f} against a single full-data "
                     "model.")
    if seed_ens - single < 0.005:
        notes.append(f"The seed ensemble gains only {seed_ens - single:+.3f}: these small "
                     f"nets, trained to fit their {n} examples, make mostly the same "
                     "mistakes whatever their initialization.")
    if bag < seed_ens:
        notes.append("Bagging's resampling pays off most for unstable, high-variance "
                     "learners such as decision trees; for nets, seeds are the cheaper "
                     "source of diversity.")
    notes = " ".join(notes)
    return {"settings": s, "measurements": m, "claims": claims, "notes": notes}


def plot(result, fig):
    m, s = result["measurements"], result["settings"]
    ax_ens, ax_boot = fig.subplots(1, 2)
    k = np.arange(1, s["members"] + 1)
    ax_ens.plot(k, m["seed_ensemble_accuracy"], "o-", label="seed ensemble (full data)")
    ax_ens.plot(k, m["bootstrap_ensemble_accuracy"], "s-", label="bagging (bootstrap samples)")
    ax_ens.axhline(m["single_model_accuracy"], color="gray", ls="--",
                   label="single model (mean over seeds)")
    ax_ens.plot(k, m["bootstrap_member_accuracy"], "x", color="tab:orange",
                label="bootstrap members alone")
    ax_ens.set(xlabel="ensemble size", ylabel="test accuracy", title="ensembles on MNIST")
    ax_ens.legend(fontsize=8)
    sizes = [int(v) for v in m["unique_fraction"]]
    ax_boot.semilogx(sizes, list(m["unique_fraction"].values()), "o", ms=8,
                     label="measured (mean of bootstrap samples)")
    ax_boot.semilogx(sizes, list(m["unique_fraction_formula"].values()), "k+", ms=12,
                     label="1 - (1 - 1/n)^n")
    ax_boot.axhline(m["one_minus_1_over_e"], color="tab:red", ls=":", label="1 - 1/e = 0.632")
    ax_boot.set(xlabel="sample size n", ylabel="fraction of distinct examples",
                title="what a bootstrap sample holds", ylim=(0.55, 0.75))
    ax_boot.legend(fontsize=8)
    fig.suptitle("bagging: do bootstrap ensembles beat a single model? A bootstrap sample "
                 "holds 63.2% of the data (seed 003)")
    fig.tight_layout()
