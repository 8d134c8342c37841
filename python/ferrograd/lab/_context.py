"""The ``ctx`` object handed to every experiment's ``run(ctx)``.

    ctx.quick      True for the small, CI-sized settings (about 10 s an experiment)
    ctx.seed       the seed of the run; experiments call fg.manual_seed(ctx.seed)
    ctx.device     "cpu" or "wgpu": where the experiments that train nets train
    ctx.progress(total, desc)   a tqdm-like bar (.update(n), .close(), a context manager)
    ctx.mnist(n_train, n_test)  (x_train, y_train, x_test, y_test) from the embedded subset
"""

import sys

import numpy as np

__all__ = ["Context"]


class _SilentBar:
    """The progress bar when progress is off: the same methods, no output."""

    def __init__(self, total=None, desc=None):
        self.total, self.desc, self.n = total, desc, 0

    def update(self, n=1):
        self.n += n

    def set_postfix_str(self, s=None, refresh=True):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class Context:
    """What an experiment may ask of the framework; see the module docstring."""

    def __init__(self, quick=False, seed=0, device="cpu", progress=True):
        if device not in ("cpu", "wgpu"):
            raise ValueError(f"device must be 'cpu' or 'wgpu', got {device!r}")
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) \
                or not 0 <= seed < 2**32:
            # NumPy's generators take seeds below 2**32 as plain ints; keep one range.
            raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
        self.quick = bool(quick)
        self.seed = int(seed)
        self.device = device
        self.show_progress = bool(progress)
        self._mnist = None

    def progress(self, total, desc):
        """A progress bar over ``total`` steps (on stderr, removed when closed)."""
        if not self.show_progress:
            return _SilentBar(total, desc)
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, file=sys.stderr, leave=False,
                    dynamic_ncols=True)

    def mnist(self, n_train, n_test):
        """``n_train`` training and ``n_test`` test images of the embedded MNIST subset,
        flattened to float32 (N, 784) in [0, 1], with int64 labels, as CPU tensors.

        The images are a random subset chosen by ``ctx.seed`` (the same seed gives the
        same images), so that a small quick run still sees every digit."""
        from .. import _core
        from ..data import load_default

        if self._mnist is None:
            self._mnist = load_default()
        train, test = self._mnist
        rng = np.random.default_rng(self.seed)
        out = []
        for dataset, n, what in ((train, n_train, "n_train"), (test, n_test, "n_test")):
            if not 1 <= int(n) <= len(dataset):
                raise ValueError(f"{what} must be in [1, {len(dataset)}] (the embedded "
                                 f"subset's size), got {n}")
            idx = np.sort(rng.choice(len(dataset), size=int(n), replace=False))
            x = dataset.images[idx].reshape(len(idx), -1).astype(np.float32) / np.float32(255)
            out += [_core.from_numpy(np.ascontiguousarray(x)),
                    _core.from_numpy(dataset.targets[idx].copy())]
        return tuple(out)
