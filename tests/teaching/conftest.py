"""Helpers of the checks' tests: a student's stub, a quiet check, the book's own solutions."""
from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from classp.teaching.checks import GRADING_ENV, TASKS

BOOK = Path(__file__).resolve().parents[2] / "book" / "assignments"
#: Seeds every solution and every mistake is tried with.
SEEDS = (0, 1, 2)


@pytest.fixture(autouse=True)
def _not_grading(monkeypatch):
    monkeypatch.delenv(GRADING_ENV, raising=False)


def _stub(*args, **kwargs):
    """A student's function before they started."""
    raise NotImplementedError("task: write your code here")


def _quiet(check, *args, **kwargs):
    return check(*args, verbose=False, **kwargs)


def _book_function(notebook: str, name: str):
    """The function ``name`` as the book's source notebook defines it (its solution cell)."""
    nb = nbformat.read(str(BOOK / notebook), as_version=4)
    ns = {"torch": torch, "np": np, "F": F}
    for cell in nb.cells:
        if cell.cell_type == "code" and "solution" in cell.metadata.get("tags", []) and f"def {name}(" in cell.source:
            exec(compile(cell.source, f"{notebook}:{name}", "exec"), ns)
            return ns[name]
    raise LookupError(f"no solution cell defines {name} in {notebook}")


def _passes(check, solution, notebook: str, name: str) -> None:
    """Both the test's ``solution`` and the book's own pass ``check`` on every seed, for full points."""
    for fn in (solution, _book_function(notebook, name)):
        for seed in SEEDS:
            r = _quiet(check, fn, seed=seed)
            assert r.passed, r.report()
            assert r.points == r.max_points == TASKS[r.task].points


def _fails_with(check, mistake, hint_words, seeds=SEEDS) -> None:
    """On every seed, ``mistake`` fails ``check`` with a hint holding every one of ``hint_words``, and
    partial credit: the task's points times the share of cases passed (less than full points)."""
    for seed in seeds:
        r = _quiet(check, mistake, seed=seed)
        n_ok = sum(c.passed for c in r.cases)
        assert r.status == "failed" and n_ok < len(r.cases), r.report()
        assert r.points == round(TASKS[r.task].points * n_ok / len(r.cases), 2) < r.max_points
        for word in hint_words:
            assert word in r.hint, (seed, word, r.hint)
        assert any(not c.passed for c in r.cases)


def _not_implemented_yet(check, capsys) -> None:
    """A stub gets the verdict "not implemented yet" (no points, no traceback)."""
    r = check(_stub, seed=0)
    out = capsys.readouterr().out
    assert r.status == "not implemented" and not r.passed and r.points == 0
    assert "NOT IMPLEMENTED YET" in out and "NotImplementedError" in out
    assert "Traceback" not in out


@pytest.fixture
def stub():
    return _stub


@pytest.fixture
def quiet():
    """``quiet(check, *args, **kwargs)``: run a check without printing its verdict."""
    return _quiet


@pytest.fixture
def passes():
    """``passes(check, solution, notebook, name)``: the test's and the book's solution pass."""
    return _passes


@pytest.fixture
def fails_with():
    """``fails_with(check, mistake, hint_words)``: a mistake fails with the matching hint, on every seed."""
    return _fails_with


@pytest.fixture
def not_implemented_yet(capsys):
    """``not_implemented_yet(check)``: a stub's verdict is "not implemented yet"."""
    return lambda check: _not_implemented_yet(check, capsys)
