"""MNIST: the real dataset from IDX files, a download helper, and the embedded subset.

    train, test = fg.data.load_default()          # offline: 12,000 + 2,000 images
    train = fg.data.MNIST("~/data/mnist")          # the full 60,000 from IDX files
    fg.data.download_mnist("~/data/mnist")         # fetch them once (needs internet)

The embedded subset ships inside the package (``data/embedded/``): 1,200 training and
200 test images per digit, chosen with a fixed seed from the original files by
``scripts/make_embedded_mnist.py``. It is real MNIST, just smaller.
"""

import gzip
import hashlib
import os
import urllib.request

import numpy as np

from .. import _core
from .dataset import Dataset
from .idx import read_idx

__all__ = ["MNIST", "download_mnist", "load_default", "EMBEDDED_DIR"]

EMBEDDED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "embedded")

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# sha256 of the *decompressed* files: mirrors re-gzip them, the content never changes.
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]

_HINT = ("download it with fg.data.download_mnist(root), or leave the data directory out "
         "to use the MNIST subset embedded in ferrograd")


def _find(root, name):
    for candidate in (name + ".gz", name):
        path = os.path.join(root, candidate)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"MNIST file {name}[.gz] not found in {root}; {_HINT}")


class MNIST(Dataset):
    """The MNIST digits from the four IDX files in ``root`` (gzipped or raw).

    Sample ``i`` is ``(image, label)``: a float32 tensor of shape (1, 28, 28) with values
    in [0, 1] and an int64 label. ``transform`` (e.g. ``transforms.Compose([...])``) is
    applied to whole batches of images of shape (N, 1, 28, 28) as NumPy arrays.

    ``images`` (uint8, (N, 28, 28)) and ``targets`` (int64, (N,)) hold the raw data.
    FileNotFoundError (with a hint) for a missing directory or file; ValueError naming
    the file when a file is corrupt, truncated, or does not match its partner.
    """

    def __init__(self, root, train=True, transform=None):
        root = os.path.expanduser(os.fspath(root))
        if not os.path.isdir(root):
            raise FileNotFoundError(f"MNIST directory {root} does not exist; {_HINT}")
        self.root, self.train, self.transform = root, bool(train), transform
        image_name, label_name = FILES["train" if train else "test"]
        image_path, label_path = _find(root, image_name), _find(root, label_name)
        images = read_idx(image_path, ndim=3)
        labels = read_idx(label_path, ndim=1)
        if images.dtype != np.uint8 or images.shape[1:] != (28, 28):
            raise ValueError(f"{image_path}: expected uint8 images of 28x28, got "
                             f"{images.dtype} {images.shape[1:]}")
        if labels.dtype != np.uint8 or (labels.size and labels.max() > 9):
            raise ValueError(f"{label_path}: labels must be uint8 digits 0-9")
        if len(images) != len(labels):
            raise ValueError(f"{image_path} holds {len(images)} images but {label_path} "
                             f"holds {len(labels)} labels")
        self.images = images
        self.targets = labels.astype(np.int64)

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        x, y = self.get_batch(np.array([index]))
        return x[0], y[0]

    def get_batch(self, indices):
        """Images (N, 1, 28, 28) float32 in [0, 1] and labels (N,) int64 at ``indices``."""
        x = self.images[indices].astype(np.float32)[:, None] / np.float32(255)
        if self.transform is not None:
            x = np.asarray(self.transform(x), dtype=np.float32)
        return _core.from_numpy(np.ascontiguousarray(x)), _core.from_numpy(self.targets[indices])

    def __repr__(self):
        split = "train" if self.train else "test"
        return f"MNIST(root={self.root!r}, split={split}, samples={len(self)})"


def load_default(transform=None):
    """The embedded MNIST subset as ``(train, test)`` datasets (12,000 and 2,000
    images, balanced by class); ``transform`` applies to the training set only."""
    return MNIST(EMBEDDED_DIR, train=True, transform=transform), MNIST(EMBEDDED_DIR, train=False)


def download_mnist(root, mirrors=MIRRORS):
    """Downloads the four MNIST files into ``root`` (created if needed), trying each
    mirror in turn, and verifies their sha256 checksums. Files already present and
    valid are kept. Returns ``root``. RuntimeError if no mirror gives a valid file."""
    root = os.path.expanduser(os.fspath(root))
    os.makedirs(root, exist_ok=True)
    for name, digest in SHA256.items():
        path = os.path.join(root, name + ".gz")
        if os.path.exists(path) and _sha256_of_gz(path) == digest:
            continue
        errors = []
        for mirror in mirrors:
            try:
                with urllib.request.urlopen(mirror + name + ".gz", timeout=60) as response:
                    blob = response.read()
                if hashlib.sha256(gzip.decompress(blob)).hexdigest() != digest:
                    raise ValueError("sha256 mismatch")
            except Exception as e:  # noqa: BLE001  (any failure: try the next mirror)
                errors.append(f"{mirror}: {e}")
                continue
            tmp = path + ".part"
            with open(tmp, "wb") as f:
                f.write(blob)
            os.replace(tmp, path)
            break
        else:
            raise RuntimeError(f"could not download {name}.gz:\n  " + "\n  ".join(errors))
    return root


def _sha256_of_gz(path):
    try:
        with gzip.open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except (OSError, EOFError):
        return None
