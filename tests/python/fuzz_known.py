"""Sweep cases that hit a known, open discrepancy (each has an issue item or a report).

The CI sweep leaves these cases out (and prints how many it left out); the big sweep
(`--collect`) runs them, so it shows whether each is still open. Remove an entry when
its fix lands: the CI sweep then covers the case again.
"""

import numpy as np


def _mask_ndims(entries, shape):
    """The ndim of each boolean mask in a getitem case (0 for a 0-d mask)."""
    out, dim = [], 0
    for e in entries:
        if e[0] in ("int", "slice", "array", "tensor", "list"):
            dim += 1
        elif e[0] == "mask":
            out.append(len(tuple(shape)[dim : dim + e[1]]))
            dim += e[1]
    return out


def _getitem(case):
    entries, shape = case["entries"], case["shape"]
    kinds = [e[0] for e in entries]
    advanced = any(k in ("array", "tensor", "list", "mask") for k in kinds)
    if any(e[0] in ("list", "array", "tensor") and len(e[1]) == 0 for e in entries):
        return "an empty list index x[[]] raises IndexError (NumPy and PyTorch: an empty result)"
    if case["single"] and len(entries) == 1 and entries[0][0] == "tensor" and len(entries[0][1]) == 1:
        return "x[fg.tensor([i])] is taken as x[i] (Tensor.__getitem__'s int fast path uses __index__)"
    if any(n == 0 for n in _mask_ndims(entries, shape)):
        return "a 0-d boolean index (issue 10 item 12)"
    if "mask" in kinds and any(k in ("int", "array", "tensor", "list") for k in kinds) or kinds.count("mask") > 1:
        return "a boolean mask with another advanced index (or int) is not placed as NumPy places them"
    if advanced and "int" in kinds:
        dim = 0
        for e in entries:
            if e[0] == "int" and dim < len(shape) and not -shape[dim] <= e[1] < shape[dim]:
                return "an out-of-range int next to an advanced index is not checked when the result is empty"
            if e[0] in ("int", "slice", "array", "tensor", "list"):
                dim += 1
            elif e[0] == "mask":
                dim += e[1]
    return None


def known_open(case):
    """Why this case is known to fail today, or None."""
    fam = case["family"]
    if fam == "binary" and case["op"] in ("floordiv", "mod") and case["specials"]:
        return "floor_divide / remainder by an infinity give NaN (issue 10 item 16)"
    if fam == "softmax" and case["specials"] and len(case["shape"]) == 0:
        return "softmax/log_softmax of a 0-d NaN or infinity give 1 / 0, PyTorch NaN (issue 10 item 16)"
    if fam == "getitem":
        return _getitem(case)
    if fam == "backward" and case["op"] == "std" and (case["layouts"][0] == "broadcast" or 1 in case["shapes"][0]):
        return "the gradient of std where std = 0 is NaN (PyTorch masks it to 0)"
    return None
