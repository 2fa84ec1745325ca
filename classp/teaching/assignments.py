"""The book's assignments: registry, student and teacher editions, timings, and a lab adapter.

The assignment notebooks in ``book/assignments/`` are the single source of truth. They hold the
solutions, and the book shows them folded (tag ``hide-input``). Each solution cell carries the tag
``solution`` and marks its solution code with ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (the
delimiters nbgrader uses). From them, ``python -m classp.assignments build --out DIR`` writes:

* ``DIR/student/``: the solution region of every code cell is replaced by a stub that raises
  ``NotImplementedError`` (the ``def`` line, the docstring and any code outside the markers
  stay); a solution Markdown cell (a model answer) is replaced by ``YOUR ANSWER HERE``; the
  folding tags are removed; outputs are cleared.
* ``DIR/teacher/``: everything, outputs cleared, and each check cell ends with an nbgrader
  hidden test (``assert result_<a>_<t>.passed`` between ``### BEGIN HIDDEN TESTS`` and
  ``### END HIDDEN TESTS``).

Every other cell is copied unchanged. The build is deterministic: a rerun writes byte-identical
files. The cells also carry nbgrader metadata (``nbgrader: {grade, grade_id, locked, points,
schema_version: 3, solution, task}``), so the teacher edition is an nbgrader *source* notebook:
``nbgrader generate_assignment`` strips the solutions and the hidden tests, and ``nbgrader
autograde`` puts the hidden tests back, so a failed check scores zero (see the teacher's guide).

``python -m classp.assignments timings`` executes every chapter and assignment and writes the
measured execution times, with word counts and reading times, to ``book/results/timings.json``
(the teacher's guide reads it).

:func:`method_from_step` turns a student's functional update rule into a method that
:func:`classp.train.run` accepts.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch

from . import checks

__all__ = [
    "Assignment", "ASSIGNMENTS", "get_assignment", "SOLUTION_TAG", "BEGIN_SOLUTION", "END_SOLUTION",
    "student_notebook", "teacher_notebook", "build_editions", "default_source", "count_words",
    "reading_minutes", "measure_timings", "load_timings", "chapter_outline", "StepOptimizer",
    "method_from_step", "main", "WORDS_PER_MINUTE", "TIMINGS_SCHEMA",
]

SOLUTION_TAG = "solution"
BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
#: Tags that fold a cell on the website; the student edition drops them from solution cells.
FOLD_TAGS = ("hide-input", "hide-cell", "hide-output")
ANSWER_PLACEHOLDER = "YOUR ANSWER HERE"
#: Reading speed used for reading-time estimates (words per minute; a stated assumption for
#: technical text with formulas, not a measurement).
WORDS_PER_MINUTE = 150
TIMINGS_SCHEMA = "classp-timings/1"

_GRADE_ID = re.compile(r"^task_(\d+)_(\d+)_(solution|check|answer)(?:_\d+)?$")
_RESULT_VAR = re.compile(r"^(result_(\d+)_(\d+))\s*=\s*checks\.check_\w+\(", re.M)
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"


# ================================================================================== registry
@dataclass(frozen=True)
class Assignment:
    """One assignment notebook.

    Attributes
    ----------
    number : int
    slug : str
        File stem in ``book/assignments/``.
    title : str
    chapters : tuple of str
        Stems of the chapters it builds on (``"02_adagrad"``, ...).
    minutes : (int, int)
        Estimated student work in minutes (an author's estimate, not a measurement).
    summary : str
        One sentence: what the student does.
    """

    number: int
    slug: str
    title: str
    chapters: tuple
    minutes: tuple
    summary: str

    @property
    def notebook(self) -> str:
        """File name of the notebook."""
        return f"{self.slug}.ipynb"

    @property
    def tasks(self) -> list:
        """Its tasks (:class:`classp.checks.TaskInfo`), in order."""
        return checks.tasks_of(self.number)

    @property
    def points(self) -> int:
        """Total points."""
        return sum(t.points for t in self.tasks)


ASSIGNMENTS: tuple = (
    Assignment(1, "a1_from_scratch", "AdaGrad and CLASSP from scratch",
               ("02_adagrad", "03_suppression", "04_sparsity", "05_classp_in_pytorch"), (45, 75),
               "Write the AdaGrad and the CLASSP update of a tensor, check them against PyTorch and "
               "classp.CLASSP, and train with them in the lab."),
    Assignment(2, "a2_threshold", "A threshold for a target density, and the forgetting it buys",
               ("01_forgetting", "04_sparsity", "05_classp_in_pytorch"), (45, 75),
               "Turn a target share of updated weights into a threshold, find the threshold that gives a "
               "run a target update density, and measure over three seeds what it does to forgetting."),
    Assignment(3, "a3_ewc", "EWC's diagonal Fisher and penalty",
               ("01_forgetting", "07_ewc"), (45, 90),
               "Write the empirical Fisher diagonal and the EWC penalty, check them against classp.ewc, "
               "and relate the penalty's strength to forgetting and to the stability of SGD."),
    Assignment(4, "a4_frontier", "CLASSP on the stability–plasticity frontier",
               ("01_forgetting", "07_ewc", "08_head_to_head"), (60, 90),
               "Write the forgetting metric, design and run a small experiment that places CLASSP among "
               "baselines on the stability–plasticity frontier, and argue from it."),
)


def get_assignment(number: int) -> Assignment:
    """The assignment with this number.

    Parameters
    ----------
    number : int
        1 to ``len(ASSIGNMENTS)``.

    Returns
    -------
    Assignment
    """
    for a in ASSIGNMENTS:
        if a.number == number:
            return a
    raise ValueError(f"number must be one of {[a.number for a in ASSIGNMENTS]}; got {number!r}")


# ================================================================================== editions
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


def _clean(cell) -> None:
    """Clear outputs and execution metadata of a cell in place."""
    if cell.get("cell_type") == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    md = cell.setdefault("metadata", {})
    md.pop("execution", None)


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


def _read(path):
    import nbformat

    return nbformat.read(str(path), as_version=4)


def _cleared(nb):
    out = copy.deepcopy(nb)
    for cell in out.cells:
        _clean(cell)
    return out


def _is_check(cell) -> bool:
    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
    m = _GRADE_ID.match(gid)
    return bool(m) and m.group(3) == "check"


def _hidden_test(cell, where: str) -> str:
    """The check cell's source plus an nbgrader hidden test that fails when the check failed."""
    m = _RESULT_VAR.search(cell["source"])
    if not m:
        raise ValueError(f"{where}: a check cell must assign its result, e.g. `result_1_2 = checks.check_...(...)`")
    var, task = m.group(1), f"{m.group(2)}.{m.group(3)}"
    return (cell["source"].rstrip("\n") + f"\n{BEGIN_HIDDEN}\nassert {var}.passed, "
            f"\"task {task} did not pass its check\"\n{END_HIDDEN}")


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
        if not _is_solution(cell):
            continue
        where = f"{name}, cell {i}"
        task = _task_of(cell, where)
        if cell["cell_type"] == "code":
            cell["source"] = _stub_region(cell["source"], task, where)
        else:
            cell["source"] = f"**Your answer (task {task}).** {ANSWER_PLACEHOLDER}"
        tags = [t for t in _tags(cell) if t not in FOLD_TAGS]
        cell["metadata"]["tags"] = tags
    return out


def _dumps(nb) -> str:
    import nbformat

    text = nbformat.writes(nb)  # sorted keys, indent=1
    return text if text.endswith("\n") else text + "\n"


def default_source() -> Path:
    """``book/assignments`` of the repository this package was installed from (editable install)."""
    return Path(__file__).resolve().parent.parent / "book" / "assignments"


def build_editions(out_dir, src_dir=None) -> list:
    """Write the student and the teacher edition of every assignment.

    Parameters
    ----------
    out_dir : path
        Output folder; ``student/`` and ``teacher/`` are created in it (existing files with the
        same names are overwritten).
    src_dir : path, optional
        Folder of the source notebooks (default: :func:`default_source`).

    Returns
    -------
    list of pathlib.Path
        The files written, sorted.
    """
    src = Path(src_dir) if src_dir is not None else default_source()
    if not src.is_dir():
        raise ValueError(f"src_dir must be a folder with the assignment notebooks; {src} is not a folder")
    out = Path(out_dir)
    written = []
    for a in ASSIGNMENTS:
        path = src / a.notebook
        if not path.is_file():
            raise ValueError(f"missing assignment notebook {path}")
        nb = _read(path)
        for edition, make in (("teacher", teacher_notebook), ("student", student_notebook)):
            target = out / edition / a.notebook
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_dumps(make(nb, a.notebook)), encoding="utf-8")
            written.append(target)
    return sorted(written)


