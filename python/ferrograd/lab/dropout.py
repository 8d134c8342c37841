"""dropout: the 1/(1-p) correction, dropout against overfitting, and the masked ensemble.

Lecture 000 and discussion 004: in training each unit is zeroed with probability p and
the survivors are scaled by 1/(1-p); without that correction the expected activation
in training is (1-p) times the eval-time one (004's "domain shift"). 000, 002 and 003:
dropout regularizes, "avoids overfitting". 002's ensemble view: every pass trains a
different thinned network, and "at test time, no mask -> like averaging the ensemble".

Three measurements:
  1. the mean train-mode activation over the eval-mode one, with and without the
     correction, for several p;
  2. test accuracy of an MLP with and without dropout, on clean labels and on labels
     partly replaced by random ones (where there is more to overfit);
  3. for the trained dropout net, the mean of K masked (train-mode) passes against
     the single eval-mode pass as K grows: for the pre-activations right after a
     dropout layer (linear in the mask, so the mean converges to the eval value) and
     for the output probabilities (nonlinear: the eval pass is only an approximation
     of the ensemble mean, the "weight scaling inference rule").

An error in the notes: 002's dropout figure says "randomly silence p x N neurons" and,
under it, "training: h <- (h * mask) / p". With p the fraction silenced, the survivors
must be divided by 1 - p (as 000, 004 and 002's own later slide do); dividing by p is
right only when p is the keep probability. The figure uses p = 0.5, where the two agree.
``nn.Dropout(p)`` takes the drop probability, as PyTorch's.
"""

import numpy as np

import ferrograd as fg
from ferrograd import nn, optim
from ferrograd.nn import functional as F

from ._common import accuracy, claim, minibatches

NAME = "dropout"
SEED = "000, 002, 003, 004"
DESCRIPTION = ("train/eval activation ratio with and without 1/(1-p), accuracy with and "
               "without dropout on clean and noisy labels, masked passes averaging to eval")

RATE_GRID = (0.2, 0.5, 0.8)


def make_mlp(p, seed, device):
    """784-512-512-10 ReLU MLP, with Dropout(p) after each hidden layer when p > 0."""
    fg.manual_seed(seed)
    layers = []
    for fan_in, fan_out in ((784, 512), (512, 512)):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
        if p > 0:
            layers.append(nn.Dropout(p))
    return nn.Sequential(*layers, nn.Linear(512, 10)).to(device)


def train(model, x, y, s, seed, bar):
    opt = optim.Adam(model.parameters(), lr=s["lr"])
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(s["epochs"]):
        for idx in minibatches(x.shape[0], s["batch_size"], rng):
            idx = fg.from_numpy(idx).to(x.device)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        bar.update(1)
    model.eval()


def activation_ratios(x, device):
    """Mean train-mode / eval-mode activation of a dropout layer, with the correction
    (nn.Dropout) and without it (the same mask, the survivors not rescaled)."""
    with fg.no_grad():
        h = F.relu(nn.Linear(784, 512).to(device)(x))  # some positive hidden activations
        eval_mean = float(h.mean().item())
        out = {"with_correction": {}, "without_correction": {}}
        for p in RATE_GRID:
            corrected = nn.Dropout(p)(h)  # survivors * 1/(1-p)
            plain = corrected * (1 - p)  # survivors unscaled: the mask alone
            out["with_correction"][str(p)] = float(corrected.mean().item()) / eval_mean
            out["without_correction"][str(p)] = float(plain.mean().item()) / eval_mean
    return out


