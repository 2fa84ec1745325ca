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

Both editions are plain Jupyter Markdown (:func:`plain_markdown`): MyST's admonitions become
block quotes, ``{cite}`` roles author–year text with a reference list in place of
``{bibliography}``, ``{glue:text}`` roles the numbers the solutions measured (read from
``book/results/assignment_numbers.json``, written by ``python scripts/editions.py numbers``), and
links into the book links to the repository. Every other cell is copied unchanged. The build checks every notebook before it writes any file,
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

#: The numbers the assignments' Markdown shows (MyST-NB ``glue``), measured by running the sources.
NUMBERS_FILE = BOOK / "results" / "assignment_numbers.json"
NUMBERS_SCHEMA = "classp-assignment-numbers/1"
#: Where links into the book point in the editions (the repository's files; Jupyter opens no MyST page).
REPO_BLOB = "https://github.com/classp-book/classp-book/blob/main/"

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


def teacher_notebook(nb, name: str = "notebook", *, numbers: dict | None = None):
    """The teacher edition of a source notebook: everything, outputs cleared.

    Each check cell also gets an nbgrader *hidden test* (``### BEGIN HIDDEN TESTS`` ... ``assert
    result.passed`` ... ``### END HIDDEN TESTS``): nbgrader removes it from the copies it releases to
    students and runs it when it autogrades, so a failed check scores zero there.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The source notebook (not modified).
    name : str
        The notebook's file name (its numbers in :data:`NUMBERS_FILE`; error messages).
    numbers : dict, optional
        ``{glue name: value}`` for the Markdown (default: the notebook's in :data:`NUMBERS_FILE`).

    Returns
    -------
    nbformat.NotebookNode
    """
    _validate(nb, name)
    out = _cleared(nb)
    for i, cell in enumerate(out.cells):
        if _is_check(cell):
            cell["source"] = _hidden_test(cell, f"{name}, cell {i}")
    return plain_notebook(out, name, numbers=load_numbers().get(name, {}) if numbers is None else numbers)


def student_notebook(nb, name: str = "notebook", *, numbers: dict | None = None):
    """The student edition of a source notebook (see the module docstring).

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The source notebook (not modified).
    name : str
        The notebook's file name (its numbers in :data:`NUMBERS_FILE`; error messages).
    numbers : dict, optional
        ``{glue name: value}`` for the Markdown (default: the notebook's in :data:`NUMBERS_FILE`).

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
    return plain_notebook(out, name, numbers=load_numbers().get(name, {}) if numbers is None else numbers)


# ================================================================================== plain Markdown
_DIRECTIVE = re.compile(r"^(\s*)(`{3,}|:{3,})\{([\w:-]+)\}[ \t]*(.*)$")
_ROLE = re.compile(r"\{([\w:-]+)\}`([^`]*)`")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_ADMONITIONS = ("admonition", "note", "tip", "hint", "important", "warning", "caution", "attention", "seealso")
_REFERENCES = "\x00references\x00"


def _bibliography(bib_file=None) -> dict:
    """``{key: pybtex Entry}`` of the book's references."""
    from pybtex.database import parse_file

    return dict(parse_file(str(bib_file or BOOK / "references.bib")).entries)


def _authors_short(entry) -> str:
    people = entry.persons.get("author", [])
    last = [" ".join(p.last_names) for p in people]
    if not last:
        return entry.fields.get("title", "?")
    return last[0] if len(last) == 1 else f"{last[0]} and {last[1]}" if len(last) == 2 else f"{last[0]} et al."


