"""``EarlyStopping``: stop when a monitored metric stops improving, keep the best weights."""

import math

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """Stops training after ``patience`` epochs in a row without improvement of a metric.

    ``mode="min"`` for losses (lower is better), ``"max"`` for accuracies. An epoch
    counts as an improvement when it beats the best value by more than ``min_delta``.
    At every improvement a copy of ``model.state_dict()`` is kept; ``restore(model)``
    loads it back, so the model ends at its best epoch, not its last one.

        stopper = EarlyStopping(patience=3)
        for epoch in range(100):
            ...
            if stopper.step(val_loss, model):
                break
        stopper.restore(model)
    """

    def __init__(self, patience, min_delta=0.0, mode="min"):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if patience < 0 or min_delta < 0:
            raise ValueError("patience and min_delta must be non-negative")
        self.patience = patience
        self.min_delta = min_delta
        self.mode = mode
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = None
        self.best_state = None
        self.bad_epochs = 0
        self.epoch = 0
        self.should_stop = False

    def improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, value, model=None):
        """Records one epoch's ``value``; returns True when training should stop."""
        self.epoch += 1
        value = float(value)
        if self.improved(value):
            self.best, self.best_epoch, self.bad_epochs = value, self.epoch, 0
            if model is not None:
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.bad_epochs += 1
        self.should_stop = self.bad_epochs > 0 and self.bad_epochs >= self.patience
        return self.should_stop

    def restore(self, model):
        """Loads the best state seen into ``model`` (no-op before the first one)."""
        if self.best_state is not None:
            model.load_state_dict(self.best_state)

    def __repr__(self):
        return (f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, "
                f"mode={self.mode!r}, best={self.best}, best_epoch={self.best_epoch})")
