"""Data augmentation on whole batches, with NumPy.

Every transform takes a batch of images, shaped (N, C, H, W) or (N, H, W), as a NumPy
array or an fg tensor, and returns the same kind (float32). Random transforms draw one
independent choice per image from their own NumPy Generator, seeded by ``seed`` (or by
a number drawn from ferrograd's generator when ``seed`` is None, so ``fg.manual_seed``
makes them reproducible).

    augment = Compose([RandomAffine(degrees=10, translate=(0.1, 0.1)), GaussianNoise(0.05)])
    train, test = fg.data.load_default(transform=augment)

Rule from the lecture: an augmentation must preserve the label. Small rotations and
shifts do for digits; flips do not (see RandomHorizontalFlip).

``Mixup`` and ``CutMix`` differ: they also change the labels, so they take
``(x, y, num_classes)`` and return mixed inputs with soft targets (rows summing to 1),
which ``F.cross_entropy`` accepts as class probabilities.
"""

import math

import numpy as np

from .. import _core
from .loader import seed_from_fg

Tensor = _core.Tensor

__all__ = ["Compose", "RandomCrop", "RandomHorizontalFlip", "RandomAffine",
           "GaussianNoise", "Normalize", "Mixup", "CutMix", "one_hot"]


def _to_numpy(x):
    if isinstance(x, Tensor):
        return np.asarray(x.detach().numpy(), dtype=np.float32), True
    return np.asarray(x, dtype=np.float32), False


def _back(x, as_tensor):
    x = np.ascontiguousarray(x, dtype=np.float32)
    return _core.from_numpy(x) if as_tensor else x


def _as_nchw(x):
    """Views (N, H, W) as (N, 1, H, W); returns the view and the original ndim."""
    if x.ndim == 3:
        return x[:, None], 3
    if x.ndim == 4:
        return x, 4
    raise ValueError(f"expected a batch of images of shape (N, C, H, W) or (N, H, W), got {x.shape}")


def _from_nchw(x, ndim):
    return x[:, 0] if ndim == 3 else x