def _reference(entry) -> str:
    """One reference as Markdown: authors (year). *Title*. Venue. Link."""
    people = entry.persons.get("author", [])
    names = [" ".join(p.last_names) + (", " + " ".join(n[0] + "." for n in p.first_names + p.middle_names)
                                      if p.first_names else "") for p in people]
    authors = names[0] if len(names) == 1 else ", ".join(names[:-1]) + ", and " + names[-1] if names else ""
    f = entry.fields
    arxiv = f.get("eprint") if f.get("archiveprefix", f.get("archivePrefix", "")).lower() == "arxiv" else None
    venue = (f.get("journal") or f.get("booktitle") or f.get("publisher") or f.get("howpublished")
             or (f"arXiv:{arxiv}" if arxiv else ""))
    link = (f"https://doi.org/{f['doi']}" if f.get("doi") else f.get("url", "")
            or (f"https://arxiv.org/abs/{arxiv}" if arxiv else ""))
    text = f"{authors} ({f.get('year', 'n.d.')}). *{f.get('title', '').replace('{', '').replace('}', '')}*."
    if venue:
        text += f" {venue.replace('{', '').replace('}', '')}."
    return text.replace("---", "—").replace("--", "–") + (f" <{link}>" if link else "")


def _glue_value(name_fmt: str, numbers: dict, where: str) -> str:
    name, _, fmt = name_fmt.partition(":")
    if name not in numbers:
        raise ValueError(f"{where}: no number for {{glue}} {name!r} in {NUMBERS_FILE.name}; run "
                         "`python scripts/editions.py numbers` after changing the assignments")
    return format(numbers[name], fmt)


def plain_markdown(text: str, *, numbers: dict | None = None, bib: dict | None = None,
                   where: str = "markdown", link_base: str = "book/assignments/") -> str:
    """``text`` (MyST Markdown) as plain Jupyter Markdown.

    Admonitions (``{admonition}``, ``{note}``, ... with backtick or colon fences) become block
    quotes led by their title in bold (options such as ``:class:`` dropped); ``{bibliography}``
    becomes a marker that :func:`plain_notebook` replaces by the cited references;
    ``{cite}``/``{cite:p}`` become "(Author et al., year)", ``{cite:t}`` "Author et al. (year)";
    ``{glue:text}`name:fmt``` and ``{glue}`name``` become ``format(numbers[name], fmt)``; relative
    links (resolved from ``link_base``) point to the repository. Any other role or directive raises
    ``ValueError`` (Jupyter would show it as literal text).
    """
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        m = _DIRECTIVE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent, fence, name, arg = m.groups()
        j = i + 1
        while j < len(lines) and lines[j].strip() != fence:
            j += 1
        if j == len(lines):
            raise ValueError(f"{where}: the {{{name}}} directive has no closing {fence}")
        body = lines[i + 1:j]
        while body and re.match(r"^\s*:[\w-]+:", body[0]):
            body.pop(0)
        if name in _ADMONITIONS:
            title = arg.strip() or name.capitalize()
            inner = plain_markdown("\n".join(body), numbers=numbers, bib=bib, where=where, link_base=link_base)
            out += [f"{indent}> **{title}**", f"{indent}>"] + [f"{indent}> {ln}".rstrip() for ln in inner.split("\n")]
        elif name == "bibliography":
            out.append(_REFERENCES)
        else:
            raise ValueError(f"{where}: the MyST directive {{{name}}} has no plain-Markdown form")
        i = j + 1
    text = "\n".join(out)

    def role(m):
        kind, arg = m.groups()
        if kind in ("glue:text", "glue"):
            return _glue_value(arg, numbers or {}, where)
        if kind in ("cite", "cite:p", "cite:t"):
            keys = [k.strip() for k in arg.split(",")]
            entries = bib if bib is not None else _bibliography()
            missing = [k for k in keys if k not in entries]
            if missing:
                raise ValueError(f"{where}: unknown citation key(s) {missing}")
            if kind == "cite:t":
                return "; ".join(f"{_authors_short(entries[k])} ({entries[k].fields.get('year', 'n.d.')})" for k in keys)
            return "(" + "; ".join(f"{_authors_short(entries[k])}, {entries[k].fields.get('year', 'n.d.')}"
                                   for k in keys) + ")"
        raise ValueError(f"{where}: the MyST role {{{kind}}} has no plain-Markdown form")

    def link(m):
        target = m.group(1)
        if re.match(r"^[a-z]+:|^#", target):
            return m.group(0)
        path, _, anchor = target.partition("#")
        parts = []
        for part in (link_base + path).split("/"):
            if part == "..":
                parts.pop()
            elif part not in ("", "."):
                parts.append(part)
        return "](" + REPO_BLOB + "/".join(parts) + (f"#{anchor}" if anchor else "") + ")"

    return _LINK.sub(link, _ROLE.sub(role, text))


