"""ferrograd.train: fit, evaluate, EarlyStopping, History.

The optimizer and loss here are tiny local ones (fit only needs ``zero_grad``/``step``
and a loss returning a scalar tensor), so these tests do not depend on fg.optim.
"""

import json
import math

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.data import DataLoader, TensorDataset
from ferrograd.train import EarlyStopping, History, evaluate, fit


class PlainSGD:
    def __init__(self, params, lr):
        self.params = list(params)
        self.param_groups = [{"params": self.params, "lr": lr}]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        lr = self.param_groups[0]["lr"]
        with fg.no_grad():
            for p in self.params:
                if p.grad is not None:
                    p -= lr * p.grad


def ce(logits, target):
    """Cross-entropy from class indices, composed from tensor ops."""
    logp = logits.log_softmax(dim=-1)
    return -(fg.one_hot(target, logits.shape[-1]).to(logp.dtype) * logp).sum(axis=-1).mean()


def _blobs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(0, 0.5, (n, 2)).astype(np.float32) + np.where(y[:, None] == 1, 2.0, -2.0)
    return TensorDataset(fg.tensor(x.astype(np.float32)), fg.tensor(y.astype(np.int64)))


def test_fit_learns_and_records_history(tmp_path):
    fg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    train = DataLoader(_blobs(), batch_size=20, shuffle=True, seed=0)
    val = DataLoader(_blobs(seed=1), batch_size=50)
    ckpt = tmp_path / "best.safetensors"
    hist = fit(model, PlainSGD(model.parameters(), 0.1), ce, train, val, epochs=3,
               progress=False, checkpoint_path=ckpt)
    assert isinstance(hist, History) and hist.epochs == 3
    assert set(hist) >= {"train_loss", "train_acc", "val_loss", "val_acc", "lr"}
    assert hist["val_acc"][-1] > 0.95
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    assert hist["lr"] == [0.1, 0.1, 0.1]
    assert set(fg.load(ckpt)) == set(model.state_dict())
    loss, acc = evaluate(model, val, ce)
    assert acc == pytest.approx(hist["val_acc"][-1]) and loss == pytest.approx(hist["val_loss"][-1], rel=1e-5)


def test_fit_prints_epoch_lines(capsys):
    model = nn.Linear(2, 2)
    fit(model, PlainSGD(model.parameters(), 0.1), ce, DataLoader(_blobs(), 50),
        DataLoader(_blobs(), 50), epochs=2, progress=False)
    out = capsys.readouterr().out
    assert "epoch 1/2: train loss" in out and "val loss" in out and "epoch 2/2" in out


def test_evaluate_restores_mode():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model.train()
    evaluate(model, DataLoader(_blobs(), 50), ce)
    assert model.training
    model.eval()
    evaluate(model, DataLoader(_blobs(), 50), ce)
    assert not model.training


def test_nan_loss_names_epoch_and_step():
    model = nn.Linear(2, 2)
    calls = {"n": 0}

    def loss_fn(out, y):
        calls["n"] += 1
        loss = ce(out, y)
        return loss * float("nan") if calls["n"] == 7 else loss

    with pytest.raises(RuntimeError, match=r"epoch 2, step 2.*lower learning rate.*init"):
        fit(model, PlainSGD(model.parameters(), 0.1), loss_fn, DataLoader(_blobs(), 40),
            epochs=3, progress=False)


def test_fit_checks_batchnorm_batch_size():
    model = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    with pytest.raises(ValueError, match="BatchNorm"):
        fit(model, PlainSGD(model.parameters(), 0.1), ce, DataLoader(_blobs(10), 1),
            epochs=1, progress=False)


def test_fit_calls_scheduler_and_batch_transform():
    model = nn.Linear(2, 2)
    opt = PlainSGD(model.parameters(), 0.1)

    class Halve:
        def step(self):
            opt.param_groups[0]["lr"] /= 2

    seen = []

    def transform(x, y):
        seen.append(x.shape[0])
        return x, y

    hist = fit(model, opt, ce, DataLoader(_blobs(), 100), epochs=3, scheduler=Halve(),
               batch_transform=transform, progress=False)
    assert hist["lr"] == [0.1, 0.05, 0.025] and seen == [100] * 6


# ---------------------------------------------------------------- EarlyStopping

def test_early_stopping_counts_patience():
    stop = EarlyStopping(patience=2)
    results = [stop.step(v) for v in [1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.76]]
    assert results == [False, False, False, True, False, False, True]
    assert stop.best == 0.7 and stop.best_epoch == 5


def test_early_stopping_min_delta_and_max_mode():
    stop = EarlyStopping(patience=1, min_delta=0.1)
    assert stop.step(1.0) is False and stop.step(0.95) is True  # not better by > 0.1
    up = EarlyStopping(patience=1, mode="max")
    assert up.step(0.5) is False and up.step(0.6) is False and up.step(0.55) is True
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(3, mode="lowest")


def test_early_stopping_restores_best_weights():
    model = nn.Linear(2, 2)
    stop = EarlyStopping(patience=2)
    with fg.no_grad():
        model.weight.fill_(1.0)
    stop.step(0.5, model)
    best = np.asarray(model.weight).copy()
    with fg.no_grad():
        model.weight.fill_(7.0)  # later, worse epochs change the weights in place
    stop.step(0.6, model)
    stop.step(0.7, model)
    assert stop.should_stop
    stop.restore(model)
    np.testing.assert_array_equal(np.asarray(model.weight), best)


def test_fit_with_early_stopping_ends_on_best_epoch():
    fg.manual_seed(1)
    model = nn.Linear(2, 2)
    values = iter([1.0, 0.5, 0.9, 0.9, 0.9, 0.9])
    snapshots = []

    class Stopper(EarlyStopping):
        def step(self, value, model=None):
            snapshots.append(np.asarray(model.weight).copy())
            return super().step(next(values), model)

    stop = Stopper(patience=2)
    hist = fit(model, PlainSGD(model.parameters(), 0.5), ce, DataLoader(_blobs(), 20),
               epochs=6, early_stopping=stop, progress=False)
    assert hist.epochs == 4 and stop.best_epoch == 2
    np.testing.assert_array_equal(np.asarray(model.weight), snapshots[1])


# ---------------------------------------------------------------- History

def test_history_json_and_plot(tmp_path):
    h = History()
    for e in range(3):
        h.log(train_loss=1.0 / (e + 1), train_acc=0.5 + 0.1 * e)
        h.log(val_loss=1.2 / (e + 1), val_acc=0.45 + 0.1 * e)
    h.to_json(tmp_path / "history.json")
    data = json.loads((tmp_path / "history.json").read_text())
    assert data["train_loss"] == [1.0, 0.5, pytest.approx(1 / 3)]
    assert History.from_json(tmp_path / "history.json") == h
    h.plot(tmp_path / "curves.png")
    png = (tmp_path / "curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert math.isclose(h["val_acc"][-1], 0.65)