# ================================================================================== timings
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


def reading_minutes(words: int, wpm: int = WORDS_PER_MINUTE) -> float:
    """Reading time in minutes at ``wpm`` words per minute.

    Parameters
    ----------
    words : int
        >= 0.
    wpm : int, default :data:`WORDS_PER_MINUTE`
        > 0.

    Returns
    -------
    float
    """
    if words < 0:
        raise ValueError(f"words must be >= 0; got {words}")
    if wpm <= 0:
        raise ValueError(f"wpm must be > 0; got {wpm}")
    return words / wpm


def _book_notebooks(book: Path) -> list:
    chapters = sorted(p for p in book.glob("[0-9][0-9]_*.ipynb"))
    assignments = [book / "assignments" / a.notebook for a in ASSIGNMENTS if (book / "assignments" / a.notebook).is_file()]
    return chapters + assignments


def measure_timings(book_dir=None, out=None, only: Sequence[str] | None = None, timeout: int = 1800,
                    log: Callable[[str], None] = print) -> dict:
    """Execute every chapter and assignment once and record how long each took.

    Each notebook runs top to bottom in a fresh kernel (nbclient) with its own folder as the
    working directory, as in the book build. The file also records word counts, reading times at
    :data:`WORDS_PER_MINUTE`, the machine, the load average before each run and the versions.

    Parameters
    ----------
    book_dir : path, optional
        The ``book/`` folder (default: next to the package).
    out : path, optional
        Where to write the JSON (default: ``book/results/timings.json``). Existing entries for
        notebooks not run this time (``only``) are kept.
    only : sequence of str, optional
        Run only notebooks whose file name contains one of these strings.
    timeout : int, default 1800
        Seconds per cell.
    log : callable
        Progress messages.

    Returns
    -------
    dict
        The document written.
    """
    import nbclient
    import nbformat

    from ..lab.results import machine, versions

    book = Path(book_dir) if book_dir is not None else Path(__file__).resolve().parent.parent / "book"
    if not book.is_dir():
        raise ValueError(f"book_dir must be the book/ folder; {book} is not a folder")
    target = Path(out) if out is not None else book / "results" / "timings.json"
    doc = load_timings(target) if target.is_file() else {}
    entries = dict(doc.get("notebooks", {}))
    for path in _book_notebooks(book):
        if only and not any(s in path.name for s in only):
            continue
        rel = path.relative_to(book.parent).as_posix()
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
        entries[rel] = {"exec_s": round(exec_s, 1), "status": status, "words": words,
                        "reading_min": round(reading_minutes(words), 1),
                        "code_cells": sum(c.cell_type == "code" for c in nb.cells),
                        "load_1min_before": None if load is None else round(load, 2)}
        log(f"{rel}: {exec_s:.1f} s, {status}, {words} words")
    doc = {"schema": TIMINGS_SCHEMA, "command": "python -m classp.assignments timings",
           "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(), "versions": versions(),
           "words_per_minute": WORDS_PER_MINUTE, "notebooks": dict(sorted(entries.items()))}
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return doc