def cited_keys(nb) -> list:
    """The citation keys of the notebook's Markdown, in order of first citation."""
    keys = []
    for cell in nb.cells:
        if cell["cell_type"] == "markdown":
            for kind, arg in _ROLE.findall(cell["source"]):
                if kind.startswith("cite"):
                    keys += [k.strip() for k in arg.split(",") if k.strip() not in keys]
    return list(dict.fromkeys(keys))


def plain_notebook(nb, name: str = "notebook", *, numbers: dict | None = None, bib: dict | None = None):
    """``nb`` with every Markdown cell in plain Jupyter Markdown (:func:`plain_markdown`); the
    ``{bibliography}`` lists the notebook's cited works, sorted by author. Modifies ``nb``."""
    entries = bib if bib is not None or not cited_keys(nb) else _bibliography()
    refs = sorted(cited_keys(nb), key=lambda k: (_authors_short(entries[k]).lower(), k)) if entries else []
    for i, cell in enumerate(nb.cells):
        if cell["cell_type"] != "markdown":
            continue
        text = plain_markdown(cell["source"], numbers=numbers, bib=entries, where=f"{name}, cell {i}")
        cell["source"] = text.replace(_REFERENCES, "\n".join(f"- {_reference(entries[k])}" for k in refs))
    return nb


def load_numbers(path=None) -> dict:
    """``{notebook: {glue name: value}}`` of the numbers file (:data:`NUMBERS_FILE`)."""
    import json

    path = Path(path or NUMBERS_FILE)
    if not path.is_file():
        return {}
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("schema") != NUMBERS_SCHEMA:
        raise ValueError(f"{path}: schema must be {NUMBERS_SCHEMA!r}; got {doc.get('schema')!r}")
    return doc["notebooks"]


_RECORD_GLUE = """import json as _json
def glue(name, value, display=True):  # records the number for the editions
    value = value.item() if hasattr(value, "item") else value
    print("\\x00glue" + _json.dumps([name, value if isinstance(value, (int, float, str)) else str(value)]))"""


def measure_numbers(src_dir=None, timeout_s: int = 900) -> dict:
    """Run every source notebook (with its solutions) and collect the numbers it glues:
    ``{notebook: {name: value}}``."""
    import json

    import nbclient
    import nbformat
    from nbformat.v4 import new_code_cell

    src = Path(src_dir) if src_dir is not None else default_source()
    out = {}
    for a in ASSIGNMENTS:
        nb = nbformat.read(str(src / a.notebook), as_version=4)
        nb.cells.insert(1, new_code_cell(_RECORD_GLUE))
        nbclient.NotebookClient(nb, timeout=timeout_s, kernel_name="python3",
                                resources={"metadata": {"path": str(src)}}).execute()
        values = {}
        for cell in nb.cells:
            for o in cell.get("outputs", []):
                for line in o.get("text", "").splitlines() if o.get("output_type") == "stream" else []:
                    if line.startswith("\x00glue"):
                        name, value = json.loads(line[len("\x00glue"):])
                        values[name] = value
        out[a.notebook] = dict(sorted(values.items()))
    return out


def write_numbers(path=None, src_dir=None) -> Path:
    """Measure the numbers (:func:`measure_numbers`) and write them with the provenance header."""
    from classp._io import write_json
    from classp._provenance import header

    doc = header(NUMBERS_SCHEMA, "python scripts/editions.py numbers")
    doc["notebooks"] = measure_numbers(src_dir)
    return write_json(Path(path or NUMBERS_FILE), doc)


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
    """``python scripts/editions.py {build,list,numbers}``.

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
    sub.add_parser("numbers", help=f"run the sources and write the numbers their Markdown shows ({NUMBERS_FILE.name})")
    args = parser.parse_args(argv)
    if args.command == "list":
        print(list_assignments())
        return 0
    if args.command == "numbers":
        print(write_numbers())
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
