"""Training utilities: ``fit``, ``evaluate``, ``EarlyStopping`` and ``History``.

    from ferrograd.train import fit, EarlyStopping
    history = fit(model, optimizer, F.cross_entropy, train_loader, val_loader, epochs=10,
                  early_stopping=EarlyStopping(patience=3))
"""

from .early_stopping import EarlyStopping
from .history import History
from .loop import evaluate, fit

__all__ = ["fit", "evaluate", "EarlyStopping", "History"]