class Compose:
    """Applies ``transforms`` one after the other."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


class _Random:
    def __init__(self, seed=None):
        self.rng = np.random.default_rng(seed_from_fg() if seed is None else seed)


class RandomCrop(_Random):
    """Pads each image with ``padding`` zeros on every side, then crops a random
    ``size`` window (an int for square, or (h, w)). With ``padding=p`` and ``size`` the
    image size, this shifts each image by up to ``p`` pixels."""

    def __init__(self, size, padding=0, seed=None):
        super().__init__(seed)
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.padding = int(padding)

    def __call__(self, x):
        x, as_tensor = _to_numpy(x)
        x4, ndim = _as_nchw(x)
        n, _, h, w = x4.shape
        p = self.padding
        ch, cw = self.size
        if ch > h + 2 * p or cw > w + 2 * p:
            raise ValueError(f"crop size {self.size} is larger than the padded image ({h + 2 * p}, {w + 2 * p})")
        padded = np.pad(x4, ((0, 0), (0, 0), (p, p), (p, p))).transpose(0, 2, 3, 1)  # N, H, W, C
        oy = self.rng.integers(0, h + 2 * p - ch + 1, size=n)
        ox = self.rng.integers(0, w + 2 * p - cw + 1, size=n)
        rows = (oy[:, None] + np.arange(ch))[:, :, None]
        cols = (ox[:, None] + np.arange(cw))[:, None, :]
        out = padded[np.arange(n)[:, None, None], rows, cols].transpose(0, 3, 1, 2)
        return _back(_from_nchw(out, ndim), as_tensor)

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip(_Random):
    """Mirrors each image left-right with probability ``p``.

    Wrong for digits and text: a mirrored 2 or 7 is not a digit any more, and the
    lecture's example, a flipped 6 is not a 6. Use it for natural images (a flipped cat
    is still a cat); for MNIST use small rotations and shifts (RandomAffine)."""

    def __init__(self, p=0.5, seed=None):
        super().__init__(seed)
        self.p = p

    def __call__(self, x):
        x, as_tensor = _to_numpy(x)
        out = x.copy()
        flip = self.rng.random(len(x)) < self.p
        out[flip] = x[flip][..., ::-1]
        return _back(out, as_tensor)

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class RandomAffine(_Random):
    """Rotates each image by a random angle in [-degrees, degrees] and shifts it by up
    to ``translate = (fx, fy)`` of its width and height, around its center, with
    bilinear interpolation; pixels coming from outside the image are 0."""

    def __init__(self, degrees, translate=None, seed=None):
        super().__init__(seed)
        self.degrees = float(degrees)
        self.translate = (0.0, 0.0) if translate is None else tuple(float(t) for t in translate)

    def __call__(self, x):
        x, as_tensor = _to_numpy(x)
        x4, ndim = _as_nchw(x)
        n, c, h, w = x4.shape
        angle = np.deg2rad(self.rng.uniform(-self.degrees, self.degrees, size=n))
        tx = self.rng.uniform(-1, 1, size=n) * self.translate[0] * w
        ty = self.rng.uniform(-1, 1, size=n) * self.translate[1] * h
        cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
        yy, xx = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
        cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
        # Inverse map: the output pixel p reads the input at R^-1 (p - t).
        dx, dy = xx[None] - tx[:, None, None], yy[None] - ty[:, None, None]
        src_x = cos * dx + sin * dy + cx
        src_y = -sin * dx + cos * dy + cy
        out = _bilinear(x4, src_y, src_x)
        return _back(_from_nchw(out, ndim), as_tensor)

    def __repr__(self):
        return f"RandomAffine(degrees={self.degrees}, translate={self.translate})"


def _bilinear(x, sy, sx):
    """Samples x (N, C, H, W) at float coordinates sy, sx (N, H', W'); 0 outside."""
    n, c, h, w = x.shape
    y0, x0 = np.floor(sy).astype(np.int64), np.floor(sx).astype(np.int64)
    wy, wx = (sy - y0).astype(np.float32), (sx - x0).astype(np.float32)
    flat = x.reshape(n, c, h * w)
    out = np.zeros((n, c) + sy.shape[1:], dtype=np.float32)
    batch = np.arange(n)[:, None, None]
    for oy, ox, weight in ((0, 0, (1 - wy) * (1 - wx)), (0, 1, (1 - wy) * wx),
                           (1, 0, wy * (1 - wx)), (1, 1, wy * wx)):
        yi, xi = y0 + oy, x0 + ox
        inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
        idx = np.where(inside, yi * w + xi, 0)
        vals = flat[batch, :, idx]  # (N, H', W', C)
        out += np.moveaxis(vals, -1, 1) * (weight * inside)[:, None]
    return out


class GaussianNoise(_Random):
    """Adds independent N(0, std^2) noise to every pixel."""

    def __init__(self, std, seed=None):
        super().__init__(seed)
        if std < 0:
            raise ValueError(f"std must be non-negative, got {std}")
        self.std = float(std)

    def __call__(self, x):
        x, as_tensor = _to_numpy(x)
        return _back(x + self.rng.normal(0.0, self.std, size=x.shape).astype(np.float32), as_tensor)

    def __repr__(self):
        return f"GaussianNoise(std={self.std})"


class Normalize:
    """``(x - mean) / std``, per channel when ``mean``/``std`` are sequences (axis 1 of
    an (N, C, H, W) batch). MNIST's statistics are mean 0.1307, std 0.3081."""

    def __init__(self, mean, std):
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float32))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float32))
        if np.any(self.std == 0):
            raise ValueError("std evaluated to zero, leading to division by zero")

    def __call__(self, x):
        x, as_tensor = _to_numpy(x)
        shape = (1, -1) + (1,) * (x.ndim - 2) if x.ndim >= 2 and self.mean.size > 1 else (1,)
        return _back((x - self.mean.reshape(shape)) / self.std.reshape(shape), as_tensor)

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


def one_hot(y, num_classes):
    """Float32 one-hot rows (N, num_classes) for int labels ``y`` (N,)."""
    y = np.asarray(y, dtype=np.int64)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got range [{y.min()}, {y.max()}]")
    return np.eye(num_classes, dtype=np.float32)[y]


def _labels(y):
    return np.asarray(y.numpy() if isinstance(y, Tensor) else y, dtype=np.int64)


