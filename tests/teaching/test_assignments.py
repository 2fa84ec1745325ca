"""Tests of classp.teaching.assignments and of the assignment notebooks it lists: the registry, the
notebooks' metadata and conventions, what the book reads (timings file, chapter outlines), and the lab
adapter. The editions and the timings command are repository tooling: tests/scripts/."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from classp.teaching import assignments as A
from classp.teaching.assignments import ASSIGNMENTS
from classp.teaching.checks import TASKS

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "book" / "assignments"
NOTEBOOKS = [a.notebook for a in ASSIGNMENTS]


def read(path):
    return nbformat.read(str(path), as_version=4)


def is_solution(cell):
    return "solution" in cell.metadata.get("tags", [])


def tiny(cells):
    nb = new_notebook(cells=cells)
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i}"
    return nb


# ------------------------------------------------------------------------------------------------
# the registry
# ------------------------------------------------------------------------------------------------
def test_registry():
    assert [a.number for a in ASSIGNMENTS] == [1, 2, 3, 4]
    for a in ASSIGNMENTS:
        assert (SRC / a.notebook).is_file()
        assert 30 <= a.minutes[0] <= a.minutes[1] <= 90
        assert a.points == sum(t.points for t in a.tasks) == 30
        assert all(re.fullmatch(r"\d\d_[a-z_]+", c) for c in a.chapters)
    assert A.get_assignment(3).slug == "a3_ewc"
    assert A.get_assignment(np.int64(3)) is A.get_assignment(3)
    with pytest.raises(ValueError, match="number must be one of 1, 2, 3, 4; got 9"):
        A.get_assignment(9)
    with pytest.raises(ValueError, match="number must be an integer; got '3'"):
        A.get_assignment("3")


def test_index_page_links_every_assignment():
    text = (SRC / "index.md").read_text(encoding="utf-8")
    for a in ASSIGNMENTS:
        assert f"]({a.notebook})" in text


# ------------------------------------------------------------------------------------------------
# the source notebooks: metadata and the book's conventions
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_sources_are_stored_without_outputs(notebook):
    for cell in read(SRC / notebook).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_nbgrader_metadata_matches_the_registry():
    seen = {}
    for notebook in NOTEBOOKS:
        for cell in read(SRC / notebook).cells:
            md = cell.metadata.get("nbgrader")
            if md is None:
                continue
            assert set(md) >= {"grade", "grade_id", "locked", "schema_version", "solution", "task"}
            assert md["schema_version"] == 3 and md["task"] is False
            assert md["grade_id"] not in seen
            seen[md["grade_id"]] = (notebook, cell, md)
    for t in TASKS.values():
        a, k = t.task.split(".")
        nb = ASSIGNMENTS[int(a) - 1].notebook
        if t.graded == "auto":
            notebook, cell, md = seen[f"task_{a}_{k}_check"]
            assert (notebook, cell.cell_type) == (nb, "code")
            assert md["grade"] and md["locked"] and not md["solution"] and md["points"] == t.points
            assert re.match(rf"result_{a}_{k} = checks\.{t.check}\(", cell.source)
            assert f"task_{a}_{k}_solution" in seen
        else:
            notebook, cell, md = seen[f"task_{a}_{k}_answer"]
            assert (notebook, cell.cell_type) == (nb, "markdown")
            assert md["grade"] and md["solution"] and not md["locked"] and md["points"] == t.points
    for gid, (_, cell, md) in seen.items():
        if gid.endswith("_solution"):
            assert cell.cell_type == "code" and md["solution"] and not md["grade"] and "points" not in md


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.slug)
def test_notebook_states_what_how_and_points(assignment):
    nb = read(SRC / assignment.notebook)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    stated = dict(re.findall(r"^### Task (\d+\.\d+): .*\((\d+) points?\)$", text, re.M))
    assert stated == {t.task: str(t.points) for t in assignment.tasks}
    assert f"**Points:** {assignment.points} in all" in text
    for t in assignment.tasks:  # every task says what to write (or do) and how it is checked
        section = text.split(f"### Task {t.task}:")[1].split("### Task")[0]
        if t.graded == "auto":
            assert re.search(r"\*\*(Write|Find|Run|Design and run)\*\*", section), t.task
            assert f"**Checked by** `checks.{t.check}`" in section
        else:
            assert "answer" in section.lower() or "write" in section.lower()
    assert f"{assignment.minutes[0]}–{assignment.minutes[1]}" in text


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_book_conventions(notebook):
    nb = read(SRC / notebook)
    code = [c for c in nb.cells if c.cell_type == "code"]
    first = code[0]
    assert "hide-input" in first.metadata.get("tags", [])
    assert "except ImportError" in first.source and '%pip install -q "classp @ git+' in first.source
    assert nb.cells[1].cell_type == "markdown" and nb.cells[1].source.startswith("# Assignment ")
    assert "SEED = 0" in code[1].source and "torch.manual_seed(SEED)" in code[1].source
    for cell in nb.cells:
        if is_solution(cell) and cell.cell_type == "code":
            assert "remove-cell" in cell.metadata["tags"]  # not on the public website
        if is_solution(cell) and cell.cell_type == "markdown":
            assert "remove-cell" in cell.metadata["tags"]
            assert cell.source.startswith(":::{admonition} Model answer") and ":class: dropdown" in cell.source
    body = "\n".join(c.source for c in code)
    assert "optimizer.step()" not in body and ".backward()" not in body.replace(
        "F.cross_entropy(model(x), y).backward()", "")  # training goes through classp.run
    assert "```{bibliography}" in nb.cells[-1].source


# ------------------------------------------------------------------------------------------------
# what the book reads: chapter outlines and the timings file
# ------------------------------------------------------------------------------------------------
def test_chapter_outline(tmp_path):
    nb = tiny([new_code_cell("import classp"),
               new_markdown_cell("# Sparsity promotion\n\nIntro.\n\n```{admonition} Learning objectives\n:class: tip\n"
                                 "After this chapter you can\n\n- measure the scale of $g^2$;\n- choose a threshold\n"
                                 "  for a target density;\n- explain it.\n```\n\nMore text.\n\n- not a goal")])
    path = tmp_path / "04_sparsity.ipynb"
    nbformat.write(nb, str(path))
    assert A.chapter_outline(path) == {"title": "Sparsity promotion", "objectives": [
        "measure the scale of $g^2$;", "choose a threshold for a target density;", "explain it."]}
    nbformat.write(tiny([new_markdown_cell("no heading")]), str(tmp_path / "x.ipynb"))
    assert A.chapter_outline(tmp_path / "x.ipynb") == {"title": "x", "objectives": []}


def test_load_timings_validates(tmp_path):
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"schema": "other"}))
    with pytest.raises(ValueError, match="not a timings file"):
        A.load_timings(p)
    p.write_text(json.dumps({"schema": A.TIMINGS_SCHEMA, "command": "c", "created": "d", "machine": {},
                             "versions": {}, "words_per_minute": 150, "notebooks": {"a": {"exec_s": 1.0}}}))
    with pytest.raises(ValueError, match="entry 'a' misses 'status'"):
        A.load_timings(p)


def test_the_book_imports_only_what_the_package_keeps():
    """The pages that run at build time import these names from the package (the rest moved to scripts/)."""
    pages = [ROOT / "book" / "appendix" / "teachers_guide.md", SRC / "index.md"] + [SRC / nb for nb in NOTEBOOKS]
    imported = set()
    for page in pages:
        for names in re.findall(r"from classp\.teaching\.assignments import ([\w, ]+)", page.read_text("utf-8")):
            imported |= {n.strip() for n in names.split(",")}
    assert imported and imported <= set(A.__all__)


# ------------------------------------------------------------------------------------------------
# the lab adapter
# ------------------------------------------------------------------------------------------------
def classp_fn(w, g, grad_sum, lr, threshold, power, eps):
    m = (g * g > threshold).float()
    s = grad_sum + m * g.abs() ** power
    return w - m * lr * g / (eps + s) ** (1 / power), s


def test_step_optimizer_matches_classp():
    from classp import CLASSP

    torch.manual_seed(0)
    a, b = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    b.load_state_dict(a.state_dict())
    hp = dict(threshold=1e-3, power=1.0, eps=1e-8)
    opt_a = A.StepOptimizer(a.parameters(), classp_fn, lr=np.float32(0.1), **hp)
    opt_b = CLASSP(b.parameters(), lr=0.1, **hp)
    for _ in range(3):
        x = torch.randn(8, 4)
        for m, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            m(x).pow(2).mean().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, atol=1e-7)
        assert torch.allclose(opt_a.state[p]["sum"], opt_b.state[q]["grad_sum"])
    assert type(opt_a.defaults["lr"]) is float
    with pytest.raises(ValueError, match="lr must be a number > 0; got 0.0"):
        A.StepOptimizer(a.parameters(), classp_fn, lr=0.0)
    with pytest.raises(ValueError, match="lr must be a number > 0; got True"):
        A.StepOptimizer(a.parameters(), classp_fn, lr=True)
    with pytest.raises(ValueError, match="step_fn must be callable"):
        A.StepOptimizer(a.parameters(), None, lr=0.1)


def test_method_from_step_trains_like_the_package():
    from classp.lab.methods import get_method
    from classp.lab.train import run

    d = get_method("classp").defaults
    m = A.method_from_step(classp_fn, name="mine", lr=d["lr"], threshold=d["threshold"], power=d["power"],
                           eps=d["eps"])
    assert m.name == "mine" and m.option_names == ("threshold", "power", "eps")
    mine = run(m, "split-digits", seed=0, progress=False)
    theirs = run("classp", "split-digits", seed=0, progress=False)
    assert mine.method == "mine"
    np.testing.assert_array_equal(mine.accuracy_matrix, theirs.accuracy_matrix)
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        A.method_from_step(classp_fn, name="", lr=0.1)
    with pytest.raises(ValueError, match="lr must be a number > 0; got -0.1"):
        A.method_from_step(classp_fn, name="mine", lr=-0.1)
