"""Small helpers the experiments share: minibatch order, accuracy, a verdict line.

They are deliberately plain: the experiments are examples of ferrograd's API, and these
only save each of them the same five lines."""

import math

import numpy as np

from .. import no_grad

__all__ = ["minibatches", "accuracy", "claim", "finite", "mean_loss"]


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
            logits = model(x[i:i + batch_size]).numpy()
            correct += int((logits.argmax(axis=1) == y[i:i + batch_size].numpy()).sum())
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
