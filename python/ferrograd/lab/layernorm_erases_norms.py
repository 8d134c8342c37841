"""layernorm-erases-norms: with LayerNorm every example's activation norm is the same
at every layer, whatever the initialization.

Lecture 000 ("Idea: activation normalization", "LayerNorm illustration") normalizes each
example's activation vector to mean 0 and variance 1 across its n features:
z = (x - E[x]) / sqrt(Var[x] + eps). Then ||z||_2 = sqrt(n Var/(Var + eps)) ~ sqrt(n) for
every example and every layer, so LayerNorm "fixes" the varying norms of deep nets
(obviously), and with them erases the relative norms of the examples, which the lecture
says makes standard fully-connected nets harder to train to low loss.

This experiment follows the lecture's placement, z_{i+1} = LN(ReLU(z_i W_i + b_i)), in
a depth-20 width-100 MLP with W ~ N(0, c/n) for c = 0.5, 2, 8, and measures every
example's activation norm at every layer with and without the LayerNorm; then trains a
3-hidden-layer MLP with and without it for the same number of SGD steps.
"""

import math

import numpy as np

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F

from ._common import claim, minibatches, to_numpy

NAME = "layernorm-erases-norms"
SEED = "000"
DESCRIPTION = ("per-example activation norms layer by layer with and without LayerNorm, "
               "init c = 0.5, 2, 8; and the training cost of erasing them")

SCALES = (0.5, 2.0, 8.0)


class MLP(nn.Module):
    """Linear -> ReLU [-> LayerNorm] per hidden layer (the lecture's order), then a
    Linear head. ``forward(x, keep)`` appends each hidden activation to ``keep``."""

    def __init__(self, depth, width, layer_norm, c=2.0, in_features=784, classes=10):
        super().__init__()
        sizes = [in_features] + [width] * depth
        self.linears = nn.ModuleList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            linear = nn.Linear(fan_in, fan_out)
            with fg.no_grad():
                nn.init.normal_(linear.weight, 0.0, math.sqrt(c / fan_in))
                nn.init.zeros_(linear.bias)
            self.linears.append(linear)
        # elementwise_affine=False: the pure normalization the lecture's formula writes.
        self.norms = nn.ModuleList([nn.LayerNorm(width, elementwise_affine=False)
                                    for _ in range(depth)]) if layer_norm else None
        self.head = nn.Linear(width, classes)

    def forward(self, x, keep=None):
        for i, linear in enumerate(self.linears):
            x = F.relu(linear(x))
            if self.norms is not None:
                x = self.norms[i](x)
            if keep is not None:
                keep.append(x)
        return self.head(x)


def example_norms(model, x):
    """(layers, examples) array of ||activation||_2 of every example at every layer."""
    hidden = []
    with fg.no_grad():
        model(x, hidden)
    return np.stack([np.linalg.norm(to_numpy(h), axis=1) for h in hidden])


def train_loss(model, x, y, epochs, batch_size, lr, seed, bar):
    """SGD with momentum; the mean training loss of the last epoch."""
    opt = fg.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    rng = np.random.default_rng(seed)
    curve = []
    for _ in range(epochs):
        losses = []
        for idx in minibatches(x.shape[0], batch_size, rng):
            idx = fg.from_numpy(idx).to(x.device)
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        curve.append(float(np.mean(losses)))
        bar.update(1)
    return curve


