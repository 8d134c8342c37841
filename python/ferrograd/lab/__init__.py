"""The seed lab: the lecture notes' claims, rerun as experiments with honest verdicts.

    ferrograd lab                        # list the experiments
    ferrograd lab init-variance --quick  # run one: writes runs/lab/init-variance.{json,png}
    ferrograd lab all --quick --out DIR  # run them all

    import ferrograd as fg
    record = fg.lab.run("init-variance", quick=True, out=None)
    for claim in record["claims"]:
        print(claim["verdict"], claim["claim"])

Each experiment is one module of this package (``init_variance.py``, ...) written with
ferrograd's public API; they are meant to be read. Each defines ``NAME``, ``SEED`` (the
lecture notes in the course its claims come from), ``DESCRIPTION``, ``run(ctx)`` returning
``{"settings", "measurements", "claims", "notes"}``, and ``plot(result, fig)``. A claim's
verdict is computed from the measurements by a criterion fixed in the code before the run.
See docs/lab.md.
"""

from ._context import Context
from ._registry import available, names
from ._report import VERDICTS
from ._runner import DEFAULT_OUT, run, run_all

__all__ = ["run", "run_all", "names", "available", "list_experiments", "Context",
           "VERDICTS", "DEFAULT_OUT"]


def list_experiments():
    """``[(name, seed, description)]`` of every listed experiment; for one that is not
    available, seed is None and the description says why."""
    return [(name, module.SEED, module.DESCRIPTION) if module is not None
            else (name, None, reason) for name, module, reason in available()]
