"""The classroom: instant checks for the assignments (:mod:`classp.teaching.checks`) and the
assignments' registry (:mod:`classp.teaching.assignments`: order, points, the helpers their
notebooks use). Building student and teacher editions and timing notebooks is repository tooling
(``scripts/``), not part of the installed package.
"""
import importlib

__all__ = ["checks", "assignments"]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'classp.teaching' has no attribute {name!r}")
