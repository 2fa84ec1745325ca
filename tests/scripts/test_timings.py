"""Tests of scripts/timings.py: word counts and reading times, timing notebooks into the timings file (on a
tiny book), its command line, and the timings file in the book."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from classp.teaching.assignments import TIMINGS_SCHEMA, WORDS_PER_MINUTE, load_timings

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "timings.py"


def load_script(path: Path):
    """The script as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"scripts_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


T = load_script(SCRIPT)


def tiny(cells):
    nb = new_notebook(cells=cells)
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i}"
    return nb


def test_count_words_and_reading_time():
    nb = tiny([new_markdown_cell("# A title\n\nTwo words, $x^2 + y$ and {cite}`key` here.\n:class: tip"),
               new_code_cell("print('not counted')")])
    # "A title Two words and x here": the math and the option line are left out, a role counts as one word
    assert T.count_words(nb) == 7
    assert T.reading_minutes(300) == 300 / WORDS_PER_MINUTE == 2.0 and T.reading_minutes(300, wpm=100) == 3.0
    assert T.reading_minutes(np.int64(300), wpm=np.float64(100.0)) == 3.0
    with pytest.raises(ValueError, match=r"words must be an integer >= 0; got -1"):
        T.reading_minutes(-1)
    with pytest.raises(ValueError, match=r"wpm must be a number > 0; got 0"):
        T.reading_minutes(10, wpm=0)


def test_book_notebooks_lists_chapters_then_assignments():
    paths = T.book_notebooks(T.BOOK)
    assert paths and paths == sorted(T.BOOK.glob("[0-9][0-9]_*.ipynb")) + [
        p for p in paths if p.parent.name == "assignments"]
    assert [p.name for p in paths if p.parent.name == "assignments"] == [
        "a1_from_scratch.ipynb", "a2_threshold.ipynb", "a3_ewc.ipynb", "a4_frontier.ipynb"]


def test_timings_file_in_the_book_is_valid():
    """The book's timings file was written by this script (regenerate it with ``python scripts/timings.py``)."""
    path = ROOT / "book" / "results" / "timings.json"
    if not path.is_file():
        pytest.skip("book/results/timings.json not written yet (python scripts/timings.py)")
    doc = load_timings(path)
    assert doc["command"] == T.COMMAND == "python scripts/timings.py"
    assert list(doc)[:5] == ["schema", "command", "created", "versions", "machine"]  # the provenance header
    assert doc["created"].endswith("+00:00")  # UTC
    for name, entry in doc["notebooks"].items():
        assert (ROOT / name).is_file(), name
        assert entry["reading_min"] == round(T.reading_minutes(entry["words"], doc["words_per_minute"]), 1)
        assert entry["status"] == "ok" or entry["status"].startswith("error: ")


def test_measure_timings_on_a_tiny_book(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    nbformat.write(tiny([new_markdown_cell("# One\n\nfive words of prose here"), new_code_cell("x = 1 + 1")]),
                   str(book / "01_one.ipynb"))
    nbformat.write(tiny([new_code_cell("raise ValueError('broken chapter')")]), str(book / "02_two.ipynb"))
    messages = []
    doc = T.measure_timings(book, only=["01_"], log=messages.append)
    assert list(doc)[:5] == ["schema", "command", "created", "versions", "machine"]
    assert doc["schema"] == TIMINGS_SCHEMA and doc["command"] == "python scripts/timings.py"
    assert doc["created"].endswith("+00:00") and doc["words_per_minute"] == WORDS_PER_MINUTE
    assert list(doc["notebooks"]) == ["book/01_one.ipynb"]
    e = doc["notebooks"]["book/01_one.ipynb"]
    assert e["status"] == "ok" and e["exec_s"] >= 0 and e["words"] == 6 and e["code_cells"] == 1
    assert doc == load_timings(book / "results" / "timings.json")
    doc = T.measure_timings(book, only=["02_"], log=messages.append)  # the first entry is kept
    assert set(doc["notebooks"]) == {"book/01_one.ipynb", "book/02_two.ipynb"}
    assert doc["notebooks"]["book/02_two.ipynb"]["status"].startswith("error: CellExecutionError")
    assert len(messages) == 2 and messages[0].startswith("book/01_one.ipynb: ")
    assert sorted(p.name for p in (book / "results").iterdir()) == ["timings.json"]  # no temporary file left
    assert T.main(["--book", str(book), "--only", "02_"]) == 1  # a failing notebook fails the command
    assert T.main(["--book", str(book), "--only", "01_"]) == 0  # failures of notebooks not run don't
    (book / "02_two.ipynb").rename(book / "03_two.ipynb")   # a renamed chapter leaves no stale entry
    doc = T.measure_timings(book, only=["01_"], log=messages.append)
    assert list(doc["notebooks"]) == ["book/01_one.ipynb"]


def test_refusals_run_nothing(tmp_path, capsys):
    assert T.main(["--book", str(tmp_path / "nowhere")]) == 2
    assert "book_dir must be the book/ folder" in capsys.readouterr().err
    book = tmp_path / "book"
    (book / "results").mkdir(parents=True)
    nbformat.write(tiny([new_code_cell("open('ran', 'w').close()")]), str(book / "01_one.ipynb"))
    (book / "results" / "timings.json").write_text(json.dumps({"schema": "other"}))
    with pytest.raises(ValueError, match="not a timings file"):  # checked before any notebook runs
        T.measure_timings(book)
    with pytest.raises(ValueError, match="timeout must be an integer >= 1; got 0"):
        T.measure_timings(book, timeout=0)
    assert not (book / "ran").exists()


def test_cli_as_a_script():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, cwd=ROOT.parent)
    assert proc.returncode == 0 and "usage: python scripts/timings.py" in proc.stdout
    assert str(ROOT / "book") in " ".join(proc.stdout.split())  # the book next to the script is the default
