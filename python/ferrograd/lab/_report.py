"""Checking, writing and printing an experiment's result: ``NAME.json``, ``NAME.png``
and the table of claims and verdicts."""

import json
import math
import os

import numpy as np

__all__ = ["VERDICTS", "check_result", "to_json_value", "write_json", "write_png",
           "format_table"]

VERDICTS = ("reproduced", "not reproduced")
CLAIM_FIELDS = ("claim", "seed", "quantity", "measured", "criterion", "verdict")


def check_result(name, result):
    """RuntimeError naming the experiment and the field when ``result`` (what an
    experiment's ``run`` returned) does not have the lab's shape."""
    def fail(what):
        raise RuntimeError(f"experiment {name!r} returned a malformed result: {what}")

    if not isinstance(result, dict):
        fail(f"expected a dict, got {type(result).__name__}")
    for key in ("settings", "measurements", "claims"):
        if key not in result:
            fail(f"no {key!r} entry")
    if not isinstance(result["settings"], dict) or not isinstance(result["measurements"], dict):
        fail("'settings' and 'measurements' must be dicts")
    claims = result["claims"]
    if not isinstance(claims, list) or not claims:
        fail("'claims' must be a non-empty list")
    for i, claim in enumerate(claims):
        if not isinstance(claim, dict):
            fail(f"claim {i} is not a dict")
        missing = [f for f in CLAIM_FIELDS if f not in claim]
        if missing:
            fail(f"claim {i} has no {', '.join(missing)}")
        if claim["verdict"] not in VERDICTS:
            fail(f"claim {i} has verdict {claim['verdict']!r}; it must be one of "
                 f"{', '.join(map(repr, VERDICTS))}")


def to_json_value(value):
    """``value`` with NumPy scalars/arrays and ferrograd tensors turned into plain Python,
    and non-finite floats into the strings "NaN", "Infinity", "-Infinity" (strict JSON
    has no NaN, and a diverged run is a legitimate measurement)."""
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # a ferrograd Tensor
        value = value.detach().to("cpu").numpy()
    if isinstance(value, np.ndarray):
        return to_json_value(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"cannot write a {type(value).__name__} to JSON: {value!r}")


def write_json(path, record):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(to_json_value(record), f, indent=2, allow_nan=False)
        f.write("\n")
    os.replace(tmp, path)


def write_png(path, module, result):
    """Draws the experiment's figure with its ``plot(result, fig)`` and saves it.
    When the experiment gave the figure no overall title, the framework adds one
    naming the experiment and how many of its claims reproduced."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 6.5), dpi=100)
    module.plot(result, fig)
    if not _has_suptitle(fig):
        fig.suptitle(suptitle(module.NAME, result), fontsize=12)
    fig.savefig(path)


def _has_suptitle(fig):
    if hasattr(fig, "get_suptitle"):  # matplotlib >= 3.8
        return bool(fig.get_suptitle())
    return getattr(fig, "_suptitle", None) is not None


def suptitle(name, result):
    claims = result["claims"]
    ok = sum(c["verdict"] == "reproduced" for c in claims)
    return f"{name}: {ok} of {len(claims)} claims reproduced"


def _short(measured, width=34):
    text = json.dumps(to_json_value(measured))
    if isinstance(measured, float):
        text = f"{measured:.4g}"
    return text if len(text) <= width else text[: width - 3] + "..."


def _wrap(text, width):
    words, lines, line = str(text).split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + [line] if line else lines or [""]


def format_table(record):
    """The claims and verdicts of one result record as text lines."""
    head = (f"{record['name']} (seed {record['seed']}, {'quick' if record['quick'] else 'full'}, "
            f"{record['device']}, {record['runtime_s']:.1f} s)")
    lines = [head]
    for claim in record["claims"]:
        text = _wrap(claim["claim"], 52)
        lines.append(f"  {claim['verdict'].upper():<15} {text[0]}")
        lines += [f"  {'':<15} {t}" for t in text[1:]]
        lines.append(f"  {'':<15}   {claim['quantity']} = {_short(claim['measured'])}")
    if record.get("notes"):
        for i, t in enumerate(_wrap(record["notes"], 68)):
            lines.append(("  notes: " if i == 0 else "         ") + t)
    return lines
