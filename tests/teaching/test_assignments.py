"""Tests of classp.teaching.assignments and of the assignment notebooks: the editions, their metadata, the
timings file, the lab adapter, and (slow) that the editions execute as promised."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from classp.teaching import assignments as A
from classp.teaching.assignments import ASSIGNMENTS, BEGIN_SOLUTION, END_SOLUTION
from classp.teaching.checks import TASKS

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "book" / "assignments"
NOTEBOOKS = [a.notebook for a in ASSIGNMENTS]


def read(path):
    return nbformat.read(str(path), as_version=4)


def is_solution(cell):
    return "solution" in cell.metadata.get("tags", [])


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


def solution_lines(cell) -> list[str]:
    """The lines between the solution markers (code) or the whole model answer (Markdown)."""
    if cell.cell_type == "markdown":
        return cell.source.split("\n")
    out, inside = [], False
    for line in cell.source.split("\n"):
        if line.strip() == BEGIN_SOLUTION:
            inside = True
        elif line.strip() == END_SOLUTION:
            inside = False
        elif inside:
            out.append(line)
    return out


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    out = tmp_path_factory.mktemp("editions")
    A.build_editions(out, SRC)
    return out


# ------------------------------------------------------------------------------------------------
# the build
# ------------------------------------------------------------------------------------------------
def test_build_writes_both_editions(tmp_path):
    written = A.build_editions(tmp_path, SRC)
    assert written == sorted(tmp_path / e / nb for e in ("student", "teacher") for nb in NOTEBOOKS)
    for path in written:
        nbformat.validate(read(path))


def test_build_is_deterministic(tmp_path):
    A.build_editions(tmp_path / "one", SRC)
    A.build_editions(tmp_path / "two", SRC)
    first = {p.relative_to(tmp_path / "one"): p.read_bytes() for p in (tmp_path / "one").rglob("*.ipynb")}
    second = {p.relative_to(tmp_path / "two"): p.read_bytes() for p in (tmp_path / "two").rglob("*.ipynb")}
    assert first == second and len(first) == 2 * len(NOTEBOOKS)
    A.build_editions(tmp_path / "one", SRC)  # rebuilding in place changes nothing
    assert {p.relative_to(tmp_path / "one"): p.read_bytes() for p in (tmp_path / "one").rglob("*.ipynb")} == first


def test_cli(tmp_path, capsys):
    assert A.main(["build", "--out", str(tmp_path), "--src", str(SRC)]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(p) for p in sorted(tmp_path / e / nb for e in ("student", "teacher") for nb in NOTEBOOKS)]
    assert A.main(["list"]) == 0
    out = capsys.readouterr().out
    for t in TASKS.values():
        assert f"task {t.task}: {t.title} ({t.points} points" in out
    assert A.main(["build", "--out", str(tmp_path), "--src", str(tmp_path / "nowhere")]) == 2
    assert "src_dir must be a folder" in capsys.readouterr().err


def test_cli_as_module(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "classp.teaching.assignments", "build", "--out", str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "student").iterdir()) == sorted(NOTEBOOKS)


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_no_solution_text_survives_in_the_student_edition(editions, notebook):
    source = read(SRC / notebook)
    student_text = (editions / "student" / notebook).read_text(encoding="utf-8")
    student = read(editions / "student" / notebook)
    shared = {line.strip() for c in source.cells if not is_solution(c) for line in c.source.split("\n")}
    n_checked = 0
    for cell in source.cells:
        if not is_solution(cell):
            continue
        for line in solution_lines(cell):
            s = line.strip()
            if len(s) < 8 or s in shared:  # blank lines, ":::" and lines that also occur in the task text
                continue
            assert all(s not in c.source for c in student.cells), (notebook, s)
            assert json.dumps(s)[1:-1] not in student_text, (notebook, s)
            n_checked += 1
    assert n_checked >= 10


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_other_cell_survives_unchanged(editions, notebook):
    source, student = read(SRC / notebook), read(editions / "student" / notebook)
    assert len(source.cells) == len(student.cells)
    for a, b in zip(source.cells, student.cells):
        assert a.id == b.id and a.cell_type == b.cell_type
        if not is_solution(a):
            assert a.source == b.source and a.metadata == b.metadata
    assert source.metadata == student.metadata


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_student_solution_cells_become_stubs(editions, notebook):
    source, student = read(SRC / notebook), read(editions / "student" / notebook)
    for a, b in zip(source.cells, student.cells):
        if not is_solution(a):
            continue
        task = re.match(r"task_(\d+)_(\d+)_", grade_id(a)).groups()
        task = ".".join(task)
        assert b.metadata["nbgrader"] == a.metadata["nbgrader"]
        assert b.metadata["tags"] == ["solution"]  # the folding tags are gone
        if a.cell_type == "markdown":
            assert b.source == f"**Your answer (task {task}).** YOUR ANSWER HERE"
            continue
        before = a.source.split(BEGIN_SOLUTION)[0]
        assert b.source.startswith(before.rstrip(" "))  # the def line and the docstring stay
        assert f'raise NotImplementedError("task {task}: write your code here")' in b.source
        assert BEGIN_SOLUTION not in b.source and END_SOLUTION not in b.source
        compile(b.source.replace("%pip", "#"), notebook, "exec")  # the stub is valid Python


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_teacher_edition_is_the_source_plus_hidden_tests(editions, notebook):
    source, teacher = read(SRC / notebook), read(editions / "teacher" / notebook)
    assert len(source.cells) == len(teacher.cells)
    n_checks = 0
    for a, b in zip(source.cells, teacher.cells):
        assert a.metadata == b.metadata and a.id == b.id
        if grade_id(a).endswith("_check"):
            n_checks += 1
            var = re.match(r"(result_\d+_\d+) = checks\.", a.source).group(1)
            task = var[len("result_"):].replace("_", ".")
            assert b.source == (a.source + "\n### BEGIN HIDDEN TESTS\n"
                                f'assert {var}.passed, "task {task} did not pass its check"\n'
                                "### END HIDDEN TESTS")
        else:
            assert a.source == b.source
    assert n_checks == sum(t.graded == "auto" for t in TASKS.values() if f"a{t.assignment}_" in notebook)


@pytest.mark.parametrize("edition", ["student", "teacher"])
def test_editions_have_no_outputs(editions, edition):
    for notebook in NOTEBOOKS:
        for cell in read(editions / edition / notebook).cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None


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
            assert "hide-input" in cell.metadata["tags"]  # folded on the website
        if is_solution(cell) and cell.cell_type == "markdown":
            assert cell.source.startswith(":::{admonition} Model answer") and ":class: dropdown" in cell.source
    body = "\n".join(c.source for c in code)
    assert "optimizer.step()" not in body and ".backward()" not in body.replace(
        "F.cross_entropy(model(x), y).backward()", "")  # training goes through classp.run
    assert "```{bibliography}" in nb.cells[-1].source


# ------------------------------------------------------------------------------------------------
# validation of malformed sources
# ------------------------------------------------------------------------------------------------
def tiny(cells):
    nb = new_notebook(cells=cells)
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i}"
    return nb


def sol_meta(gid="task_1_1_solution"):
    return {"tags": ["solution", "hide-input"], "nbgrader": {"grade": False, "grade_id": gid, "locked": False,
                                                              "schema_version": 3, "solution": True, "task": False}}


def test_stub_region_keeps_indentation_and_surroundings():
    src = "def f(x):\n    \"\"\"Doc.\"\"\"\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n    ### END SOLUTION\nz = 1"
    nb = tiny([new_code_cell(src, metadata=sol_meta())])
    out = A.student_notebook(nb).cells[0].source
    assert out == ('def f(x):\n    """Doc."""\n    # YOUR CODE HERE (task 1.1)\n'
                   '    raise NotImplementedError("task 1.1: write your code here")\nz = 1')


@pytest.mark.parametrize("cells, message", [
    ([new_code_cell("x = 1", metadata=sol_meta())], "must mark its solution"),
    ([new_code_cell("### BEGIN SOLUTION\nx = 1", metadata=sol_meta())], "without ### END SOLUTION"),
    ([new_code_cell("x = 1\n### END SOLUTION", metadata=sol_meta())], "without ### BEGIN SOLUTION"),
    ([new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")], "without the tag 'solution'"),
    ([new_code_cell("### BEGIN SOLUTION\nx=1\n### END SOLUTION", metadata=sol_meta()),
      new_code_cell("### BEGIN SOLUTION\ny=1\n### END SOLUTION", metadata=sol_meta())], "duplicate nbgrader grade_id"),
    ([new_code_cell("### BEGIN SOLUTION\nx=1\n### END SOLUTION", metadata=sol_meta("bad id"))], "grade_id like"),
])
def test_malformed_sources_raise(cells, message):
    with pytest.raises(ValueError, match=message):
        A.student_notebook(tiny(cells), "x.ipynb")


def test_check_cell_must_assign_its_result():
    meta = {"nbgrader": {"grade": True, "grade_id": "task_1_1_check", "locked": True, "points": 10,
                         "schema_version": 3, "solution": False, "task": False}}
    with pytest.raises(ValueError, match="must assign its result"):
        A.teacher_notebook(tiny([new_code_cell("checks.check_adagrad_step(f)", metadata=meta)]))


def test_missing_source_folder_or_notebook(tmp_path):
    with pytest.raises(ValueError, match="src_dir must be a folder"):
        A.build_editions(tmp_path / "out", tmp_path / "missing")
    (tmp_path / "src").mkdir()
    with pytest.raises(ValueError, match="missing assignment notebook"):
        A.build_editions(tmp_path / "out", tmp_path / "src")


# ------------------------------------------------------------------------------------------------
# registry, outlines, words and timings
# ------------------------------------------------------------------------------------------------
def test_registry():
    assert [a.number for a in ASSIGNMENTS] == [1, 2, 3, 4]
    for a in ASSIGNMENTS:
        assert (SRC / a.notebook).is_file()
        assert 30 <= a.minutes[0] <= a.minutes[1] <= 90
        assert a.points == sum(t.points for t in a.tasks) == 30
        assert all(re.fullmatch(r"\d\d_[a-z_]+", c) for c in a.chapters)
    assert A.get_assignment(3).slug == "a3_ewc"
    with pytest.raises(ValueError, match="number must be one of"):
        A.get_assignment(9)


def test_index_page_links_every_assignment():
    text = (SRC / "index.md").read_text(encoding="utf-8")
    for a in ASSIGNMENTS:
        assert f"]({a.notebook})" in text


def test_count_words_and_reading_time():
    nb = tiny([new_markdown_cell("# A title\n\nTwo words, $x^2 + y$ and {cite}`key` here.\n:class: tip"),
               new_code_cell("print('not counted')")])
    # "A title Two words and x here": the math and the option line are left out, a role counts as one word
    assert A.count_words(nb) == 7
    assert A.reading_minutes(300) == 2.0 and A.reading_minutes(300, wpm=100) == 3.0
    with pytest.raises(ValueError, match="words must be >= 0"):
        A.reading_minutes(-1)
    with pytest.raises(ValueError, match="wpm must be > 0"):
        A.reading_minutes(10, wpm=0)


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


def test_timings_file_in_the_book_is_valid():
    path = ROOT / "book" / "results" / "timings.json"
    if not path.is_file():
        pytest.skip("book/results/timings.json not written yet (python -m classp.teaching.assignments timings)")
    doc = A.load_timings(path)
    assert doc["command"] == "python -m classp.teaching.assignments timings"
    for name, entry in doc["notebooks"].items():
        assert (ROOT / name).is_file(), name
        assert entry["reading_min"] == round(A.reading_minutes(entry["words"]), 1)
        assert entry["status"] == "ok" or entry["status"].startswith("error: ")


def test_measure_timings_on_a_tiny_book(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    nbformat.write(tiny([new_markdown_cell("# One\n\nfive words of prose here"), new_code_cell("x = 1 + 1")]),
                   str(book / "01_one.ipynb"))
    nbformat.write(tiny([new_code_cell("raise ValueError('broken chapter')")]), str(book / "02_two.ipynb"))
    messages = []
    doc = A.measure_timings(book, only=["01_"], log=messages.append)
    assert list(doc["notebooks"]) == ["book/01_one.ipynb"]
    e = doc["notebooks"]["book/01_one.ipynb"]
    assert e["status"] == "ok" and e["exec_s"] >= 0 and e["words"] == 6 and e["code_cells"] == 1
    assert doc == A.load_timings(book / "results" / "timings.json")
    doc = A.measure_timings(book, only=["02_"], log=messages.append)  # the first entry is kept
    assert set(doc["notebooks"]) == {"book/01_one.ipynb", "book/02_two.ipynb"}
    assert doc["notebooks"]["book/02_two.ipynb"]["status"].startswith("error: CellExecutionError")
    assert len(messages) == 2 and messages[0].startswith("book/01_one.ipynb: ")
    assert A.main(["timings", "--book", str(book), "--only", "02_"]) == 1  # a failing notebook fails the command
    assert A.main(["timings", "--book", str(book), "--only", "01_"]) == 0  # failures of notebooks not run don't


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
    opt_a = A.StepOptimizer(a.parameters(), classp_fn, lr=0.1, **hp)
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
    with pytest.raises(ValueError, match="lr must be a number > 0"):
        A.StepOptimizer(a.parameters(), classp_fn, lr=0.0)
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


# ------------------------------------------------------------------------------------------------
# execution (slow): student editions stop at the first stub, teacher editions run to the end
# ------------------------------------------------------------------------------------------------
def execute(path, cwd):
    import nbclient

    nb = read(path)
    client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    error = None
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        error = exc
    return nb, error


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_student_edition_runs_to_the_first_stub(editions, notebook, tmp_path):
    nb, error = execute(editions / "student" / notebook, tmp_path)
    assert error is not None and error.ename == "NotImplementedError"
    errors = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and
              any(o.output_type == "error" for o in c.outputs)]
    first = errors[0]
    assert errors == [first]
    out = next(o for o in nb.cells[first].outputs if o.output_type == "error")
    assert re.fullmatch(r"task \d\.\d: write your code here", out.evalue)  # raised by a stub
    assert any(is_solution(c) for c in nb.cells[:first])  # the stub is defined above the failing cell
    for cell in nb.cells[:first]:
        if cell.cell_type == "code":
            assert cell.execution_count is not None  # everything before it ran
    for cell in nb.cells[first + 1:]:
        if cell.cell_type == "code":
            assert cell.execution_count is None and cell.outputs == []


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_teacher_edition_runs_fully_and_passes_its_checks(editions, notebook, tmp_path):
    nb, error = execute(editions / "teacher" / notebook, tmp_path)
    assert error is None, error
    n = 0
    for cell in nb.cells:
        if grade_id(cell).endswith("_check"):
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert re.search(r"^Task \d\.\d \(.*\): PASSED, (\d+)/\1 points$", text, re.M), text
            n += 1
    assert n >= 2


@pytest.mark.slow
def test_nbgrader_cycle(editions, tmp_path):
    """With nbgrader installed: generate, autograde a right, an empty and a wrong submission."""
    pytest.importorskip("nbgrader")
    nbgrader = [sys.executable, "-m", "nbgrader"]
    course = tmp_path / "course"
    (course / "source" / "a1").mkdir(parents=True)
    shutil.copy(editions / "teacher" / "a1_from_scratch.ipynb", course / "source" / "a1")
    (course / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.course_id = 'classp'\n"
                                                f"c.CourseDirectory.root = {str(course)!r}\n")

    # nbgrader calls the `alembic` script of its environment, so that environment's bin/ goes on PATH
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))

    def sh(*args):
        proc = subprocess.run(nbgrader + list(args), cwd=course, capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    sh("db", "assignment", "add", "a1")
    for student in ("right", "empty", "wrong"):
        sh("db", "student", "add", student)
    sh("generate_assignment", "a1", "--force")
    release = read(course / "release" / "a1" / "a1_from_scratch.ipynb")
    assert "HIDDEN TESTS" not in json.dumps(release) and "BEGIN SOLUTION" not in json.dumps(release)
    teacher = {grade_id(c): c.source for c in read(editions / "teacher" / "a1_from_scratch.ipynb").cells}
    right = {k: v for k, v in teacher.items() if k.endswith(("_solution", "_answer"))}
    wrong = dict(right, task_1_2_solution=right["task_1_2_solution"].replace(
        "update = g * g > threshold", "update = (g * g).max() > threshold"))
    assert wrong != right
    for student, fill in (("right", right), ("empty", {}), ("wrong", wrong)):
        nb = read(course / "release" / "a1" / "a1_from_scratch.ipynb")
        for cell in nb.cells:
            cell.source = fill.get(grade_id(cell), cell.source)
        (course / "submitted" / student / "a1").mkdir(parents=True)
        nbformat.write(nb, str(course / "submitted" / student / "a1" / "a1_from_scratch.ipynb"))
    sh("autograde", "a1", "--force")
    sh("export")
    rows = (course / "grades.csv").read_text().splitlines()
    header = rows[0].split(",")
    scores = {r.split(",")[header.index("student_id")]: float(r.split(",")[header.index("raw_score")]) for r in rows[1:]}
    # checked tasks 1.1 (10) and 1.2 (15); the written task 1.3 waits for the teacher
    assert scores == {"right": 25.0, "empty": 0.0, "wrong": 10.0}
