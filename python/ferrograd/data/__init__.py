"""Data loading: datasets, ``DataLoader``, MNIST (embedded subset included) and
batch augmentations (``fg.data.transforms``).

    import ferrograd as fg
    train, test = fg.data.load_default()
    loader = fg.data.DataLoader(train, batch_size=128, shuffle=True, seed=0)
    for images, labels in loader:
        ...
"""

from . import transforms
from .dataset import Dataset, Subset, TensorDataset
from .distributed import DistributedSampler
from .loader import DataLoader, check_batchnorm
from .mnist import EMBEDDED_DIR, MNIST, download_mnist, load_default

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "DistributedSampler", "check_batchnorm", "MNIST",
           "download_mnist", "load_default", "EMBEDDED_DIR", "transforms"]
