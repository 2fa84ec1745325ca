"""The flat layout's module paths (``classp.train``, ``classp.tasks``, ...), kept working.

Version 1 of the package had seventeen modules side by side; readers' notebooks may still say
``from classp.train import run`` or ``classp.tasks.get_sequence(...)``. Each old name is an alias
of the module in its room (the same module object, so monkeypatching one patches the other). The
first import through an old name warns once with ``DeprecationWarning`` and names the new path.
This is how ``six.moves`` maps old names: a finder on ``sys.meta_path``.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

#: old module path -> new module path
MOVED = {
    "classp.reference": "classp.optim.reference",
    "classp.tasks": "classp.data",
    "classp.methods": "classp.lab.methods",
    "classp.models": "classp.lab.models",
    "classp.ewc": "classp.lab.regularisers",
    "classp.train": "classp.lab.train",
    "classp.results": "classp.lab.results",
    "classp.metrics": "classp.lab.metrics",
    "classp.protocols": "classp.lab.protocols",
    "classp.bench": "classp.lab.bench",
    "classp.plots": "classp.viz.plots",
    "classp.sliders": "classp.viz.sliders",
    "classp.widgets": "classp.viz.widgets",
    "classp.checks": "classp.teaching.checks",
    "classp.assignments": "classp.teaching.assignments",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``classp.<old>`` and hands back the module at its new path."""

    def __init__(self):
        self._specs: dict = {}

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; import it from there (the old path is an alias)",
                      DeprecationWarning, stacklevel=3)
        module = importlib.import_module(new)
        self._specs[module.__name__] = module.__spec__
        return module

    def get_code(self, fullname):
        """``python -m classp.<old>`` (runpy asks for code): the old command lines are gone."""
        raise ImportError(f"{fullname} moved to {MOVED[fullname]}, and its command line is now part of "
                          "`python -m classp` (see `python -m classp --help`)")

    def exec_module(self, module):
        # the import system has just set the module's __spec__ to the alias's: give it back its own
        module.__spec__ = self._specs.get(module.__name__, module.__spec__)


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
    sys.meta_path.append(_MovedModules())
