"""classp: the CLASSP optimizer and the continual-learning lab behind the CLASSP book.

CLASSP (Continual Learning through Adjustment Suppression and Sparsity Promotion) is due to
O. Ludwig, arXiv:2405.09637 (2024).

``import classp`` loads only the optimizers (torch). The lab's main names are exported too, but
their modules (scikit-learn, matplotlib, ...) load at first use::

    import classp
    result = classp.run("classp", "split-digits", seed=0)   # loads classp.train on this line
    classp.average_accuracy(result.accuracy_matrix)
"""
from __future__ import annotations

import importlib

from .optim import CLASSP, DEFAULTS, NonFiniteGradientError
from .reference import ReferenceCLASSP

__version__ = "0.1.0"

#: The lab's public names, each with the module that holds it (imported on first access).
_LAZY = {
    # task sequences
    "Task": "tasks", "TaskSequence": "tasks", "get_sequence": "tasks", "list_sequences": "tasks",
    "DatasetNotFound": "tasks", "fetch_offline_data": "tasks",
    # models, methods, training
    "make_model": "models", "list_models": "models",
    "Method": "methods", "get_method": "methods", "list_methods": "methods",
    "EWC": "ewc", "fisher_diagonal": "ewc",
    "run": "train", "compare": "train", "evaluate": "train",
    # results and metrics
    "Result": "results", "ResultsFile": "results", "summarize": "results", "format_table": "results",
    "average_accuracy": "metrics", "backward_transfer": "metrics", "forgetting": "metrics",
    "forward_transfer": "metrics",
}

__all__ = ["CLASSP", "ReferenceCLASSP", "NonFiniteGradientError", "DEFAULTS", "__version__", *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'classp' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
