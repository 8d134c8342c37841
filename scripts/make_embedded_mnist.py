"""Builds the MNIST subset embedded in the package (python/ferrograd/data/embedded/).

    python scripts/make_embedded_mnist.py SOURCE_DIR

SOURCE_DIR holds the four original MNIST IDX files (train-images-idx3-ubyte.gz, ...).
The subset is balanced by class: 1,200 training images per digit (12,000) from the
60,000 training images and 200 test images per digit (2,000) from the 10,000 test
images, drawn without replacement with a fixed seed (0), kept in their original order.
It is written as gzipped IDX files with the usual names, so ``fg.data.MNIST`` reads it
like the full dataset. Running the script twice gives byte-identical files.
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python", "ferrograd", "data"))
from idx import read_idx, write_idx  # noqa: E402  (plain module, no compiled extension)

SEED = 0
PER_CLASS = {"train": 1200, "t10k": 200}
OUT = os.path.join(HERE, "..", "python", "ferrograd", "data", "embedded")


def balanced_subset(labels, per_class, rng):
    picks = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(10)]
    return np.sort(np.concatenate(picks))


def main(src):
    rng = np.random.default_rng(SEED)
    os.makedirs(OUT, exist_ok=True)
    for split, per_class in PER_CLASS.items():
        images = read_idx(os.path.join(src, f"{split}-images-idx3-ubyte.gz"), ndim=3)
        labels = read_idx(os.path.join(src, f"{split}-labels-idx1-ubyte.gz"), ndim=1)
        keep = balanced_subset(labels, per_class, rng)
        write_idx(os.path.join(OUT, f"{split}-images-idx3-ubyte.gz"), images[keep])
        write_idx(os.path.join(OUT, f"{split}-labels-idx1-ubyte.gz"), labels[keep])
        print(f"{split}: {len(keep)} images, counts {np.bincount(labels[keep]).tolist()}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/make_embedded_mnist.py SOURCE_DIR (the four MNIST IDX .gz files)")
    main(sys.argv[1])
