"""Running experiments: ``run(name, ...)`` and ``run_all(...)``, used by the command line
(``ferrograd lab``) and from Python (``fg.lab.run``)."""

import os
import platform
import time

from . import _registry
from ._context import Context
from ._report import check_result, format_table, write_json, write_png

__all__ = ["run", "run_all", "DEFAULT_OUT"]

DEFAULT_OUT = os.path.join("runs", "lab")


def _versions():
    import matplotlib
    import numpy

    from .. import __version__

    return {"ferrograd": __version__, "numpy": numpy.__version__,
            "matplotlib": matplotlib.__version__, "python": platform.python_version()}


def _open_device(device):
    """Starts ``device`` now, so that a missing GPU is one clear error before any work."""
    from .. import _core

    if device not in ("cpu", "wgpu"):
        raise ValueError(f"device must be 'cpu' or 'wgpu', got {device!r}")
    try:
        _core.device(device)
    except RuntimeError as e:
        if device == "cpu":
            raise
        raise RuntimeError(f"device 'wgpu': no GPU adapter is available ({e}); "
                           "use device 'cpu'") from None


def _run_module(module, ctx, out, echo):
    from .. import manual_seed

    manual_seed(ctx.seed)
    start = time.perf_counter()
    result = module.run(ctx)
    runtime = time.perf_counter() - start
    check_result(module.NAME, result)
    record = {"name": module.NAME, "seed": module.SEED, "description": module.DESCRIPTION,
              "runtime_s": round(runtime, 2), "quick": ctx.quick, "device": ctx.device,
              "run_seed": ctx.seed, "versions": _versions()}
    record.update(result)
    record.setdefault("notes", "")
    if out is not None:
        os.makedirs(out, exist_ok=True)
        write_json(os.path.join(out, f"{module.NAME}.json"), record)
        write_png(os.path.join(out, f"{module.NAME}.png"), module, record)
    if echo is not None:
        for line in format_table(record):
            echo(line)
    return record


def run(name, quick=False, out=DEFAULT_OUT, seed=0, device="cpu", progress=True,
        echo=print):
    """Runs the experiment ``name`` (e.g. ``"init-variance"``) and returns its result
    record: the experiment's ``settings``, ``measurements``, ``claims`` (each with its
    verdict) and ``notes``, plus ``name``, ``seed`` (the lecture notes it comes from),
    ``description``, ``runtime_s``, ``quick``, ``device``, ``run_seed`` and ``versions``.

    ``out``: directory for ``NAME.json`` and ``NAME.png`` (created; None writes nothing).
    ``echo``: called with each line of the claims table (None: silent).
    ValueError for an unknown name, RuntimeError for an experiment not available."""
    module = _registry.load(name)
    _open_device(device)
    ctx = Context(quick=quick, seed=seed, device=device, progress=progress)
    return _run_module(module, ctx, out, echo)


def run_all(quick=False, out=DEFAULT_OUT, seed=0, device="cpu", progress=True, echo=print):
    """Runs every available experiment in order. Returns ``(records, problems)``:
    the result records, and ``[(name, message)]`` for experiments not available or
    that failed (the others still run)."""
    _open_device(device)
    ctx = Context(quick=quick, seed=seed, device=device, progress=progress)
    records, problems = [], []
    for name, module, reason in _registry.available():
        if module is None:
            problems.append((name, reason))
            if echo is not None:
                echo(f"{name}: skipped, {reason}")
            continue
        try:
            records.append(_run_module(module, ctx, out, echo))
        except Exception as e:  # noqa: BLE001  (one failing experiment must not stop the rest)
            problems.append((name, f"{type(e).__name__}: {e}"))
            if echo is not None:
                echo(f"{name}: FAILED, {type(e).__name__}: {e}")
    return records, problems