def masked_average(model, x, counts):
    """For K in ``counts``: relative distance between the mean of K train-mode passes and
    the eval-mode pass, for the first hidden layer after dropout (pre-activation of the
    second Linear) and for the output probabilities; and argmax agreement."""
    first_dropout_to_linear = nn.Sequential(*list(model)[:4])  # Linear, ReLU, Dropout, Linear
    with fg.no_grad():
        model.eval()
        eval_pre = first_dropout_to_linear(x).to("cpu").numpy()
        eval_prob = F.softmax(model(x), dim=1).to("cpu").numpy()
        model.train()
        sum_pre, sum_prob = np.zeros_like(eval_pre), np.zeros_like(eval_prob)
        res = {"K": list(counts), "pre_activation": [], "probabilities": [], "argmax_agreement": []}
        for k in range(1, max(counts) + 1):
            sum_pre += first_dropout_to_linear(x).to("cpu").numpy()
            sum_prob += F.softmax(model(x), dim=1).to("cpu").numpy()
            if k in counts:
                mean_pre, mean_prob = sum_pre / k, sum_prob / k
                res["pre_activation"].append(float(
                    np.linalg.norm(mean_pre - eval_pre) / np.linalg.norm(eval_pre)))
                res["probabilities"].append(float(np.abs(mean_prob - eval_prob).sum(axis=1).mean()))
                res["argmax_agreement"].append(float(
                    (mean_prob.argmax(axis=1) == eval_prob.argmax(axis=1)).mean()))
        model.eval()
    return res


def run(ctx):
    s = {"model": "784-512-512-10 ReLU MLP", "p": 0.5, "lr": 1e-3, "batch_size": 50,
         "n_train": 1000 if ctx.quick else 2000, "n_test": 500 if ctx.quick else 2000,
         "epochs": 10 if ctx.quick else 40, "label_noise": 0.4, "rates_for_ratio": list(RATE_GRID),
         "mc_counts": [1, 2, 4, 8, 16, 32] + ([] if ctx.quick else [64, 128]),
         "mc_examples": 200}
    dev = ctx.device
    x, y, xt, yt = (t.to(dev) for t in ctx.mnist(s["n_train"], s["n_test"]))
    rng = np.random.default_rng(ctx.seed)
    noisy = y.to("cpu").numpy().copy()
    flip = rng.random(len(noisy)) < s["label_noise"]
    noisy[flip] = (noisy[flip] + rng.integers(1, 10, size=flip.sum())) % 10
    labels = {"clean": y, "noisy": fg.from_numpy(noisy).to(dev)}
    m = {"activation_ratio": activation_ratios(x, dev), "test_accuracy": {}, "train_accuracy": {}}
    models = {}
    with ctx.progress(4 * s["epochs"], NAME) as bar:
        for kind, ys in labels.items():
            for p in (0.0, s["p"]):
                key = f"{kind}, p={p:g}"
                model = make_mlp(p, ctx.seed, dev)
                train(model, x, ys, s, ctx.seed, bar)
                m["test_accuracy"][key] = accuracy(model, xt, yt)
                m["train_accuracy"][key] = accuracy(model, x, ys)
                models[key] = model
    m["masked_average"] = masked_average(models[f"clean, p={s['p']:g}"],
                                         xt[:s["mc_examples"]], s["mc_counts"])

    ratio = m["activation_ratio"]
    corr_ok = all(abs(v - 1) < 0.02 for v in ratio["with_correction"].values())
    plain_ok = all(abs(v - (1 - float(p))) < 0.02 for p, v in ratio["without_correction"].items())
    acc = m["test_accuracy"]
    p_key = f"p={s['p']:g}"
    gain = {kind: acc[f"{kind}, {p_key}"] - acc[f"{kind}, p=0"] for kind in labels}
    mc = m["masked_average"]
    pre, prob = mc["pre_activation"], mc["probabilities"]
    claims = [
        claim("with the 1/(1-p) correction the expected training activation equals the "
              "eval one; without it, it is (1-p) times smaller", "000, 004",
              "mean train-mode / eval-mode activation per p, with and without correction",
              ratio, "within 0.02 of 1 with the correction and of 1-p without, for every p",
              corr_ok and plain_ok),
        claim("dropout reduces overfitting: higher test accuracy, most where there is noise "
              "to memorize", "000, 002, 003",
              f"test accuracy with Dropout({s['p']}) minus without", gain,
              ">= +0.01 with noisy labels and >= 0 with clean labels",
              gain["noisy"] >= 0.01 and gain["clean"] >= 0),
        claim("the mean of many masked passes approaches the eval-mode output (after a "
              "dropout layer, where the network is still linear in the mask)", "002",
              f"relative distance to eval at K = 1 and K = {mc['K'][-1]}",
              {"K=1": pre[0], f"K={mc['K'][-1]}": pre[-1]},
              "falls like 1/sqrt(K): at the largest K below 2/sqrt(K) of the K = 1 distance",
              pre[-1] < 2 / np.sqrt(mc["K"][-1]) * pre[0]),
        claim("at the output the eval pass stands in for the ensemble average", "002",
              f"argmax agreement of the {mc['K'][-1]}-pass mean with eval, and the mean L1 "
              "distance of probabilities at K = 1 and at the largest K",
              {"agreement": mc["argmax_agreement"][-1], "L1_K1": prob[0], "L1_Kmax": prob[-1]},
              "agreement >= 0.97, and the K-pass mean closer to eval than one masked pass",
              mc["argmax_agreement"][-1] >= 0.97 and prob[-1] < prob[0]),
    ]
    tail = prob[-1] / prob[0]
    notes = ("The notes' dropout figure (002) divides by p while calling p the fraction "
             "silenced; with p the drop probability the survivors are scaled by 1/(1-p), "
             "which is what the measured ratios confirm. "
             f"At the output the distance between the masked-pass mean and the eval pass "
             f"fell to {tail:.2f} of its K = 1 value; it does not go to zero, because after "
             "a ReLU and a softmax the mean of the thinned networks is not exactly the "
             "network with rescaled weights.")
    return {"settings": s, "measurements": m, "claims": claims, "notes": notes}


