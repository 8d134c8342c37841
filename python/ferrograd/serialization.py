"""``fg.save`` / ``fg.load``: state dicts (str -> Tensor) in the safetensors format.

Unlike ``torch.save`` this stores tensors only, never pickled Python objects, so loading
a file cannot run code. The file is a standard safetensors file (readable by the
``safetensors`` library); the key order is kept in its metadata.
"""

import os
from collections import OrderedDict
from collections.abc import Mapping

from . import _core

Tensor = _core.Tensor

__all__ = ["save", "load"]


def save(obj, path):
    """Saves a dict of ``str -> Tensor`` (e.g. ``model.state_dict()``) to ``path``.

    The write is atomic: a temporary file in the same directory is written, fsynced and
    renamed over ``path``, so ``path`` is always the complete old or the complete new
    file, even if the process is killed during the save, and an existing checkpoint
    survives a failed one. A killed save leaves its temporary file
    (``.<name>.tmp.<pid>.<n>`` beside ``path``); the next save to ``path`` removes it.
    Tensors are stored detached, in row-major order; float32, float64, int64 and bool
    round-trip exactly.
    TypeError for anything but a mapping of str keys to tensors.
    """
    if not isinstance(obj, Mapping):
        raise TypeError(
            "fg.save stores a dict of str -> Tensor (such as model.state_dict()), "
            f"got {type(obj).__name__}"
        )
    names, tensors = [], []
    for key, value in obj.items():
        if not isinstance(key, str):
            raise TypeError(f"fg.save: keys must be str, got {type(key).__name__} ({key!r})")
        if not isinstance(value, Tensor):
            raise TypeError(
                f"fg.save: the value for key '{key}' is a {type(value).__name__}, not a Tensor"
            )
        names.append(key)
        tensors.append(value)
    _core._save_tensors(os.fspath(path), names, tensors)


def load(path):
    """Loads a file written by :func:`save` (or any safetensors file with bool, int64,
    float32 or float64 tensors) as an OrderedDict in the saved order, on the CPU.

    FileNotFoundError if ``path`` does not exist; ValueError naming the file if it is
    truncated or not a safetensors file, or if its ``__order__`` metadata does not name
    each tensor of the file exactly once.
    """
    return OrderedDict(_core._load_tensors(os.fspath(path)))
