"""Every chapter's set-up cell is the canonical one and comes right after the title (issue 13 §2).

A chapter (``book/NN_*.ipynb``) opens with its title cell (the first Markdown cell, starting with
``# ``); the next cell installs the book's wheel when ``classp`` is missing and defines a printing
``glue`` outside the book build. Colab and a fresh Jupyter run the chapters from the top, so the
cell must be the same everywhere, come before any other code, and no other cell may import
``glue`` from ``myst_nb`` (that import fails outside the book build). These tests read the .ipynb
files; they need no built book.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "book").glob("[0-9][0-9]_*.ipynb"))

#: The canonical set-up cell (kept in one place: every chapter must hold exactly this source).
SETUP = '''\
# Set-up: the book's package `classp`; outside the book build, `glue` just prints.
try:
    import classp
except ImportError:  # Colab or a fresh Jupyter: install the book's wheel if it is next to this notebook
    import glob, subprocess, sys
    wheels = sorted(glob.glob("classp-*.whl") + glob.glob("../classp-*.whl"))
    if not wheels:
        raise ImportError("This chapter needs the book's package `classp`: download classp-*.whl from the "
                          "book's page 'Get the package' into this notebook's folder (on Colab: Files, "
                          "Upload) and run this cell again, or run `pip install -e .` in a clone of the "
                          "book's repository.") from None
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", wheels[-1]])
    import classp

try:
    from myst_nb import glue  # the book build puts glued numbers into the text
except ImportError:  # outside the book build: just print them
    def glue(name, value, display=True):
        if display:
            print(f"{name} = {value}")'''

_GLUE_IMPORT = re.compile(r"^\s*from\s+myst_nb\s+import\b[^\n]*\bglue\b|^\s*import\s+myst_nb\b", re.M)


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def setup_problems(nb: dict) -> list[str]:
    """What is wrong with a notebook's title and set-up cell (empty list: nothing)."""
    cells = nb.get("cells", [])
    if not cells or cells[0].get("cell_type") != "markdown" or not _source(cells[0]).startswith("# "):
        return ["the first cell is not the title (a Markdown cell starting with '# ')"]
    problems = []
    if len(cells) < 2 or cells[1].get("cell_type") != "code":
        problems.append("the cell after the title is not a code cell")
    else:
        setup = cells[1]
        if _source(setup) != SETUP:
            problems.append("the cell after the title is not the canonical set-up cell")
        if setup.get("metadata", {}).get("tags") != ["hide-input"]:
            problems.append(f"the set-up cell's tags are {setup.get('metadata', {}).get('tags')}, "
                            "not ['hide-input']")
    for k, cell in enumerate(cells):
        if k != 1 and cell.get("cell_type") == "code" and _GLUE_IMPORT.search(_source(cell)):
            problems.append(f"cell {k} imports from myst_nb (only the set-up cell may)")
    return problems


def test_there_are_chapters():
    assert len(CHAPTERS) >= 12, [p.name for p in CHAPTERS]


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_setup_cell_after_title(path):
    nb = json.loads(path.read_text(encoding="utf8"))
    assert setup_problems(nb) == []


# ------------------------------------------------------------------ the check itself can fail
def _nb(*cells):
    return {"cells": [{"cell_type": t, "source": s, "metadata": m} for t, s, m in cells]}


TITLE = ("markdown", "# A chapter\n\nText.", {})
GOOD = ("code", SETUP, {"tags": ["hide-input"]})


def test_check_accepts_the_canonical_layout():
    assert setup_problems(_nb(TITLE, GOOD, ("code", "x = 1", {}))) == []


def test_check_rejects_setup_before_title():
    assert setup_problems(_nb(GOOD, TITLE)) == ["the first cell is not the title (a Markdown cell starting with '# ')"]


def test_check_rejects_an_edited_setup_cell():
    edited = ("code", SETUP.replace("if display:\n            ", ""), {"tags": ["hide-input"]})
    assert setup_problems(_nb(TITLE, edited)) == ["the cell after the title is not the canonical set-up cell"]


def test_check_rejects_missing_tag_and_a_second_glue_import():
    untagged = ("code", SETUP, {})
    stray = ("code", "from myst_nb import glue\nglue('x', 1)", {})
    assert setup_problems(_nb(TITLE, untagged, stray)) == [
        "the set-up cell's tags are None, not ['hide-input']",
        "cell 2 imports from myst_nb (only the set-up cell may)",
    ]

