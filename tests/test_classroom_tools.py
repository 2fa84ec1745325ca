"""The classroom kit (issue 15): one command writes the editions, a wheel of classp, an nbgrader
course folder and the otter-grader export; the student edition installs the package from that
wheel; the real otter-grader grades four submissions of an assignment (tests/teaching/submissions.py).
(The real nbgrader cycle is tests/scripts/test_editions.py::test_nbgrader_cycle.)"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import nbformat
import pytest

from classp.teaching.assignments import ASSIGNMENTS

ROOT = Path(__file__).resolve().parents[1]


def _load_path(path):
    spec = importlib.util.spec_from_file_location(f"scripts_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load(name):
    return _load_path(ROOT / "scripts" / f"{name}.py")


K = _load("classroom_kit")


def test_the_kit_is_built_by_one_command(tmp_path):
    out = tmp_path / "kit"
    assert K.main(["--out", str(out), "--no-wheel"]) == 0
    config = (out / "nbgrader" / "nbgrader_config.py").read_text()
    assert f"c.ExecutePreprocessor.timeout = {K.CELL_TIMEOUT_S}" in config and K.CELL_TIMEOUT_S > 30
    for a in ASSIGNMENTS:
        src = nbformat.read(str(out / "nbgrader" / "source" / f"a{a.number}" / a.notebook), as_version=4)
        assert any("### BEGIN HIDDEN TESTS" in c.source for c in src.cells)
        student = nbformat.read(str(out / "student" / a.notebook), as_version=4)
        first = student.cells[0].source
        assert "--no-index --find-links ../wheel classp" in first and "git+https" not in first
        otter = nbformat.read(str(out / "otter" / a.notebook), as_version=4)
        assert otter.cells[0].source.startswith("# ASSIGNMENT CONFIG")
    # a rerun is fine; an edited file is not overwritten without --force
    assert K.main(["--out", str(out), "--no-wheel"]) == 0
    (out / "nbgrader" / "nbgrader_config.py").write_text("edited")
    assert K.main(["--out", str(out), "--no-wheel"]) == 2
    assert (out / "nbgrader" / "nbgrader_config.py").read_text() == "edited"
    assert K.main(["--out", str(out), "--no-wheel", "--force"]) == 0


@pytest.mark.slow
def test_the_student_edition_installs_classp_from_the_kits_wheel(tmp_path):
    """The student edition's first cell installs from ../wheel with no index: run that pip command
    from kit/student/ (into a target folder, torch being there already)."""
    import subprocess
    import sys

    out = tmp_path / "kit"
    assert K.main(["--out", str(out)]) == 0
    wheels = list((out / "wheel").glob("classp-*.whl"))
    assert len(wheels) == 1
    line = nbformat.read(str(out / "student" / ASSIGNMENTS[0].notebook), as_version=4).cells[0].source
    args = line.split("%pip install", 1)[1].split("#")[0].split()
    assert args == ["-q", "--no-index", "--find-links", "../wheel", "classp"]
    proc = subprocess.run([sys.executable, "-m", "pip", "install", *args, "--no-deps", "--target", str(tmp_path / "t")],
                          cwd=out / "student", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "t" / "classp" / "teaching" / "checks.py").is_file()


@pytest.mark.parametrize("where", ["book", "book/assignments/x", "classp"])
def test_the_kit_refuses_to_write_over_the_sources(where, capsys):
    assert K.main(["--out", str(ROOT / where), "--no-wheel"]) == 2
    assert "error:" in capsys.readouterr().err
    assert not (ROOT / where / "nbgrader").exists()


# ------------------------------------------------------------------------------------------------ otter-grader
O = _load("otter_export")

def test_otter_notebooks_have_otters_markers(tmp_path):
    assert O.main(["--out", str(tmp_path / "otter")]) == 0
    for a in ASSIGNMENTS:
        nb = nbformat.read(str(tmp_path / "otter" / a.notebook), as_version=4)
        text = "\n".join(c.source for c in nb.cells)
        assert nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("# ASSIGNMENT CONFIG")
        assert "### BEGIN SOLUTION" not in text and "# BEGIN SOLUTION" in text
        markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert "{cite}" not in markdown and "{glue" not in markdown and "```{" not in markdown  # plain Markdown
        n_auto = sum(t.graded == "auto" for t in a.tasks)
        assert text.count("# BEGIN QUESTION") == text.count("# BEGIN TESTS") == n_auto
        assert text.count("checks.grade(") == n_auto
    assert O.main(["--out", str(ROOT / "book")]) == 2


SUBMISSIONS = _load_path(ROOT / "tests" / "teaching" / "submissions.py")
#: The real otter-grader grades assignment 4 (a function and a list of runs, sent pickled to the
#: grader) in every test run; 1, 2 and 3 take the same path (checks.grade, like nbgrader's hidden
#: tests, which test_nbgrader_cycle runs on all four) and run with CLASSP_OTTER_ALL=1: each
#: assignment costs 1.5-2.5 minutes here, and CI's time is kept for nbgrader's full cycle.
OTTER_ALL = os.environ.get("CLASSP_OTTER_ALL") == "1"
OTTER_ASSIGNMENTS = [a if a.number == 4 else
                     pytest.param(a, marks=pytest.mark.skipif(not OTTER_ALL, reason="set CLASSP_OTTER_ALL=1"))
                     for a in ASSIGNMENTS]

#: `otter run` is `otter.run.main`; this driver calls it for every submission of one assignment in
#: one process (otter's start-up, ~5 s of CPU, is paid once, not once per submission).
_OTTER_RUN = """
import json, sys
import otter.run
out = {}
for name, path in json.loads(sys.argv[2]).items():
    results = otter.run.main(path, autograder=sys.argv[1], output_dir=None, no_logo=True)
    out[name] = {t: results.get_score(t) for t in results.test_files}
