"""``fit`` and ``evaluate``: the training loop every experiment needs, written once.

    history = fit(model, optimizer, F.cross_entropy, train_loader, val_loader, epochs=5)
    history.plot("curves.png")

One epoch = one pass over ``train_loader`` in training mode (dropout on, BatchNorm
using batch statistics), then one pass over ``val_loader`` in eval mode without
gradients. Accuracy compares ``output.argmax(-1)`` with the labels (or with the
argmax of probability targets, e.g. after Mixup).

Both run on the model's device (that of its first parameter or buffer; ``model.to("wgpu")``
before building the optimizer trains on the GPU). Off the CPU, each batch is uploaded
once, and the running loss sum and correct count are accumulated on the device and read
back together (one small readback) at most every ``REFRESH_SECONDS`` and at the end of
an epoch, so the host never waits for the GPU step by step. On the CPU the loss is read
at every step, as before.
"""

import itertools
import math
import sys
import time

import numpy as np

from .. import _core
from ..autograd import no_grad
from ..data.loader import check_batchnorm
from ..serialization import save
from .history import History

__all__ = ["fit", "evaluate", "REFRESH_SECONDS"]

# Off the CPU: seconds between readbacks of the running loss/accuracy (which also refresh
# the progress bar and check for divergence).
REFRESH_SECONDS = 0.5


def _numpy(t):
    return np.asarray(t.detach().numpy() if hasattr(t, "detach") else t)


def _correct(output, target):
    """Number of correctly classified rows of one batch."""
    pred = _numpy(output).argmax(axis=-1)
    labels = _numpy(target)
    if labels.ndim == pred.ndim + 1:  # probability targets
        labels = labels.argmax(axis=-1)
    return int((pred == labels).sum())


def _model_device(model):
    """The device of the model's first parameter (or buffer); the CPU for a model
    without tensors."""
    for t in itertools.chain(model.parameters(), model.buffers()):
        return t.device
    return _core.device("cpu")


def _divergence(value, epoch, step):
    return RuntimeError(
        f"the training loss is {value} at epoch {epoch}, step {step}: training "
        "diverged. Try a lower learning rate or a smaller initialization scale "
        "(or gradient clipping)."
    )


class _DeviceMeter:
    """Loss sum and correct count of the batches since the last readback, as device
    tensors: adding a batch queues a few tiny kernels and waits for nothing. ``read``
    fetches both in one transfer and folds them into exact host totals (so float32 on
    the device only ever sums the batches between two readbacks)."""

    def __init__(self):
        self.total, self.correct, self.count = 0.0, 0, 0
        self._loss = self._hits = None
        self._pending = []  # (step, detached loss) since the last readback

    def add(self, step, loss, out, target):
        with no_grad():
            loss = loss.detach()
            n = int(out.shape[0])
            pred = out.argmax(-1)
            labels = target.argmax(-1) if target.ndim == pred.ndim + 1 else target
            hits = (pred == labels).sum()
            weighted = loss * n
            self._loss = weighted if self._loss is None else self._loss + weighted
            self._hits = hits if self._hits is None else self._hits + hits
        self._pending.append((step, loss))
        self.count += n

    def read(self, epoch=None):
        """Folds the device sums into the host totals (one readback). With ``epoch``,
        a non-finite sum raises the divergence RuntimeError naming the first step whose
        loss was non-finite."""
        if self._loss is None:
            return
        with no_grad():
            both = _core.stack([self._loss, self._hits.astype(self._loss.dtype)])
        loss_sum, hits = both.to("cpu").tolist()
        pending, self._pending = self._pending, []
        self._loss = self._hits = None
        if epoch is not None and not math.isfinite(loss_sum):
            # Rare path: read the losses of the batches since the last readback one by one.
            for step, loss in pending:
                value = float(loss.item())
                if not math.isfinite(value):
                    raise _divergence(value, epoch, step)
            raise RuntimeError(
                f"the training loss sum became {loss_sum} at epoch {epoch}, between steps "
                f"{pending[0][0]} and {pending[-1][0]}: training diverged. Try a lower "
                "learning rate or a smaller initialization scale (or gradient clipping)."
            )
        self.total += loss_sum
        self.correct += int(round(hits))


def evaluate(model, loader, loss_fn):
    """Mean loss and accuracy of ``model`` over ``loader``, in eval mode and without
    gradients; the model's previous mode is restored. Returns ``(loss, accuracy)``.
    Runs on the model's device; off the CPU the sums are read back once, at the end."""
    device = _model_device(model)
    was_training = model.training
    model.eval()
    total, correct, count = 0.0, 0, 0
    try:
        with no_grad():
            if device.type == "cpu":
                for x, y in loader:
                    out = model(x)
                    n = int(out.shape[0])
                    total += float(loss_fn(out, y).item()) * n
                    correct += _correct(out, y)
                    count += n
            else:
                meter = _DeviceMeter()
                for x, y in loader:
                    x, y = x.to(device), y.to(device)
                    out = model(x)
                    meter.add(None, loss_fn(out, y), out, y)
                meter.read()
                total, correct, count = meter.total, meter.correct, meter.count
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