def load_timings(path) -> dict:
    """Read and check a timings file written by :func:`measure_timings`.

    Parameters
    ----------
    path : path

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        If the file is not a timings file of schema :data:`TIMINGS_SCHEMA`.
    """
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or doc.get("schema") != TIMINGS_SCHEMA:
        raise ValueError(f"{path}: not a timings file of schema {TIMINGS_SCHEMA!r}")
    for key in ("command", "created", "machine", "versions", "words_per_minute", "notebooks"):
        if key not in doc:
            raise ValueError(f"{path}: missing key {key!r}")
    for name, e in doc["notebooks"].items():
        for key in ("exec_s", "status", "words", "reading_min"):
            if key not in e:
                raise ValueError(f"{path}: entry {name!r} misses {key!r}")
    return doc


# ================================================================================== outlines
def chapter_outline(path) -> dict:
    """Title and learning objectives of a chapter notebook.

    The title is the first ``# `` heading; the objectives are the bullet items of the first
    Markdown block that mentions "Learning objectives" (the book's chapter grammar).

    Parameters
    ----------
    path : path
        A chapter ``.ipynb``.

    Returns
    -------
    dict
        ``title`` (str) and ``objectives`` (list of str, possibly empty).
    """
    nb = _read(path)
    title, objectives = Path(path).stem, []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        src = cell.source
        if title == Path(path).stem:
            m = re.search(r"^# (.+)$", src, re.M)
            if m:
                title = m.group(1).strip()
        if not objectives and "learning objectives" in src.lower():
            block = src[src.lower().index("learning objectives"):]
            items, cur = [], None
            for line in block.split("\n")[1:]:
                s = line.strip()
                if s.startswith(("- ", "* ")):
                    cur = s[2:].strip()
                    items.append(cur)
                elif s.startswith(("```", ":::")):
                    break
                elif s and cur is not None and line.startswith("  "):
                    items[-1] = items[-1] + " " + s
                elif not s:
                    cur = None
            objectives = items
        if objectives and title != Path(path).stem:
            break
    return {"title": title, "objectives": objectives}


