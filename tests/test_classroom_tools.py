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