class Mixup(_Random):
    """Mixup (Zhang et al. 2018): blends each example with another one of the batch.

    ``x_mix = lam * x + (1 - lam) * x[perm]`` and the soft target
    ``y_mix = lam * onehot(y) + (1 - lam) * onehot(y[perm])`` with
    ``lam ~ Beta(alpha, alpha)`` drawn once per batch and ``perm`` a random permutation.
    Lecture example: a cat [1, 0] mixed with a dog [0, 1] at lam = 0.7 gives
    [0.7, 0.3]. Train with ``F.cross_entropy(logits, y_mix)`` (probability targets).
    ``last_lam`` holds the lambda of the last call.
    """

    def __init__(self, alpha=0.2, seed=None):
        super().__init__(seed)
        if alpha <= 0:
            raise ValueError(f"alpha must be positive, got {alpha}")
        self.alpha = float(alpha)
        self.last_lam = None

    def __call__(self, x, y, num_classes):
        lam = float(self.rng.beta(self.alpha, self.alpha))
        perm = self.rng.permutation(len(_labels(y)))
        return self.mix(x, y, num_classes, lam, perm)

    def mix(self, x, y, num_classes, lam, perm):
        """The deterministic part: mixes with a given ``lam`` and permutation."""
        x, as_tensor = _to_numpy(x)
        y = _labels(y)
        self.last_lam = lam
        x_mix = lam * x + (1.0 - lam) * x[perm]
        y_mix = lam * one_hot(y, num_classes) + (1.0 - lam) * one_hot(y[perm], num_classes)
        return _back(x_mix, as_tensor), _back(y_mix, as_tensor)

    def __repr__(self):
        return f"Mixup(alpha={self.alpha})"


class CutMix(_Random):
    """CutMix (Yun et al. 2019): pastes a random box from another example of the batch.

    ``lam ~ Beta(alpha, alpha)`` sets the box: its sides are ``sqrt(1 - lam)`` times the
    image's, its center uniform, clipped at the borders. Because clipping can shrink the
    box, lambda is then recomputed as the fraction of the image *not* pasted over, and
    the soft target is ``lam * onehot(y) + (1 - lam) * onehot(y[perm])``: the label
    shares match the pixel shares. Images are (N, C, H, W) or (N, H, W).
    ``last_lam`` (the area-adjusted lambda) and ``last_box`` (y0, y1, x0, x1) hold the
    last call's values.
    """

    def __init__(self, alpha=1.0, seed=None):
        super().__init__(seed)
        if alpha <= 0:
            raise ValueError(f"alpha must be positive, got {alpha}")
        self.alpha = float(alpha)
        self.last_lam = None
        self.last_box = None

    def __call__(self, x, y, num_classes):
        x_np, as_tensor = _to_numpy(x)
        x4, ndim = _as_nchw(x_np)
        h, w = x4.shape[2:]
        lam = float(self.rng.beta(self.alpha, self.alpha))
        cut = math.sqrt(1.0 - lam)
        bh, bw = int(round(h * cut)), int(round(w * cut))
        cy, cx = int(self.rng.integers(0, h)), int(self.rng.integers(0, w))
        box = (max(cy - bh // 2, 0), min(cy + bh - bh // 2, h),
               max(cx - bw // 2, 0), min(cx + bw - bw // 2, w))
        perm = self.rng.permutation(len(x4))
        return self.paste(x, y, num_classes, box, perm)

    def paste(self, x, y, num_classes, box, perm):
        """The deterministic part: pastes ``box`` = (y0, y1, x0, x1) of ``x[perm]``."""
        x, as_tensor = _to_numpy(x)
        x4, ndim = _as_nchw(x)
        y = _labels(y)
        h, w = x4.shape[2:]
        y0, y1, x0, x1 = box
        out = x4.copy()
        out[:, :, y0:y1, x0:x1] = x4[perm][:, :, y0:y1, x0:x1]
        lam = 1.0 - (y1 - y0) * (x1 - x0) / float(h * w)
        self.last_lam, self.last_box = lam, box
        y_mix = lam * one_hot(y, num_classes) + (1.0 - lam) * one_hot(y[perm], num_classes)
        return _back(_from_nchw(out, ndim), as_tensor), _back(y_mix, as_tensor)

    def __repr__(self):
        return f"CutMix(alpha={self.alpha})"
