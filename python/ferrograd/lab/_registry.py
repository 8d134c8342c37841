"""The fixed list of the lab's experiments, imported lazily by name.

The list names every experiment of the seed lab, whether or not its module exists yet:
a module that is missing (or fails to import) is reported as "not available" with the
reason, and never stops the others from being listed or run.
"""

import importlib

__all__ = ["MODULES", "names", "module_name", "load", "available"]

# In the order of the issue (its numbering): the module name under ferrograd.lab.
MODULES = (
    "init_variance",
    "init_persists",
    "layernorm_erases_norms",
    "norm_robustness",
    "bn_train_vs_eval",
    "bn_test_time_adapt",
    "bn_batch_size",
    "prenorm_vs_postnorm",
    "weight_decay",
    "capacity_and_bias_variance",
    "early_stopping",
    "double_descent",
    "dropout",
    "label_smoothing",
    "edge_of_stability",
    "bagging",
)

# What each experiment module must define (see docs/lab.md, "Writing an experiment").
REQUIRED = ("NAME", "SEED", "DESCRIPTION", "run", "plot")


def names():
    """The CLI names of all experiments (module name with '_' -> '-'), in order."""
    return [m.replace("_", "-") for m in MODULES]


def module_name(name):
    """The module name of the experiment called ``name`` (CLI or module spelling).
    ValueError listing the valid names for an unknown one."""
    key = str(name).replace("-", "_")
    if key not in MODULES:
        raise ValueError(f"unknown experiment {name!r}; the experiments are: "
                         + ", ".join(names()) + " (or 'all')")
    return key


def load(name):
    """The experiment module for ``name``. ValueError for an unknown name; RuntimeError
    saying why for an experiment that is listed but not available."""
    key = module_name(name)
    try:
        module = importlib.import_module(f"{__package__}.{key}")
    except ModuleNotFoundError as e:
        if e.name != f"{__package__}.{key}":
            raise RuntimeError(f"experiment {name!r} is not available: {e}") from e
        raise RuntimeError(f"experiment {name!r} is not available: its module "
                           f"ferrograd.lab.{key} is not written yet") from None
    missing = [attr for attr in REQUIRED if not hasattr(module, attr)]
    if missing:
        raise RuntimeError(f"experiment {name!r} is not available: ferrograd.lab.{key} "
                           f"does not define {', '.join(missing)}")
    return module


def available():
    """``[(cli_name, module or None, reason or None)]`` for every listed experiment."""
    rows = []
    for cli_name in names():
        try:
            rows.append((cli_name, load(cli_name), None))
        except RuntimeError as e:
            rows.append((cli_name, None, str(e)))
    return rows