# ================================================================================== lab adapter
class StepOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` around a functional update rule.

    ``step_fn(w, g, state_sum, lr=..., **hparams) -> (new_w, new_state_sum)`` is applied to every
    parameter with a gradient; ``state_sum`` starts at zero (one tensor per parameter, in
    ``self.state[p]["sum"]``). The function gets copies, so it may work in place or not.

    Parameters
    ----------
    params : iterable
        Parameters to optimize.
    step_fn : callable
        The update rule (e.g. a student's ``adagrad_step`` or ``classp_step``).
    lr : float
        Learning rate (> 0), passed as ``lr=``.
    **hparams
        Further keyword arguments of ``step_fn`` (e.g. ``threshold=1e-6, power=1.0, eps=1e-8``).
    """

    def __init__(self, params, step_fn: Callable, lr: float, **hparams):
        if not callable(step_fn):
            raise ValueError(f"step_fn must be callable; got {type(step_fn).__name__}")
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
            raise ValueError(f"lr must be a number > 0; got {lr!r}")
        self._step_fn = step_fn
        self._hparam_names = ("lr",) + tuple(hparams)
        super().__init__(params, dict(lr=float(lr), **hparams))

    @torch.no_grad()
    def step(self, closure=None):
        """Apply ``step_fn`` to every parameter that has a gradient.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss.

        Returns
        -------
        The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            hp = {k: group[k] for k in self._hparam_names}
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if "sum" not in st:
                    st["sum"] = torch.zeros_like(p)
                new_w, new_s = self._step_fn(p.detach().clone(), p.grad.detach().clone(), st["sum"].clone(), **hp)
                p.copy_(torch.as_tensor(new_w, dtype=p.dtype))
                st["sum"] = torch.as_tensor(new_s, dtype=p.dtype).detach().clone()
        return loss


def method_from_step(step_fn: Callable, *, name: str, lr: float, description: str = "", **hparams):
    """A :class:`classp.methods.Method` that trains with a functional update rule.

    Parameters
    ----------
    step_fn : callable
        ``step_fn(w, g, state_sum, lr=..., **hparams) -> (new_w, new_state_sum)``.
    name : str
        The method's name (shown in results and tables).
    lr : float
        Default learning rate.
    description : str, optional
    **hparams
        Default values of the other keyword arguments of ``step_fn``; they become the method's
        options (``run(..., options={...})`` can override them).

    Returns
    -------
    classp.methods.Method

    Examples
    --------
    >>> from classp.train import run                                   # doctest: +SKIP
    >>> m = method_from_step(classp_step, name="my-classp", lr=0.03,
    ...                      threshold=1e-6, power=1.0, eps=1e-8)      # doctest: +SKIP
    >>> result = run(m, "permuted-digits", seed=0)                     # doctest: +SKIP
    """
    from ..lab.methods import Learner, Method

    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string; got {name!r}")

    def factory(model, lr_value, options):
        params = [p for p in model.parameters() if p.requires_grad]
        return Learner(StepOptimizer(params, step_fn, lr=lr_value, **options))

    return Method(name, description or f"{name}: a functional update rule wrapped by classp.assignments.StepOptimizer",
                  {"lr": lr, **hparams}, factory)


# ================================================================================== CLI
def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m classp.assignments {build,timings,list}``.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status.
    """
    parser = argparse.ArgumentParser(prog="python -m classp.assignments",
                                     description="Student and teacher editions of the CLASSP book's assignments, "
                                                 "and the timings file of the teacher's guide.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write DIR/student/*.ipynb and DIR/teacher/*.ipynb")
    b.add_argument("--out", required=True, help="output folder")
    b.add_argument("--src", default=None, help="folder of the source notebooks (default: book/assignments)")
    t = sub.add_parser("timings", help="execute every chapter and assignment and write book/results/timings.json")
    t.add_argument("--book", default=None, help="the book/ folder (default: the repository's)")
    t.add_argument("--out", default=None, help="output JSON (default: BOOK/results/timings.json)")
    t.add_argument("--only", nargs="*", default=None, help="run only notebooks whose name contains one of these")
    t.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    sub.add_parser("list", help="list the assignments, their tasks and points")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            for path in build_editions(args.out, args.src):
                print(path)
        elif args.command == "timings":
            doc = measure_timings(args.book, args.out, args.only, args.timeout)
            ran = [k for k in doc["notebooks"] if not args.only or any(s in Path(k).name for s in args.only)]
            failed = [k for k in ran if doc["notebooks"][k]["status"] != "ok"]
            if failed:
                print("failed: " + ", ".join(failed), file=sys.stderr)
                return 1
        else:
            for a in ASSIGNMENTS:
                print(f"Assignment {a.number}: {a.title} ({a.notebook}; {a.points} points; "
                      f"{a.minutes[0]}-{a.minutes[1]} min; chapters {', '.join(a.chapters)})")
                for task in a.tasks:
                    how = f"checked by classp.checks.{task.check}" if task.check else "written answer"
                    print(f"  task {task.task}: {task.title} ({task.points} points, {how})")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
