"""``fit`` and ``evaluate``: the training loop every experiment needs, written once.

    history = fit(model, optimizer, F.cross_entropy, train_loader, val_loader, epochs=5)
    history.plot("curves.png")

One epoch = one pass over ``train_loader`` in training mode (dropout on, BatchNorm
using batch statistics), then one pass over ``val_loader`` in eval mode without
gradients. Accuracy compares ``output.argmax(-1)`` with the labels (or with the
argmax of probability targets, e.g. after Mixup).
"""

import math
import sys
import time

import numpy as np

from ..autograd import no_grad
from ..data.loader import check_batchnorm
from ..serialization import save
from .history import History

__all__ = ["fit", "evaluate"]


def _numpy(t):
    return np.asarray(t.detach().numpy() if hasattr(t, "detach") else t)


def _correct(output, target):
    """Number of correctly classified rows of one batch."""
    pred = _numpy(output).argmax(axis=-1)
    labels = _numpy(target)
    if labels.ndim == pred.ndim + 1:  # probability targets
        labels = labels.argmax(axis=-1)
    return int((pred == labels).sum())


def evaluate(model, loader, loss_fn):
    """Mean loss and accuracy of ``model`` over ``loader``, in eval mode and without
    gradients; the model's previous mode is restored. Returns ``(loss, accuracy)``."""
    was_training = model.training
    model.eval()
    total, correct, count = 0.0, 0, 0
    try:
        with no_grad():
            for x, y in loader:
                out = model(x)
                n = int(out.shape[0])
                total += float(loss_fn(out, y).item()) * n
                correct += _correct(out, y)
                count += n
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluate: the loader yielded no samples")
    return total / count, correct / count


def _progress(iterable, enabled, **kwargs):
    if not enabled:
        return iterable
    from tqdm import tqdm
    return tqdm(iterable, file=sys.stderr, leave=False, dynamic_ncols=True, **kwargs)


def _lr(optimizer):
    groups = getattr(optimizer, "param_groups", None)
    return groups[0].get("lr") if groups else None


def fit(model, optimizer, loss_fn, train_loader, val_loader=None, epochs=1, scheduler=None,
        early_stopping=None, progress=True, checkpoint_path=None, batch_transform=None,
        log=print):
    """Trains ``model`` for ``epochs`` epochs and returns a :class:`History`.

    - ``loss_fn(output, target)`` returns a scalar tensor (e.g. ``F.cross_entropy``).
    - ``scheduler.step()`` is called once per epoch, after the epoch's updates.
    - ``early_stopping`` (an :class:`EarlyStopping`) watches the validation loss (the
      training loss without ``val_loader``); training stops when it says so and the
      model is left with the best weights seen.
    - ``checkpoint_path``: the best model so far (same metric) is saved there with
      ``fg.save`` after every improving epoch.
    - ``batch_transform(x, y) -> (x, y)`` runs on each training batch, e.g.
      ``lambda x, y: mixup(x, y, 10)``.
    - ``progress``: a tqdm bar per epoch (on stderr). ``log``: called with one summary
      line per epoch (default ``print``; None for silence).

    Models with BatchNorm are checked against the loader first (``check_batchnorm``):
    ValueError for batch size 1, a warning for a last batch of 1 sample.
    RuntimeError naming the epoch and step if the loss becomes NaN or infinite.
    """
    check_batchnorm(model, train_loader)
    history = History()
    best = math.inf
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        total, correct, count = 0.0, 0, 0
        bar = _progress(train_loader, progress, desc=f"epoch {epoch}/{epochs}", total=len(train_loader))
        for step, (x, y) in enumerate(bar, 1):
            if batch_transform is not None:
                x, y = batch_transform(x, y)
            out = model(x)
            loss = loss_fn(out, y)
            value = float(loss.item())
            if not math.isfinite(value):
                raise RuntimeError(
                    f"the training loss is {value} at epoch {epoch}, step {step}: training "
                    "diverged. Try a lower learning rate or a smaller initialization scale "
                    "(or gradient clipping)."
                )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            n = int(out.shape[0])
            total += value * n
            correct += _correct(out, y)
            count += n
            if progress:
                bar.set_postfix(loss=f"{total / count:.4f}", acc=f"{correct / count:.3f}")
        if count == 0:
            raise ValueError("fit: the training loader yielded no batches")
        lr = _lr(optimizer)
        if scheduler is not None:
            scheduler.step()
        train_loss, train_acc = total / count, correct / count
        val_loss = val_acc = None
        if val_loader is not None:
            val_loss, val_acc = evaluate(model, val_loader, loss_fn)
        history.log(train_loss=train_loss, train_acc=train_acc, lr=lr,
                    time=time.perf_counter() - start)
        if val_loader is not None:
            history.log(val_loss=val_loss, val_acc=val_acc)
        if log is not None:
            line = f"epoch {epoch}/{epochs}: train loss {train_loss:.4f} acc {train_acc:.4f}"
            if val_loader is not None:
                line += f" | val loss {val_loss:.4f} acc {val_acc:.4f}"
            log(line)
        monitor = val_loss if val_loader is not None else train_loss
        if checkpoint_path is not None and monitor < best:
            save(model.state_dict(), checkpoint_path)
        best = min(best, monitor)
        if early_stopping is not None and early_stopping.step(monitor, model):
            if log is not None:
                log(f"early stopping at epoch {epoch}; best epoch {early_stopping.best_epoch}")
            break
    if early_stopping is not None:
        early_stopping.restore(model)
    return history
