"""``History``: the per-epoch metrics of a training run, as a dict of lists."""

import json
import os

__all__ = ["History"]


class History(dict):
    """A dict of lists, one entry per epoch: ``history["val_loss"][-1]`` is the last
    epoch's validation loss. ``fit`` records ``train_loss``, ``train_acc``, ``val_loss``
    and ``val_acc`` (when there is a validation set), ``lr`` and ``time`` (seconds).
    """

    def log(self, **metrics):
        """Appends one epoch's values (a new key starts a new list)."""
        for key, value in metrics.items():
            self.setdefault(key, []).append(None if value is None else float(value))

    @property
    def epochs(self):
        return max((len(v) for v in self.values()), default=0)

    def to_json(self, path):
        """Writes the history as a JSON object of lists."""
        with open(path, "w") as f:
            json.dump(dict(self), f, indent=2)

    @classmethod
    def from_json(cls, path):
        with open(path) as f:
            return cls(json.load(f))

    def plot(self, path, title=None):
        """Saves loss and accuracy curves (train vs validation, per epoch) to ``path``
        (PNG, or any format matplotlib infers from the extension)."""
        import matplotlib
        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for ax, metric in zip(axes, ("loss", "acc")):
            for split in ("train", "val"):
                values = self.get(f"{split}_{metric}")
                if values:
                    ax.plot(range(1, len(values) + 1), values, marker="o", label=split)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel("accuracy" if metric == "acc" else "loss")
            ax.grid(True, alpha=0.3)
            ax.legend()
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(os.fspath(path), dpi=100)
        plt.close(fig)