def _cpu_epoch(model, optimizer, loss_fn, bar, progress, batch_transform, epoch):
    """One training epoch on the CPU: the loss is read (and checked) at every step."""
    total, correct, count = 0.0, 0, 0
    for step, (x, y) in enumerate(bar, 1):
        if batch_transform is not None:
            x, y = batch_transform(x, y)
        out = model(x)
        loss = loss_fn(out, y)
        value = float(loss.item())
        if not math.isfinite(value):
            raise _divergence(value, epoch, step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        n = int(out.shape[0])
        total += value * n
        correct += _correct(out, y)
        count += n
        if progress:
            bar.set_postfix(loss=f"{total / count:.4f}", acc=f"{correct / count:.3f}")
    return total, correct, count


def _device_epoch(model, optimizer, loss_fn, bar, progress, batch_transform, epoch, device):
    """One training epoch on a GPU: nothing is read back between two refreshes."""
    meter = _DeviceMeter()
    last = time.monotonic()
    for step, (x, y) in enumerate(bar, 1):
        if batch_transform is not None:
            x, y = batch_transform(x, y)
        x, y = x.to(device), y.to(device)
        out = model(x)
        loss = loss_fn(out, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        meter.add(step, loss, out, y)
        now = time.monotonic()
        if now - last >= REFRESH_SECONDS:
            last = now
            meter.read(epoch)
            if progress:
                bar.set_postfix(loss=f"{meter.total / meter.count:.4f}",
                                acc=f"{meter.correct / meter.count:.3f}")
    meter.read(epoch)
    return meter.total, meter.correct, meter.count


def _is_ddp(model):
    from ..nn.parallel import DistributedDataParallel
    return isinstance(model, DistributedDataParallel)


def _unwrapped(model):
    """The model whose weights a checkpoint holds (DDP's inner module: no "module." keys)."""
    return model.module if _is_ddp(model) else model


def _over_ranks(model, total, correct, count):
    """The epoch's training totals summed over the ranks when training with DDP."""
    if not _is_ddp(model):
        return total, correct, count
    from .. import distributed
    sums = _core.from_numpy(np.array([total, correct, count], dtype=np.float64))
    distributed.all_reduce(sums)
    total, correct, count = sums.tolist()
    return total, int(correct), int(count)


def _from_rank0(model, value):
    """Rank 0's ``value`` on every rank when training with DDP: the replicas are equal,
    but early stopping must not hinge on the last bit of a reduction order."""
    if not _is_ddp(model):
        return value
    from .. import distributed
    return distributed.state.comm().bcast(value, root=0)


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
    RuntimeError naming the epoch and step if the loss becomes NaN or infinite (off the
    CPU this is noticed at the next readback, a few steps later at most).

    A ``DistributedDataParallel`` model trains data-parallel: call ``fit`` on every rank,
    with a loader over a ``DistributedSampler`` (``set_epoch`` is called for each epoch);
    the logged training loss/accuracy cover all ranks and the checkpoint holds the inner
    module's weights. Pass ``checkpoint_path``, ``log`` and ``progress`` on rank 0 only.

    Training runs on the model's device: move the model first, then build the
    optimizer (``model.to("wgpu")``; the loaders yield CPU batches, which are uploaded
    once each; ``batch_transform`` runs on them before the upload).
    """
    check_batchnorm(model, train_loader)
    device = _model_device(model)
    history = History()
    best = math.inf
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        if hasattr(getattr(train_loader, "sampler", None), "set_epoch"):
            train_loader.sampler.set_epoch(epoch)  # DistributedSampler: a new shuffle
        bar = _progress(train_loader, progress, desc=f"epoch {epoch}/{epochs}", total=len(train_loader))
        if device.type == "cpu":
            total, correct, count = _cpu_epoch(model, optimizer, loss_fn, bar, progress,
                                               batch_transform, epoch)
        else:
            total, correct, count = _device_epoch(model, optimizer, loss_fn, bar, progress,
                                                  batch_transform, epoch, device)
        total, correct, count = _over_ranks(model, total, correct, count)
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
        monitor = _from_rank0(model, val_loss if val_loader is not None else train_loss)
        if checkpoint_path is not None and monitor < best:
            save(_unwrapped(model).state_dict(), checkpoint_path)
        best = min(best, monitor)
        if early_stopping is not None and early_stopping.step(monitor, model):
            if log is not None:
                log(f"early stopping at epoch {epoch}; best epoch {early_stopping.best_epoch}")
            break
    if early_stopping is not None:
        early_stopping.restore(model)
    return history
