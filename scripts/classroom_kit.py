#!/usr/bin/env python
"""The classroom kit, built by one command: ``python scripts/classroom_kit.py --out DIR``.

It writes, from this checkout:

* ``DIR/student/``, ``DIR/teacher/``: the two editions of the assignments (``scripts/editions.py``);
* ``DIR/wheel/``: a wheel of the ``classp`` package (``pip wheel``), so that a lab installs it
  with ``pip install DIR/wheel/classp-*.whl``, without network access to the repository;
* ``DIR/nbgrader/``: an nbgrader course folder: ``source/a<N>/`` holds each teacher edition, and
  ``nbgrader_config.py`` sets the course, the folder and a cell timeout of
  :data:`CELL_TIMEOUT_S` seconds (task 4.2's check re-runs every run of the experiment);
* ``DIR/otter/``: the assignments in otter-grader's format (``scripts/otter_export.py``), ready for
  ``otter assign DIR/otter/a1_from_scratch.ipynb dist/`` (student notebook and Gradescope zip).

``python scripts/classroom_kit.py --time-grading`` instead measures what autograding a submission
costs (:func:`time_grading`, ``book/results/grading_timings.json``, read by the teacher's guide).

The same refusals as the editions hold: nothing is overwritten without ``--force`` and ``--out``
may not hold the sources (or be inside them); every check runs before anything is written.
"""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[1]
#: nbgrader's per-cell timeout in the kit's course folder (its default, 30 s, is too short for 4.2).
CELL_TIMEOUT_S = 300


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _editions():
    return _load("editions")


def nbgrader_config(root: Path) -> str:
    """The text of the course folder's ``nbgrader_config.py``."""
    return ("c = get_config()  # noqa: F821  (nbgrader's config object)\n"
            "c.CourseDirectory.course_id = 'classp'\n"
            f"c.CourseDirectory.root = {str(root)!r}\n"
            f"c.ExecutePreprocessor.timeout = {CELL_TIMEOUT_S}  # seconds per cell; task 4.2 re-runs every run\n"
            "c.ClearSolutions.code_stub = {'python': '# YOUR CODE HERE\\nraise NotImplementedError()'}\n")


def build_kit(out_dir, *, force: bool = False, wheel: bool = True) -> list:
    """Write the kit into ``out_dir``; returns the files written (see the module docstring)."""
    from classp._io import write_text
    from classp.teaching.assignments import ASSIGNMENTS

    E = _editions()
    out = Path(out_dir).resolve()
    E.check_paths(out, E.default_source())
    E.check_paths(out, ROOT / "classp")
    course = out / "nbgrader"
    config = course / "nbgrader_config.py"
    text = nbgrader_config(course)
    if config.exists() and config.read_text(encoding="utf-8") != text and not force:
        raise ValueError(f"{config} exists and differs; pass --force to overwrite it")
    written = E.build_editions(out, force=force)
    texts = {config: text}
    import nbformat

    O = _load("otter_export")
    for a in ASSIGNMENTS:
        texts[course / "source" / f"a{a.number}" / a.notebook] = (out / "teacher" / a.notebook).read_text(
            encoding="utf-8")
        nb = nbformat.read(str(E.default_source() / a.notebook), as_version=4)
        texts[out / "otter" / a.notebook] = E._dumps(O.otter_notebook(nb, a.notebook))
    clash = [p for p, t in texts.items() if p.exists() and p.read_text(encoding="utf-8") != t]
    if clash and not force:
        raise ValueError(f"{clash[0]} exists and differs; pass --force to overwrite it")
    for p, t in texts.items():
        write_text(p, t)
    written += sorted(texts)
    if wheel:
        import shutil

        (out / "wheel").mkdir(parents=True, exist_ok=True)
        scratch = [d for d in (ROOT / "build", ROOT / "classp.egg-info") if not d.exists()]
        # offline: the build back-end of this environment, no index (a lab may have no network)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                        "--quiet", "-w", str(out / "wheel"), str(ROOT)], check=True)
        for d in scratch:  # setuptools' scratch folders in the checkout, if the build made them
            shutil.rmtree(d, ignore_errors=True)
        written += sorted((out / "wheel").glob("classp-*.whl"))
    return written


#: The measured cost of grading (``--time-grading``), read by the teacher's guide.
GRADING_TIMINGS = ROOT / "book" / "results" / "grading_timings.json"
GRADING_SCHEMA = "classp-grading-timings/1"


def time_grading(path=None, *, timeout_s: int = CELL_TIMEOUT_S) -> Path:
    """Measure what autograding one submission costs, per assignment, and write it to ``path``.

    Two submissions per assignment: ``right`` (the teacher edition: the solutions and the hidden
    tests) and ``empty`` (the student edition with the hidden tests put back), each run top to
    bottom in a fresh kernel as ``nbgrader autograde`` runs it (``OMP_NUM_THREADS=1``, one
    submission at a time). Recorded: wall-clock seconds, CPU seconds of the kernel and of the
    grading processes it starts (``getrusage`` of the children), and the points each hidden test
    gave, with the machine's one-minute load average after the run (above its number of cores, other
    work shared the CPU and the wall-clock time is an upper bound; the CPU time is not).
    """
    import os
    import resource
    import time

    import nbclient
    import nbformat

    from classp._io import write_json
    from classp._provenance import header
    from classp.teaching.assignments import ASSIGNMENTS

    E = _editions()
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ.pop("CLASSP_GRADING", None)
    doc = header(GRADING_SCHEMA, "python scripts/classroom_kit.py --time-grading")
    doc["assignments"] = {}
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        for a in ASSIGNMENTS:
            src = nbformat.read(str(E.default_source() / a.notebook), as_version=4)
            teacher = E.teacher_notebook(src, a.notebook)
            empty = E.student_notebook(src, a.notebook)
            for cell, t in zip(empty.cells, teacher.cells):
                if E._is_check(t):
                    cell["source"] = t["source"]  # autograde puts the hidden tests back
            entry = {}
            for case, nb in (("right", teacher), ("empty", empty)):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                nbclient.NotebookClient(nb, timeout=timeout_s, kernel_name="python3", allow_errors=True,
                                        resources={"metadata": {"path": work}}).execute()
                wall = time.perf_counter() - start
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
                points = []
                for cell in nb.cells:
                    if cell["cell_type"] == "code" and E._is_check(cell):
                        res = [o for o in cell["outputs"] if o["output_type"] == "execute_result"]
                        points.append(float(res[0]["data"]["text/plain"]) if res else 0.0)
                entry[case] = {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "points": points,
                               "load_1min": round(os.getloadavg()[0], 2)}
            doc["assignments"][a.notebook] = entry
            print(a.notebook, entry, flush=True)
    return write_json(Path(path or GRADING_TIMINGS), doc)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/classroom_kit.py", description=__doc__.split("\n")[0])
    parser.add_argument("--out", help="output folder (required unless --time-grading)")
    parser.add_argument("--force", action="store_true", help="overwrite files that differ")
    parser.add_argument("--no-wheel", action="store_true", help="skip the wheel of classp")
    parser.add_argument("--time-grading", action="store_true",
                        help=f"instead: measure the cost of autograding a submission, into {GRADING_TIMINGS.name}")
    args = parser.parse_args(argv)
    if args.time_grading:
        print(time_grading())
        return 0
    if not args.out:
        parser.error("the following arguments are required: --out")
    try:
        written = build_kit(args.out, force=args.force, wheel=not args.no_wheel)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for p in written:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
