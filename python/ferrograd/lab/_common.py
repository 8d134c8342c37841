"""Small helpers the experiments share: minibatch order, accuracy, a verdict line.

They are deliberately plain: the experiments are examples of ferrograd's API, and these
only save each of them the same five lines."""

import math

import numpy as np

from .. import no_grad

__all__ = ["minibatches", "accuracy", "claim", "finite", "mean_loss", "to_numpy", "snapshot",
           "restore"]


def to_numpy(t):
    """A NumPy copy of tensor ``t`` wherever it lives (a wgpu tensor is read back)."""
    return np.array(t.detach().to("cpu").numpy(), copy=True)


def snapshot(model):
    """A host copy of the model's state (parameters and buffers, e.g. BatchNorm's
    running statistics), for ``restore`` after a probe that changes them."""
    return {k: to_numpy(v) for k, v in model.state_dict().items()}


def restore(model, saved):
    """Puts back a ``snapshot``; load_state_dict copies to each tensor's own device."""
    from .. import from_numpy

    model.load_state_dict({k: from_numpy(v) for k, v in saved.items()})


def minibatches(n, batch_size, rng, drop_last=True):
    """Index arrays of one shuffled pass over ``n`` samples (NumPy ``rng``)."""
    order = rng.permutation(n)
    stop = n - n % batch_size if drop_last else n
    return [order[i:i + batch_size] for i in range(0, stop, batch_size)]


def accuracy(model, x, y, batch_size=1000):
    """Fraction of rows of ``x`` whose argmax logit equals ``y`` (model in its current
    train/eval mode; no gradients)."""
    correct = 0
    with no_grad():
        for i in range(0, x.shape[0], batch_size):
            logits = to_numpy(model(x[i:i + batch_size]))
            correct += int((logits.argmax(axis=1) == to_numpy(y[i:i + batch_size])).sum())
    return correct / x.shape[0]


def finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


def claim(text, seed, quantity, measured, criterion, holds):
    """One entry of a result's "claims": ``holds`` is the criterion evaluated on the
    measurements (a bool computed by the caller, never a constant)."""
    return {"claim": text, "seed": seed, "quantity": quantity, "measured": measured,
            "criterion": criterion, "verdict": "reproduced" if holds else "not reproduced"}


def mean_loss(losses):
    """Mean of a list of floats, NaN if any is not finite."""
    return float(np.mean(losses)) if all(math.isfinite(v) for v in losses) else float("nan")


def norm_layer(kind, features):
    """``"none"`` -> None, ``"batch"``/``"layer"``/``"group"`` -> the ferrograd module
    (GroupNorm with 8 groups, or fewer when ``features`` is not divisible)."""
    from .. import nn

    if kind == "none":
        return None
    if kind == "batch":
        return nn.BatchNorm1d(features)
    if kind == "layer":
        return nn.LayerNorm(features)
    if kind == "group":
        return nn.GroupNorm(next(g for g in (8, 4, 2, 1) if features % g == 0), features)
    raise ValueError(f"unknown norm {kind!r}")


def normed_mlp(norm, depth, width, c=2.0, in_features=784, classes=10):
    """``depth`` hidden blocks Linear -> [norm] -> ReLU (the usual placement), then a
    Linear head; hidden weights W ~ N(0, c / fan_in), zero biases."""
    import math

    from .. import nn

    layers, fan_in = [], in_features
    for _ in range(depth):
        linear = nn.Linear(fan_in, width)
        with no_grad():
            nn.init.normal_(linear.weight, 0.0, math.sqrt(c / fan_in))
            nn.init.zeros_(linear.bias)
        layers.append(linear)
        norm_module = norm_layer(norm, width)
        if norm_module is not None:
            layers.append(norm_module)
        layers.append(nn.ReLU())
        fan_in = width
    layers.append(nn.Linear(fan_in, classes))
    return nn.Sequential(*layers)


def sgd_steps(model, opt, x, y, steps, batch_size, rng, bar=None, loss_fn=None):
    """``steps`` minibatch steps of ``opt`` on (x, y) in train mode; returns the losses
    (stopping at the first non-finite one)."""
    from .. import from_numpy
    from ..nn import functional as F

    loss_fn = loss_fn or F.cross_entropy
    model.train()
    losses = []
    while len(losses) < steps:
        for idx in minibatches(x.shape[0], batch_size, rng):
            idx = from_numpy(idx).to(x.device)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            losses.append(float(loss.item()))
            if bar is not None:
                bar.update(1)
            if not math.isfinite(losses[-1]) or len(losses) == steps:
                return losses
    return losses
