"""The classroom kit (issue 15): one command writes the editions, a wheel of classp and an nbgrader
course folder; the student edition installs the package from that wheel. (The real nbgrader cycle
is tests/scripts/test_editions.py::test_nbgrader_cycle.)"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

from classp.teaching.assignments import ASSIGNMENTS

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


@pytest.mark.parametrize("where", ["book", "book/assignments/x", "classp"])
def test_the_kit_refuses_to_write_over_the_sources(where, capsys):
    assert K.main(["--out", str(ROOT / where), "--no-wheel"]) == 2
    assert "error:" in capsys.readouterr().err
    assert not (ROOT / where / "nbgrader").exists()


# ------------------------------------------------------------------------------------------------ otter-grader
O = _load("otter_export")

ADAGRAD_ALTERNATIVE = '''def adagrad_step(w, g, grad_sq_sum, lr, eps=1e-10):
    import numpy as np
    s = grad_sq_sum.numpy() + np.square(g.numpy())
    new_w = w.numpy() - lr * g.numpy() / (np.sqrt(s) + eps)
    return torch.from_numpy(new_w), torch.from_numpy(s)
'''
CLASSP_ALTERNATIVE = '''def classp_step(w, g, grad_sum, lr, threshold, power, eps):
    new_w, new_sum = w.clone().flatten(), grad_sum.clone().flatten()
    for i, gi in enumerate(g.flatten().tolist()):
        if gi * gi > threshold:
            new_sum[i] += abs(gi) ** power
            new_w[i] -= lr * gi / (eps + new_sum[i]) ** (1.0 / power)
    return new_w.reshape(w.shape), new_sum.reshape(w.shape)
'''


def test_otter_notebooks_have_otters_markers(tmp_path):
    assert O.main(["--out", str(tmp_path / "otter")]) == 0
    for a in ASSIGNMENTS:
        nb = nbformat.read(str(tmp_path / "otter" / a.notebook), as_version=4)
        text = "\n".join(c.source for c in nb.cells)
        assert nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("# ASSIGNMENT CONFIG")
        assert "### BEGIN SOLUTION" not in text and "# BEGIN SOLUTION" in text
        n_auto = sum(t.graded == "auto" for t in a.tasks)
        assert text.count("# BEGIN QUESTION") == text.count("# BEGIN TESTS") == n_auto
        assert text.count("checks.grade(") == n_auto
    assert O.main(["--out", str(ROOT / "book")]) == 2


def _otter_run(zip_path, notebook, out):
    import json
    import os
    import subprocess
    import sys

    out.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    otter = str(Path(sys.executable).parent / "otter")
    proc = subprocess.run([otter, "run", "-a", str(zip_path), "-o", str(out), str(notebook)], capture_output=True,
                          text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tests = json.loads((out / "results.json").read_text())["tests"]
    return {t["name"]: t["score"] for t in tests if t.get("name", "").startswith("q")}


@pytest.mark.book
@pytest.mark.slow
def test_otter_assign_and_run_score_right_wrong_empty_and_alternative(tmp_path):
    """The real otter-grader: `otter assign` builds the student notebook and the Gradescope zip;
    `otter run` (what Gradescope runs) scores a right, a wrong, an empty and a differently-written
    submission of assignment 1."""
    import subprocess
    import sys

    pytest.importorskip("otter")
    assert O.main(["--out", str(tmp_path / "src")]) == 0
    otter = str(Path(sys.executable).parent / "otter")
    proc = subprocess.run([otter, "assign", str(tmp_path / "src" / "a1_from_scratch.ipynb"), str(tmp_path / "dist")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env=dict(__import__("os").environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    zips = list((tmp_path / "dist" / "autograder").glob("*.zip"))
    assert len(zips) == 1
    student = nbformat.read(str(tmp_path / "dist" / "student" / "a1_from_scratch.ipynb"), as_version=4)
    assert "new_sum = grad_sq_sum + g * g" not in "\n".join(c.source for c in student.cells)
    right = nbformat.read(str(tmp_path / "dist" / "autograder" / "a1_from_scratch.ipynb"), as_version=4)

    def submission(name, replace):
        nb = nbformat.read(str(tmp_path / "dist" / "student" / "a1_from_scratch.ipynb"), as_version=4)
        for cell in nb.cells:
            for fn, src in replace.items():
                if cell.cell_type == "code" and cell.source.lstrip().startswith(f"def {fn}("):
                    cell.source = src
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(nb, str(path))
        return path

    sols = {fn: next(c.source for c in right.cells if c.source.lstrip().startswith(f"def {fn}("))
            for fn in ("adagrad_step", "classp_step")}
    wrong = {fn: s.replace("w - lr", "w + lr").replace("w - step", "w + step") for fn, s in sols.items()}
    cases = {"right": sols, "wrong": wrong, "empty": {},
             "alternative": {"adagrad_step": ADAGRAD_ALTERNATIVE, "classp_step": CLASSP_ALTERNATIVE}}
    scores = {name: _otter_run(zips[0], submission(name, rep), tmp_path / f"out_{name}")
              for name, rep in cases.items()}
    assert scores["right"] == scores["alternative"] == {"q1_1": 10.0, "q1_2": 15.0}
    assert scores["wrong"] == scores["empty"] == {"q1_1": 0.0, "q1_2": 0.0}