def plot(result, fig):
    m, s = result["measurements"], result["settings"]
    ax_ratio, ax_acc, ax_mc = fig.subplots(1, 3)
    ratio = m["activation_ratio"]
    ps = [float(p) for p in ratio["with_correction"]]
    ax_ratio.plot(ps, list(ratio["with_correction"].values()), "o-", label="with 1/(1-p)")
    ax_ratio.plot(ps, list(ratio["without_correction"].values()), "s-", label="mask only")
    ax_ratio.plot(ps, [1 - p for p in ps], "k:", label="1 - p")
    ax_ratio.set(xlabel="drop probability p", ylabel="mean train activation / eval activation",
                 title="why inverted dropout scales", ylim=(0, 1.2))
    ax_ratio.legend(fontsize=8)
    acc = m["test_accuracy"]
    kinds = ["clean", "noisy"]
    width = 0.35
    for i, (p, color) in enumerate(((0.0, "tab:gray"), (s["p"], "tab:blue"))):
        vals = [acc[f"{k}, p={p:g}"] for k in kinds]
        ax_acc.bar(np.arange(2) + (i - 0.5) * width, vals, width, color=color,
                   label=f"Dropout p={p:g}" if p else "no dropout")
    ax_acc.set_xticks(range(2))
    ax_acc.set_xticklabels([f"{k} labels" for k in kinds])
    low = min(acc.values())
    ax_acc.set(ylabel="test accuracy", title="dropout against overfitting",
               ylim=(max(0.0, low - 0.1), 1.0))
    ax_acc.legend(fontsize=8)
    mc = m["masked_average"]
    k = np.array(mc["K"])
    ax_mc.loglog(k, mc["pre_activation"], "o-", label="after a dropout layer (rel. L2)")
    ax_mc.loglog(k, mc["probabilities"], "s-", label="output probabilities (mean L1)")
    ax_mc.loglog(k, mc["pre_activation"][0] / np.sqrt(k), "k:", label="1/sqrt(K)")
    ax_mc.set(xlabel="masked passes averaged (K)", ylabel="distance to the eval pass (log)",
              title="mean of masked passes vs eval")
    ax_mc.legend(fontsize=8)
    fig.suptitle("dropout: 1/(1-p) keeps the expected activation, dropout vs overfitting, "
                 "masked passes average to eval (seeds 000, 002, 003, 004)")
    fig.tight_layout()
