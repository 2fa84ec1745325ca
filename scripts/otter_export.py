#!/usr/bin/env python
"""otter-grader export of the assignments: ``python scripts/otter_export.py --out DIR``.

Writes ``DIR/<assignment>.ipynb`` in otter-grader's assignment format (``otter assign DIR/a1_from_scratch.ipynb
dist/`` then builds the student notebook and the Gradescope autograder zip): an ``# ASSIGNMENT
CONFIG`` raw cell, and for every checked task a question (``# BEGIN QUESTION`` with its name
``q<a>_<t>`` and points), its solution block (otter's ``# BEGIN SOLUTION`` / ``# END SOLUTION``
markers in the code, where the sources have nbgrader's ``### BEGIN SOLUTION``), the instant
check cell, and a hidden test that grades the answer in a fresh process
(``checks.grade``). Model answers of written tasks are left out (grade them on Gradescope by
hand).
"""
from __future__ import annotations

import argparse
import copy
import importlib.util
import sys
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[1]


def _editions():
    spec = importlib.util.spec_from_file_location("scripts_editions", ROOT / "scripts" / "editions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def otter_notebook(nb, name: str = "notebook", requirements: str | None = None):
    """The otter-grader source notebook of an assignment source notebook (not modified)."""
    from nbformat.v4 import new_code_cell, new_raw_cell

    from classp.teaching.checks import TASKS

    E = _editions()
    E._validate(nb, name)
    src = E.plain_notebook(E._cleared(nb), name, numbers=E.load_numbers().get(name, {}))  # plain Jupyter Markdown
    config = ["# ASSIGNMENT CONFIG", "init_cell: false", "check_all_cell: false", "export_cell: false",
              "generate: true", "run_tests: false"]
    if requirements:
        config.append(f"requirements: {requirements}")
    cells = [new_raw_cell("\n".join(config))]
    for i, cell in enumerate(src.cells):
        where = f"{name}, cell {i}"
        if E._is_solution(cell) and cell["cell_type"] == "markdown":
            continue  # written tasks: graded by hand
        if E._is_solution(cell):
            task = E._task_of(cell, where)
            info = TASKS[task]
            if info.graded != "auto":
                continue
            q = "q" + task.replace(".", "_")
            cells.append(new_raw_cell(f"# BEGIN QUESTION\nname: {q}\npoints: {info.points}"))
            cells.append(new_raw_cell("# BEGIN SOLUTION"))
            body = copy.deepcopy(cell)
            body["source"] = body["source"].replace(E.BEGIN_SOLUTION, "# BEGIN SOLUTION").replace(
                E.END_SOLUTION, "# END SOLUTION")
            body["metadata"].pop("nbgrader", None)
            body["metadata"]["tags"] = []
            cells.append(body)
            cells.append(new_raw_cell("# END SOLUTION"))
            continue
        if E._is_check(cell):
            m = E._CHECK_CALL.search(cell["source"].strip())
            var, task, arguments = m.group(1), f"{m.group(2)}.{m.group(3)}", m.group(4).strip()
            check = copy.deepcopy(cell)
            check["metadata"].pop("nbgrader", None)
            cells.append(check)
            cells.append(new_raw_cell("# BEGIN TESTS"))
            cells.append(new_code_cell(
                '""" # BEGIN TEST CONFIG\nhidden: true\n""" # END TEST CONFIG\n'
                f"assert checks.grade({task!r}, {arguments}, verbose=False).passed, "
                f"'task {task} did not pass its hidden cases'"))
            cells.append(new_raw_cell("# END TESTS"))
            cells.append(new_raw_cell("# END QUESTION"))
            continue
        c = copy.deepcopy(cell)
        c["metadata"].pop("nbgrader", None)
        cells.append(c)
    out = copy.deepcopy(src)
    out.cells = cells
    for c in out.cells:
        c.pop("id", None)
    out.nbformat_minor = 4
    return out


def main(argv: Sequence[str] | None = None) -> int:
    import nbformat

    from classp._io import write_text
    from classp.teaching.assignments import ASSIGNMENTS

    parser = argparse.ArgumentParser(prog="python scripts/otter_export.py", description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--force", action="store_true", help="overwrite files that differ")
    parser.add_argument("--requirements", default=None, help="requirements file otter puts in the autograder")
    args = parser.parse_args(argv)
    E = _editions()
    try:
        out, _ = E.check_paths(args.out, E.default_source())
        texts = {}
        for a in ASSIGNMENTS:
            nb = nbformat.read(str(E.default_source() / a.notebook), as_version=4)
            texts[out / a.notebook] = E._dumps(otter_notebook(nb, a.notebook, args.requirements))
        clash = [p for p, t in texts.items() if p.exists() and p.read_text(encoding="utf-8") != t]
        if clash and not args.force:
            raise ValueError(f"{clash[0]} exists and differs; pass --force to overwrite it")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for p, t in texts.items():
        write_text(p, t)
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