def run(ctx):
    settings = {"probe_depth": 20, "width": 100, "scales_c": list(SCALES), "n_probe": 256,
                "layernorm_placement": "Linear -> ReLU -> LayerNorm (no affine)",
                "train_depth": 3, "train_epochs": 4 if ctx.quick else 12, "lr": 0.05,
                "batch_size": 100, "n_train": 3000 if ctx.quick else 10000}
    x, y, _, _ = (t.to(ctx.device) for t in ctx.mnist(settings["n_train"], 1))
    probe = x[:settings["n_probe"]]
    width = settings["width"]
    m = {"mean_norm": {}, "example_spread": {}, "max_deviation_from_sqrt_n": {}}
    with ctx.progress(len(SCALES) * 2 + 2 * settings["train_epochs"], NAME) as bar:
        for c in SCALES:
            for layer_norm in (False, True):
                key = f"{'layernorm' if layer_norm else 'no norm'}, c={c:g}"
                fg.manual_seed(ctx.seed)
                model = MLP(settings["probe_depth"], width, layer_norm, c).to(ctx.device)
                norms = example_norms(model, probe)
                m["mean_norm"][key] = norms.mean(axis=1).tolist()
                # max / min of the examples' norms, per layer: 1 when all are equal
                m["example_spread"][key] = (norms.max(axis=1) / norms.min(axis=1)).tolist()
                m["max_deviation_from_sqrt_n"][key] = float(
                    np.abs(norms / math.sqrt(width) - 1).max())
                bar.update(1)
        m["train_loss"] = {}
        for layer_norm in (False, True):
            key = "layernorm" if layer_norm else "no norm"
            fg.manual_seed(ctx.seed)
            model = MLP(settings["train_depth"], width, layer_norm).to(ctx.device)
            m["train_loss"][key] = train_loss(model, x, y, settings["train_epochs"],
                                              settings["batch_size"], settings["lr"],
                                              ctx.seed, bar)

    ln_keys = [k for k in m["mean_norm"] if k.startswith("layernorm")]
    plain_keys = [k for k in m["mean_norm"] if k.startswith("no norm")]
    worst_ln = max(m["max_deviation_from_sqrt_n"][k] for k in ln_keys)
    plain_spread = min(max(m["example_spread"][k]) for k in plain_keys)
    last_plain = {k: m["mean_norm"][k][-1] for k in plain_keys}
    final = {k: v[-1] for k, v in m["train_loss"].items()}
    claims = [
        claim("With LayerNorm every example's activation norm is the same at every layer, "
              "whatever the initialization", SEED,
              "max over c, layers and examples of | ||z|| / sqrt(n) - 1 |", worst_ln,
              "< 0.01 (all norms equal sqrt(n) = 10 to 1%)", worst_ln < 0.01),
        claim("Without it the norms differ between examples and drift with depth by the "
              "initialization's scale", SEED,
              "last-layer mean norm per c without norm; smallest per-c worst max/min "
              "example-norm ratio",
              {"last_layer_mean_norm": last_plain, "example_max_over_min": plain_spread},
              "examples' norms differ by more than 1.5x at some layer for every c, and "
              "the last-layer norm grows with c by more than 100x from c=0.5 to c=8",
              plain_spread > 1.5
              and last_plain["no norm, c=8"] > 100 * last_plain["no norm, c=0.5"]),
        claim("In practice a standard fully-connected net with LayerNorm is harder to train "
              "to low loss (the relative norms of examples are a useful feature)", SEED,
              "final-epoch training loss, LayerNorm vs no norm", final,
              "the LayerNorm net's final training loss is higher than the plain net's",
              final["layernorm"] > final["no norm"]),
    ]
    notes = ""
    if final["layernorm"] <= final["no norm"]:
        notes = ("On MNIST with this 3-hidden-layer MLP the LayerNorm net trains at least "
                 "as well as the plain one: the lecture's remark about FCNs being harder "
                 "to train with LayerNorm does not show here.")
    return {"settings": settings, "measurements": m, "claims": claims, "notes": notes}


def plot(result, fig):
    m = result["measurements"]
    ax_norm, ax_spread, ax_loss = fig.subplots(1, 3)
    colors = {"0.5": "tab:blue", "2": "tab:green", "8": "tab:red"}
    for key, values in m["mean_norm"].items():
        c = key.split("c=")[1]
        style = "-" if key.startswith("layernorm") else "--"
        layers = range(1, len(values) + 1)
        ax_norm.semilogy(layers, values, style, color=colors[c], label=key)
        ax_spread.plot(layers, m["example_spread"][key], style, color=colors[c], label=key)
    ax_norm.set(xlabel="layer", ylabel="mean per-example ||z||_2 (log)",
                title="activation norm by depth")
    ax_spread.set(xlabel="layer", ylabel="max / min of the examples' norms",
                  title="spread of norms across examples")
    for key, curve in m["train_loss"].items():
        ax_loss.plot(range(1, len(curve) + 1), curve, "o-", label=key)
    ax_loss.set(xlabel="epoch", ylabel="train loss", title="3-hidden-layer MLP, SGD")
    for ax in (ax_norm, ax_spread, ax_loss):
        ax.legend(fontsize=7)
    fig.suptitle("layernorm-erases-norms (seed 000): LayerNorm gives every example the same "
                 "norm at every layer\n(solid lines); without it the norms drift with depth "
                 "and differ between examples (dashed)")
    fig.tight_layout(rect=(0, 0, 1, 0.93))
