"""The classroom: instant checks for the assignments and the assignments' registry.

- :mod:`classp.teaching.checks`: the driver of the checks (the tasks, the verdict, running and
  diagnosing a student's code) and, re-exported, every check; the checks themselves live in one
  module per assignment, :mod:`~classp.teaching.a1` … :mod:`~classp.teaching.a4`.
- :mod:`classp.teaching.quiz`: the chapters' quick checks (multiple-choice and numeric questions
  with feedback, shown by jupyterquiz on the page, offline and without a kernel).
- :mod:`classp.teaching.assignments`: the assignments (order, points, chapters), the timings file
  the book reads, and the lab adapter their notebooks use (``method_from_step``).

Building student and teacher editions (``scripts/editions.py``) and timing notebooks
(``scripts/timings.py``) is repository tooling, not part of the installed package.
"""
import importlib

__all__ = ["checks", "assignments", "quiz", "a1", "a2", "a3", "a4"]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'classp.teaching' has no attribute {name!r}")
