"""classp: the CLASSP optimizer and the continual-learning lab behind the CLASSP book.

CLASSP (Continual Learning through Adjustment Suppression and Sparsity Promotion) is due to
O. Ludwig, arXiv:2405.09637 (2024).

The package has rooms, each importing only the rooms before it::

    classp.optim     CLASSP, ReferenceCLASSP            (torch only)
    classp.data      task sequences by name             (+ numpy, scikit-learn's digits)
    classp.lab       methods, regularisers, run, results, metrics, protocols, bench
    classp.viz       plots, kernel-free sliders, widgets (+ matplotlib, ipywidgets)
    classp.teaching  the assignments' checks and registry
    classp.cli       ``python -m classp`` / ``classp``

``import classp`` loads only the optimizers (torch). The lab's main names are exported here too,
but their rooms load at first use::

    import classp
    result = classp.run("classp", "split-digits", seed=0)   # loads classp.lab on this line
    classp.average_accuracy(result.accuracy_matrix)
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from . import _compat  # noqa: F401  (installs the aliases of the old module paths)
from .optim import CLASSP, DEFAULTS, NonFiniteGradientError, ReferenceCLASSP

__version__ = "0.1.0"

if TYPE_CHECKING:  # what the lazy names below are, for type checkers and IDEs
    from . import cli, data, lab, optim, teaching, viz
    from .data import DatasetNotFound, Task, TaskSequence, fetch_offline_data, get_sequence, list_sequences
    from .lab import (EWC, MAS, SI, Method, Regulariser, Result, ResultsFile, average_accuracy, backward_transfer,
                      compare, evaluate, fisher_diagonal, forgetting, format_table, forward_transfer, get_method,
                      list_methods, list_models, make_model, run, summarize)

#: The lazily loaded public names, each with the room that holds it.
_LAZY = {
    # task sequences
    "Task": "data", "TaskSequence": "data", "get_sequence": "data", "list_sequences": "data",
    "DatasetNotFound": "data", "fetch_offline_data": "data",
    # models, methods, regularisers, training
    "make_model": "lab", "list_models": "lab",
    "Method": "lab", "get_method": "lab", "list_methods": "lab",
    "Regulariser": "lab", "EWC": "lab", "SI": "lab", "MAS": "lab", "fisher_diagonal": "lab",
    "run": "lab", "compare": "lab", "evaluate": "lab",
    # results and metrics
    "Result": "lab", "ResultsFile": "lab", "summarize": "lab", "format_table": "lab",
    "average_accuracy": "lab", "backward_transfer": "lab", "forgetting": "lab", "forward_transfer": "lab",
}
_ROOMS = ("optim", "data", "lab", "viz", "teaching", "cli")

__all__ = ["CLASSP", "ReferenceCLASSP", "NonFiniteGradientError", "DEFAULTS", "__version__",
           "Task", "TaskSequence", "get_sequence", "list_sequences", "DatasetNotFound", "fetch_offline_data",
           "make_model", "list_models", "Method", "get_method", "list_methods", "Regulariser", "EWC", "SI", "MAS",
           "fisher_diagonal",
           "run", "compare", "evaluate", "Result", "ResultsFile", "summarize", "format_table",
           "average_accuracy", "backward_transfer", "forgetting", "forward_transfer"]


def __getattr__(name: str):
    if name in _ROOMS:
        return importlib.import_module(f".{name}", __name__)
    room = _LAZY.get(name)
    if room is None:
        raise AttributeError(f"module 'classp' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{room}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_ROOMS))