print("SCORES" + json.dumps(out))
"""


@pytest.mark.book
@pytest.mark.slow
@pytest.mark.parametrize("a", OTTER_ASSIGNMENTS, ids=[f"a{a.number}" for a in ASSIGNMENTS])
def test_otter_assign_and_run(a, tmp_path):
    """The real otter-grader: `otter assign` builds the student notebook and the Gradescope zip;
    otter's grader (`otter run`, what Gradescope runs) scores a right, a wrong, an empty and a
    differently-written submission: every point of the checked tasks, 0, 0, every point."""
    import json
    import subprocess
    import sys

    pytest.importorskip("otter")
    assert O.main(["--out", str(tmp_path / "src")]) == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLASSP_")}
    env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    otter = str(Path(sys.executable).parent / "otter")
    proc = subprocess.run([otter, "assign", str(tmp_path / "src" / a.notebook), str(tmp_path / "dist")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    zips = list((tmp_path / "dist" / "autograder").glob("*.zip"))
    assert len(zips) == 1
    student_text = "\n".join(c.source for c in nbformat.read(str(tmp_path / "dist" / "student" / a.notebook),
                                                             as_version=4).cells)
    solution_lines = SUBMISSIONS.solution_lines(a.notebook)
    assert solution_lines and not [ln for ln in solution_lines if ln in student_text]
    paths = {}
    for case in SUBMISSIONS.CASES:
        nb = nbformat.read(str(tmp_path / "dist" / "student" / a.notebook), as_version=4)
        answers = SUBMISSIONS.submission(a.notebook, case)
        assert SUBMISSIONS.fill(nb, answers) == len(answers)
        paths[case] = str(tmp_path / f"{case}.ipynb")
        nbformat.write(nb, paths[case])
    proc = subprocess.run([sys.executable, "-c", _OTTER_RUN, str(zips[0]), json.dumps(paths)], capture_output=True,
                          text=True, cwd=tmp_path, timeout=1800, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    scores = json.loads(proc.stdout.split("SCORES")[-1])
    full = {f"q{t.task.replace('.', '_')}": float(t.points) for t in a.tasks if t.graded == "auto"}
    assert scores == {"right": full, "alternative": full,
                      "wrong": dict.fromkeys(full, 0.0), "empty": dict.fromkeys(full, 0.0)}
