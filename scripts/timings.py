#!/usr/bin/env python
"""Execution times, word counts and reading times of the CLASSP book's notebooks (repository tooling).

``python scripts/timings.py`` executes every chapter (``book/NN_*.ipynb``) and every assignment
once, top to bottom, in a fresh kernel with the notebook's folder as the working directory (as
the book build does), and writes ``book/results/timings.json``: the provenance header (schema
``classp-timings/1``, this command, the time in UTC, the versions and the machine), the reading
speed assumed, and per notebook the measured ``exec_s`` and its ``status``, the ``words`` of
prose, the ``reading_min`` at that speed, the number of code cells and the machine's load average
before the run. The teacher's guide and the assignments' index read it with
:func:`classp.teaching.assignments.load_timings`.

``--only a2_ 04_`` runs only the notebooks whose file name contains one of these strings; the
other entries of an existing file are kept (those of notebooks that no longer exist are dropped). The command fails (exit status 1) when a notebook it
ran raised an error (recorded in the file as ``"error: ..."``).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

from classp._io import write_json
from classp._provenance import header
from classp._validation import check_int, check_number
from classp.teaching.assignments import ASSIGNMENTS, TIMINGS_SCHEMA, WORDS_PER_MINUTE, load_timings

#: The book's folder in this checkout (``scripts/`` is at the repository's root).
BOOK = Path(__file__).resolve().parents[1] / "book"
#: The command that regenerates the timings file (recorded in it).
COMMAND = "python scripts/timings.py"

_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.S)
_ROLE = re.compile(r"\{[a-z:-]+\}`[^`]*`")
_WORD = re.compile(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'’-]*")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def count_words(nb) -> int:
    """Words of prose in a notebook's Markdown cells (math, roles and directive options left out).

    Parameters
    ----------
    nb : nbformat.NotebookNode

    Returns
    -------
    int
    """
    n = 0
    for cell in nb.cells:
        if cell.get("cell_type") != "markdown":
            continue
        text = _MATH.sub(" ", cell["source"])
        text = _ROLE.sub(" x ", text)
        lines = [ln for ln in text.split("\n") if not ln.lstrip().startswith((":", "```", "````", ":::"))]
        n += len(_WORD.findall("\n".join(lines)))
    return n


def reading_minutes(words: int, wpm: float = WORDS_PER_MINUTE) -> float:
    """Reading time in minutes at ``wpm`` words per minute.

    Parameters
    ----------
    words : int
        >= 0.
    wpm : float, default :data:`classp.teaching.assignments.WORDS_PER_MINUTE`
        > 0.

    Returns
    -------
    float
    """
    return check_int("words", words, 0) / check_number("wpm", wpm, 0, low_open=True)


def book_notebooks(book: Path) -> list:
    """The chapters (``NN_*.ipynb``, in order) and then the assignments of ``book``."""
    chapters = sorted(book.glob("[0-9][0-9]_*.ipynb"))
    assignments = [book / "assignments" / a.notebook for a in ASSIGNMENTS]
    return chapters + [p for p in assignments if p.is_file()]


def _execute(path: Path, timeout: int) -> dict:
    """Run one notebook in a fresh kernel; its timings entry."""
    import nbclient
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    words = count_words(nb)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    status = "ok"
    try:
        client.execute()
    except Exception as exc:  # recorded, and the other notebooks still run
        text = _ANSI.sub("", str(exc)).strip()
        status = f"error: {type(exc).__name__}: {text.splitlines()[-1] if text else ''}"
    exec_s = time.perf_counter() - t0
    return {"exec_s": round(exec_s, 1), "status": status, "words": words,
            "reading_min": round(reading_minutes(words), 1),
            "code_cells": sum(c.cell_type == "code" for c in nb.cells),
            "load_1min_before": None if load is None else round(load, 2)}


def measure_timings(book_dir=None, out=None, only: Sequence[str] | None = None, timeout: int = 1800,
                    log: Callable[[str], None] = print) -> dict:
    """Execute every chapter and assignment once and record how long each took.

    Parameters
    ----------
    book_dir : path, optional
        The ``book/`` folder (default: this checkout's, :data:`BOOK`).
    out : path, optional
        Where to write the JSON (default: ``BOOK/results/timings.json``). Existing entries for
        notebooks not run this time (``only``) are kept.
    only : sequence of str, optional
        Run only notebooks whose file name contains one of these strings.
    timeout : int, default 1800
        Seconds per cell (>= 1).
    log : callable
        Progress messages.

    Returns
    -------
    dict
        The document written.
    """
    timeout = check_int("timeout", timeout, 1)
    book = Path(book_dir) if book_dir is not None else BOOK
    if not book.is_dir():
        raise ValueError(f"book_dir must be the book/ folder; {book} is not a folder")
    target = Path(out) if out is not None else book / "results" / "timings.json"
    entries = dict(load_timings(target)["notebooks"]) if target.is_file() else {}  # refused before any run
    current = {p.relative_to(book.parent).as_posix() for p in book_notebooks(book)}
    entries = {k: v for k, v in entries.items() if k in current}  # a renamed or removed notebook leaves
    for path in book_notebooks(book):
        if only and not any(s in path.name for s in only):
            continue
        rel = path.relative_to(book.parent).as_posix()
        entries[rel] = _execute(path, timeout)
        log(f"{rel}: {entries[rel]['exec_s']:.1f} s, {entries[rel]['status']}, {entries[rel]['words']} words")
    doc = {**header(TIMINGS_SCHEMA, COMMAND), "words_per_minute": WORDS_PER_MINUTE,
           "notebooks": dict(sorted(entries.items()))}
    write_json(target, doc)
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    """``python scripts/timings.py [--only ...]``.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0; 1 when a notebook run this time failed; 2 when the arguments are refused.
    """
    parser = argparse.ArgumentParser(prog="python scripts/timings.py",
                                     description="Execute every chapter and assignment of the CLASSP book and write "
                                                 "the timings file the teacher's guide reads.")
    parser.add_argument("--book", default=None, help=f"the book/ folder (default: {BOOK})")
    parser.add_argument("--out", default=None, help="output JSON (default: BOOK/results/timings.json)")
    parser.add_argument("--only", nargs="*", default=None, help="run only notebooks whose name contains one of these")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    args = parser.parse_args(argv)
    try:
        doc = measure_timings(args.book, args.out, args.only, args.timeout)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ran = [k for k in doc["notebooks"] if not args.only or any(s in Path(k).name for s in args.only)]
    failed = [k for k in ran if doc["notebooks"][k]["status"] != "ok"]
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
