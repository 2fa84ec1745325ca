#!/usr/bin/env python
"""Student and teacher editions of the CLASSP book's assignments (repository tooling).

The assignment notebooks in ``book/assignments/`` are the single source of truth. They hold the
solutions, and the book's pages leave them out (tag ``remove-cell``; the downloadable copy of a
page is its student edition, :mod:`classp.teaching.public_site`). Each solution cell carries the tag
``solution`` and marks its solution code with ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (the
delimiters nbgrader uses). From them, ``python scripts/editions.py build --out DIR`` writes:

* ``DIR/student/``: the solution region of every code cell is replaced by a stub that raises
  ``NotImplementedError`` (the ``def`` line, the docstring and any code outside the markers
  stay); a solution Markdown cell (a model answer) is replaced by ``YOUR ANSWER HERE``; the
  folding tags are removed; outputs are cleared.
* ``DIR/teacher/``: everything, outputs cleared, and each check cell ends with an nbgrader
  hidden test (``assert result_<a>_<t>.passed`` between ``### BEGIN HIDDEN TESTS`` and
  ``### END HIDDEN TESTS``).

Every other cell is copied unchanged. The build checks every notebook before it writes any file,
and is deterministic: a rerun writes byte-identical files. The cells also carry nbgrader metadata
(``nbgrader: {grade, grade_id, locked, points, schema_version: 3, solution, task}``), so the
teacher edition is an nbgrader *source* notebook: ``nbgrader generate_assignment`` strips the
solutions and the hidden tests, and ``nbgrader autograde`` puts the hidden tests back, so a failed
check scores zero (see the teacher's guide).

``python scripts/editions.py list`` prints the assignments with their tasks and points.

Run it from a checkout of the repository (it reads ``book/`` next to this folder); it imports the
installed ``classp`` for the assignments' registry.
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path
from typing import Sequence

from classp._io import write_text
from classp.teaching.assignments import ASSIGNMENTS

#: The book's folder in this checkout (``scripts/`` is at the repository's root).
BOOK = Path(__file__).resolve().parents[1] / "book"

SOLUTION_TAG = "solution"
BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
#: Tags that fold a cell on the website; the student edition drops them from solution cells.
FOLD_TAGS = ("hide-input", "hide-cell", "hide-output", "remove-cell")
ANSWER_PLACEHOLDER = "YOUR ANSWER HERE"
#: The install line of the sources (from the repository) and the student edition's (from the
#: wheel that ``scripts/classroom_kit.py`` ships next to it, in ``../wheel/``: no network needed).
REPO_INSTALL = '%pip install -q "classp @ git+https://github.com/classp-book/classp-book"'
WHEEL_INSTALL = "%pip install -q --no-index --find-links ../wheel classp  # the wheel shipped with this edition"

_GRADE_ID = re.compile(r"^task_(\d+)_(\d+)_(solution|check|answer)(?:_\d+)?$")
_RESULT_VAR = re.compile(r"^(result_(\d+)_(\d+))\s*=\s*checks\.check_\w+\(", re.M)


# ================================================================================== cells
def _tags(cell) -> list:
    return list(cell.get("metadata", {}).get("tags", []))


def _is_solution(cell) -> bool:
    return SOLUTION_TAG in _tags(cell)


def _task_of(cell, where: str) -> str:
    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
    m = _GRADE_ID.match(gid)
    if not m:
        raise ValueError(f"{where}: a solution cell needs nbgrader metadata with a grade_id like "
                         f"'task_1_2_solution'; got {gid!r}")
    return f"{m.group(1)}.{m.group(2)}"


def _is_check(cell) -> bool:
    m = _GRADE_ID.match(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", ""))
    return bool(m) and m.group(3) == "check"


def _stub_region(source: str, task: str, where: str) -> str:
    """Replace every BEGIN/END SOLUTION region of ``source`` by a NotImplementedError stub."""
    out, inside, found = [], False, False
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped == BEGIN_SOLUTION:
            if inside:
                raise ValueError(f"{where}: nested {BEGIN_SOLUTION}")
            inside, found = True, True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# YOUR CODE HERE (task {task})")
            out.append(f'{indent}raise NotImplementedError("task {task}: write your code here")')
        elif stripped == END_SOLUTION:
            if not inside:
                raise ValueError(f"{where}: {END_SOLUTION} without {BEGIN_SOLUTION}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: {BEGIN_SOLUTION} without {END_SOLUTION}")
    if not found:
        raise ValueError(f"{where}: a code cell tagged {SOLUTION_TAG!r} must mark its solution with "
                         f"{BEGIN_SOLUTION!r} / {END_SOLUTION!r} lines")
    return "\n".join(out)


_CHECK_CALL = re.compile(r"^(result_(\d+)_(\d+))\s*=\s*checks\.check_\w+\((.*)\)\s*$", re.M | re.S)


def _hidden_test(cell, where: str) -> str:
    """The check cell's source plus an nbgrader hidden test and a score line.

    The hidden test grades the same answer again in a fresh process with hidden cases
    (``checks.grade``); the last line, ``checks.score(result)``, gives nbgrader the points (partial
    credit) when the hidden test ran, and fails (``AssertionError``) for a wrong answer when it did
    not (``nbgrader validate`` on a student's copy), without any environment variable.
    """
    m = _RESULT_VAR.search(cell["source"])
    if not m:
        raise ValueError(f"{where}: a check cell must assign its result, e.g. `result_1_2 = checks.check_...(...)`")
    var, task = m.group(1), f"{m.group(2)}.{m.group(3)}"
    call = _CHECK_CALL.search(cell["source"].strip())
    arguments = call.group(4).strip() if call else ""
    return (cell["source"].rstrip("\n") + f"\n{BEGIN_HIDDEN}\n{var} = checks.grade({task!r}, {arguments})\n"
            f"{END_HIDDEN}\nchecks.score({var})")


# ================================================================================== notebooks
def _validate(nb, name: str) -> None:
    seen = set()
    for i, cell in enumerate(nb.cells):
        where = f"{name}, cell {i}"
        src = cell.get("source", "")
        has_marker = any(line.strip() in (BEGIN_SOLUTION, END_SOLUTION) for line in src.split("\n"))
        if has_marker and not _is_solution(cell):
            raise ValueError(f"{where}: solution markers in a cell without the tag {SOLUTION_TAG!r}")
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid is not None:
            if gid in seen:
                raise ValueError(f"{where}: duplicate nbgrader grade_id {gid!r}")
            seen.add(gid)
        if _is_solution(cell):
            _task_of(cell, where)
            if not cell["metadata"]["nbgrader"].get("solution"):
                raise ValueError(f"{where}: a cell tagged {SOLUTION_TAG!r} needs nbgrader solution: true")
        if "id" not in cell:
            raise ValueError(f"{where}: cell has no id (store the notebook with nbformat >= 4.5 cell ids)")


def _cleared(nb):
    """A copy of ``nb`` without outputs, execution counts and execution metadata."""
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cell.setdefault("metadata", {}).pop("execution", None)
    return out


def teacher_notebook(nb, name: str = "notebook"):
    """The teacher edition of a source notebook: everything, outputs cleared.

    Each check cell also gets an nbgrader *hidden test* (``### BEGIN HIDDEN TESTS`` ... ``assert
    result.passed`` ... ``### END HIDDEN TESTS``): nbgrader removes it from the copies it releases to
    students and runs it when it autogrades, so a failed check scores zero there.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The source notebook (not modified).
    name : str
        Used in error messages.

    Returns
    -------
    nbformat.NotebookNode
    """
    _validate(nb, name)
    out = _cleared(nb)
    for i, cell in enumerate(out.cells):
        if _is_check(cell):
            cell["source"] = _hidden_test(cell, f"{name}, cell {i}")
    return out


def student_notebook(nb, name: str = "notebook"):
    """The student edition of a source notebook (see the module docstring).

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The source notebook (not modified).
    name : str
        Used in error messages.

    Returns
    -------
    nbformat.NotebookNode

    Raises
    ------
    ValueError
        If a solution cell has no solution markers or no nbgrader grade_id, markers are unbalanced,
        or markers appear in a cell that is not tagged ``solution``.
    """
    _validate(nb, name)
    out = _cleared(nb)
    for i, cell in enumerate(out.cells):
        if cell["cell_type"] == "code" and REPO_INSTALL in cell["source"]:
            cell["source"] = cell["source"].replace(REPO_INSTALL, WHEEL_INSTALL)
        if not _is_solution(cell):
            continue
        where = f"{name}, cell {i}"
        task = _task_of(cell, where)
        if cell["cell_type"] == "code":
            cell["source"] = _stub_region(cell["source"], task, where)
        else:
            cell["source"] = f"**Your answer (task {task}).** {ANSWER_PLACEHOLDER}"
        cell["metadata"]["tags"] = [t for t in _tags(cell) if t not in FOLD_TAGS]
    return out


# ================================================================================== the build
def _dumps(nb) -> str:
    import nbformat

    text = nbformat.writes(nb)  # sorted keys, indent=1
    return text if text.endswith("\n") else text + "\n"


def default_source() -> Path:
    """``book/assignments`` of this checkout."""
    return BOOK / "assignments"


def _inside(a: Path, b: Path) -> bool:
    """True if ``a`` is ``b`` or inside it."""
    return a == b or b in a.parents


def check_paths(out_dir, src_dir) -> tuple:
    """``(out, src)`` resolved, or ``ValueError`` when one holds the other (checked before any write).

    Writing the editions into the sources' folder (or the sources into the output's) would
    overwrite the notebooks that hold the solutions with their stripped copies.
    """
    out, src = Path(out_dir).resolve(), Path(src_dir).resolve()
    if out == src:
        raise ValueError(f"--out and --src are the same folder ({out}); the editions would overwrite the sources")
    if _inside(src, out):
        raise ValueError(f"--src ({src}) is inside --out ({out}); the editions would overwrite the sources")
    if _inside(out, src):
        raise ValueError(f"--out ({out}) is inside --src ({src}); choose an output folder outside the sources")
    return out, src


def build_editions(out_dir, src_dir=None, *, force: bool = False) -> list:
    """Write the student and the teacher edition of every assignment.

    Every notebook is read and both its editions are made, and every target is checked, before
    any file is written, so a malformed source or a refusal changes nothing.

    Parameters
    ----------
    out_dir : path
        Output folder; ``student/`` and ``teacher/`` are created in it. It may not be the sources'
        folder, hold it, or be inside it.
    src_dir : path, optional
        Folder of the source notebooks (default: :func:`default_source`).
    force : bool, default False
        Overwrite existing files that differ from what would be written (an edited notebook).
        Without it such a file is refused (files identical to the new ones are left as they are).

    Returns
    -------
    list of pathlib.Path
        The files written, sorted.
    """
    import nbformat

    src = Path(src_dir) if src_dir is not None else default_source()
    if not src.is_dir():
        raise ValueError(f"src_dir must be a folder with the assignment notebooks; {src} is not a folder")
    out, src = check_paths(out_dir, src)
    texts = {}
    for a in ASSIGNMENTS:
        path = src / a.notebook
        if not path.is_file():
            raise ValueError(f"missing assignment notebook {path}")
        nb = nbformat.read(str(path), as_version=4)
        for edition, make in (("teacher", teacher_notebook), ("student", student_notebook)):
            texts[out / edition / a.notebook] = _dumps(make(nb, a.notebook))
    changed = [t for t, text in texts.items() if t.exists() and t.read_text(encoding="utf-8") != text]
    if changed and not force:
        raise ValueError(f"{len(changed)} file(s) in {out} would be overwritten and differ from the new edition "
                         f"(edited?), e.g. {changed[0]}; pass --force to overwrite them, or choose another --out")
    for target, text in texts.items():
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            write_text(target, text)
    return sorted(texts)


def list_assignments() -> str:
    """The assignments with their tasks and points, as ``list`` prints them."""
    lines = []
    for a in ASSIGNMENTS:
        lines.append(f"Assignment {a.number}: {a.title} ({a.notebook}; {a.points} points; "
                     f"{a.minutes[0]}-{a.minutes[1]} min; chapters {', '.join(a.chapters)})")
        for task in a.tasks:
            how = f"checked by classp.teaching.checks.{task.check}" if task.check else "written answer"
            lines.append(f"  task {task.task}: {task.title} ({task.points} points, {how})")
    return "\n".join(lines)


# ================================================================================== command line
def main(argv: Sequence[str] | None = None) -> int:
    """``python scripts/editions.py {build,list}``.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0, or 2 when the sources are refused (the error is printed).
    """
    parser = argparse.ArgumentParser(prog="python scripts/editions.py",
                                     description="Student and teacher editions of the CLASSP book's assignments.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write DIR/student/*.ipynb and DIR/teacher/*.ipynb")
    b.add_argument("--out", required=True, help="output folder")
    b.add_argument("--src", default=None, help=f"folder of the source notebooks (default: {default_source()})")
    b.add_argument("--force", action="store_true", help="overwrite existing files that differ (edited notebooks)")
    sub.add_parser("list", help="list the assignments, their tasks and points")
    args = parser.parse_args(argv)
    if args.command == "list":
        print(list_assignments())
        return 0
    try:
        written = build_editions(args.out, args.src, force=args.force)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
