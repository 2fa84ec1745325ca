"""Tests of scripts/editions.py: the student and teacher editions of the assignments, their command line,
and (slow) that the editions execute as promised and grade with nbgrader."""
from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from classp.teaching.assignments import ASSIGNMENTS
from classp.teaching.checks import TASKS

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "book" / "assignments"
SCRIPT = ROOT / "scripts" / "editions.py"
NOTEBOOKS = [a.notebook for a in ASSIGNMENTS]


def load_script(path: Path):
    """The script as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"scripts_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


E = load_script(SCRIPT)
BEGIN_SOLUTION, END_SOLUTION = E.BEGIN_SOLUTION, E.END_SOLUTION


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
    E.build_editions(out, SRC)
    return out


# ------------------------------------------------------------------------------------------------
# the build
# ------------------------------------------------------------------------------------------------
def test_build_writes_both_editions(tmp_path):
    written = E.build_editions(tmp_path, SRC)
    assert written == sorted(tmp_path / e / nb for e in ("student", "teacher") for nb in NOTEBOOKS)
    for path in written:
        nbformat.validate(read(path))


def test_build_is_deterministic(tmp_path):
    E.build_editions(tmp_path / "one", SRC)
    E.build_editions(tmp_path / "two", SRC)
    first = {p.relative_to(tmp_path / "one"): p.read_bytes() for p in (tmp_path / "one").rglob("*.ipynb")}
    second = {p.relative_to(tmp_path / "two"): p.read_bytes() for p in (tmp_path / "two").rglob("*.ipynb")}
    assert first == second and len(first) == 2 * len(NOTEBOOKS)
    E.build_editions(tmp_path / "one", SRC)  # rebuilding in place changes nothing
    assert {p.relative_to(tmp_path / "one"): p.read_bytes() for p in (tmp_path / "one").rglob("*.ipynb")} == first


def test_cli(tmp_path, capsys):
    assert E.main(["build", "--out", str(tmp_path), "--src", str(SRC)]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(p) for p in sorted(tmp_path / e / nb for e in ("student", "teacher") for nb in NOTEBOOKS)]
    assert E.main(["list"]) == 0
    out = capsys.readouterr().out
    for t in TASKS.values():
        assert f"task {t.task}: {t.title} ({t.points} points" in out
    assert "checked by classp.teaching.checks.check_classp_step" in out
    assert E.main(["build", "--out", str(tmp_path), "--src", str(tmp_path / "nowhere")]) == 2
    assert "src_dir must be a folder" in capsys.readouterr().err


def test_cli_as_a_script_from_another_folder(tmp_path):
    """``python scripts/editions.py build --out DIR`` finds the book next to itself, wherever it runs from."""
    proc = subprocess.run([sys.executable, str(SCRIPT), "build", "--out", "classroom"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for edition in ("student", "teacher"):
        assert sorted(p.name for p in (tmp_path / "classroom" / edition).iterdir()) == sorted(NOTEBOOKS)


def test_timings_are_not_an_editions_command(capsys):
    with pytest.raises(SystemExit) as info:  # they are scripts/timings.py
        E.main(["timings"])
    assert info.value.code == 2 and "invalid choice: 'timings'" in capsys.readouterr().err


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
    plain = E.plain_notebook(read(SRC / notebook), notebook, numbers=E.load_numbers()[notebook])
    for a, p, b in zip(source.cells, plain.cells, student.cells):
        assert a.id == b.id and a.cell_type == b.cell_type
        if not is_solution(a):  # the install line changes (the wheel shipped with the edition), Markdown is plain
            expected = a.source.replace(E.REPO_INSTALL, E.WHEEL_INSTALL) if a.cell_type == "code" else p.source
            assert expected == b.source and a.metadata == b.metadata
    assert source.metadata == student.metadata
    assert E.WHEEL_INSTALL in student.cells[0].source and "git+https" not in student.cells[0].source


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
    plain = E.plain_notebook(read(SRC / notebook), notebook, numbers=E.load_numbers()[notebook])
    for a, p, b in zip(source.cells, plain.cells, teacher.cells):
        assert a.metadata == b.metadata and a.id == b.id
        if grade_id(a).endswith("_check"):
            n_checks += 1
            m = re.match(r"(result_\d+_\d+) = checks\.check_\w+\((.*)\)$", a.source, re.S)
            var, arguments = m.group(1), m.group(2).strip()
            task = var[len("result_"):].replace("_", ".")
            assert b.source == (a.source + "\n### BEGIN HIDDEN TESTS\n"
                                f"{var} = checks.grade({task!r}, {arguments})\n"
                                f"### END HIDDEN TESTS\nchecks.score({var})")
        else:
            assert (a.source if a.cell_type == "code" else p.source) == b.source
    assert n_checks == sum(t.graded == "auto" for t in TASKS.values() if f"a{t.assignment}_" in notebook)


@pytest.mark.parametrize("edition", ["student", "teacher"])
def test_editions_have_no_outputs(editions, edition):
    for notebook in NOTEBOOKS:
        for cell in read(editions / edition / notebook).cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None


# ------------------------------------------------------------------------------------------------
# plain Jupyter Markdown (issue 15): Jupyter shows MyST roles and directives as literal text
# ------------------------------------------------------------------------------------------------
MYST = re.compile(r"\{[\w:-]+\}`|^\s*(`{3,}|:{3,})\{", re.M)


@pytest.mark.parametrize("edition", ["student", "teacher"])
def test_editions_are_plain_jupyter_markdown(editions, edition):
    numbers = E.load_numbers()
    for notebook in NOTEBOOKS:
        nb = read(editions / edition / notebook)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert not MYST.findall(text), (notebook, MYST.findall(text))
        links = re.findall(r"\]\(([^)\s]+)\)", text)
        assert links and all(t.startswith(("https://", "#")) for t in links), links
        assert "## References" in text and re.search(r"\n- [A-Z][^\n]+ \(\d{4}\)\. \*", text)  # cited works as text
        source_text = "\n".join(c.source for c in read(SRC / notebook).cells if c.cell_type == "markdown")
        glued = set(re.findall(r"\{glue(?::text)?\}`([^`:]+)", source_text))
        assert glued <= set(numbers[notebook]), glued - set(numbers[notebook])


def test_the_model_answers_show_the_measured_numbers(editions):
    """The teacher edition's model answers carry the numbers (formatted as the book formats them)."""
    numbers = E.load_numbers()["a2_threshold.ipynb"]
    answer = next(c.source for c in read(editions / "teacher" / "a2_threshold.ipynb").cells
                  if grade_id(c) == "task_2_5_answer")
    assert f"With $\\tau^\\star$ = {numbers['a2_tau_star']:.3g} the run" in answer
    assert answer.startswith("> **Model answer (task 2.5)**\n>\n> With")


def test_plain_markdown_by_hand():
    bib = E._bibliography()
    text = ("A {cite}`ludwig2024classp,kirkpatrick2017ewc` and {cite:t}`duchi2011adagrad`; "
            "τ = {glue:text}`tau:.2f`, {glue:text}`word`. See the [guide](../appendix/teachers_guide.md#grading), "
            "[a site](https://example.org) and [below](#summary).\n\n"
            ":::{admonition} Model answer\n:class: dropdown\nIt is {glue:text}`tau:.1e`.\n:::\n\n"
            "```{tip}\nRun it twice.\n```\n\n```{bibliography}\n:filter: docname in docnames\n```")
    out = E.plain_markdown(text, numbers={"tau": 0.123456, "word": "rises"}, bib=bib)
    assert out == ("A (Ludwig, 2024; Kirkpatrick et al., 2017) and Duchi et al. (2011); τ = 0.12, rises. See the "
                   "[guide](https://github.com/classp-book/classp-book/blob/main/book/appendix/teachers_guide.md#grading), "
                   "[a site](https://example.org) and [below](#summary).\n\n"
                   "> **Model answer**\n>\n> It is 1.2e-01.\n\n> **Tip**\n>\n> Run it twice.\n\n" + E._REFERENCES)
    with pytest.raises(ValueError, match="no number for \\{glue\\} 'nope'"):
        E.plain_markdown("{glue:text}`nope`", numbers={})
    with pytest.raises(ValueError, match="unknown citation key"):
        E.plain_markdown("{cite}`nobody2020`", bib=bib)
    with pytest.raises(ValueError, match="the MyST role \\{ref\\}"):
        E.plain_markdown("{ref}`teachers-guide`")
    with pytest.raises(ValueError, match="directive \\{figure\\} has no plain"):
        E.plain_markdown("```{figure} x.png\n```")
    with pytest.raises(ValueError, match="no closing"):
        E.plain_markdown(":::{note}\nopen")


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
    out = E.student_notebook(nb).cells[0].source
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
        E.student_notebook(tiny(cells), "x.ipynb")


def test_check_cell_must_assign_its_result():
    meta = {"nbgrader": {"grade": True, "grade_id": "task_1_1_check", "locked": True, "points": 10,
                         "schema_version": 3, "solution": False, "task": False}}
    with pytest.raises(ValueError, match="must assign its result"):
        E.teacher_notebook(tiny([new_code_cell("checks.check_adagrad_step(f)", metadata=meta)]))


def test_missing_source_folder_or_notebook(tmp_path):
    with pytest.raises(ValueError, match="src_dir must be a folder"):
        E.build_editions(tmp_path / "out", tmp_path / "missing")
    (tmp_path / "src").mkdir()
    with pytest.raises(ValueError, match="missing assignment notebook"):
        E.build_editions(tmp_path / "out", tmp_path / "src")
    assert not (tmp_path / "out").exists()


def test_a_malformed_source_writes_nothing(tmp_path):
    """The build checks every notebook before it writes a file: a bad last notebook leaves no edition behind."""
    src = tmp_path / "src"
    shutil.copytree(SRC, src)
    last = src / NOTEBOOKS[-1]
    nb = read(last)
    cell = next(c for c in nb.cells if is_solution(c) and c.cell_type == "code")
    cell.source = cell.source.replace(BEGIN_SOLUTION, "")
    nbformat.write(nb, str(last))
    with pytest.raises(ValueError, match=f"{NOTEBOOKS[-1]}, cell \\d+: ### END SOLUTION without"):
        E.build_editions(tmp_path / "out", src)
    assert not (tmp_path / "out").exists()


def test_editions_are_written_whole(tmp_path):
    """Files are replaced, never left half-written: no temporary file stays behind."""
    E.build_editions(tmp_path, SRC)
    E.build_editions(tmp_path, SRC)
    assert sorted(p.name for p in (tmp_path / "student").iterdir()) == sorted(NOTEBOOKS)


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


@pytest.mark.book
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


@pytest.mark.book
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


SUBMISSIONS = load_script(ROOT / "tests" / "teaching" / "submissions.py")
#: Points of the checked tasks of each assignment (the written ones wait for the teacher).
CHECKED_POINTS = {a.number: sum(t.points for t in a.tasks if t.graded == "auto") for a in ASSIGNMENTS}


@pytest.mark.book
@pytest.mark.slow
def test_nbgrader_cycle(tmp_path):
    """The real nbgrader on the kit's course folder (its nbgrader_config.py, cell timeout included):
    generate every assignment, validate the wrong answers without any environment variable, then
    autograde and export a right, a wrong, an empty and a differently-written submission of every
    assignment: right and alternative get every checked point, wrong and empty 0."""
    pytest.importorskip("nbgrader")
    kit = load_script(ROOT / "scripts" / "classroom_kit.py")
    kit.build_kit(tmp_path / "kit", wheel=False)
    course = tmp_path / "kit" / "nbgrader"
    nbgrader = [sys.executable, "-m", "nbgrader"]
    # nbgrader calls the `alembic` script of its environment, so that environment's bin/ goes on PATH;
    # no CLASSP_* variable: the kit must work without one
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLASSP_")}
    env.update(PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]), OMP_NUM_THREADS="1")

    def sh(*args, ok=True):
        proc = subprocess.run(nbgrader + list(args), cwd=course, capture_output=True, text=True, env=env)
        assert (proc.returncode == 0) == ok, proc.stdout + proc.stderr
        return proc.stdout + proc.stderr

    sh("generate_assignment", "a*", "--force")  # a glob: every assignment of source/, one process
    wrong_paths = []
    for a in ASSIGNMENTS:
        release = read(course / "release" / f"a{a.number}" / a.notebook)
        assert "HIDDEN TESTS" not in json.dumps(release) and "BEGIN SOLUTION" not in json.dumps(release)
        for student in SUBMISSIONS.CASES:
            nb = read(course / "release" / f"a{a.number}" / a.notebook)
            answers = SUBMISSIONS.submission(a.notebook, student)
            assert SUBMISSIONS.fill(nb, answers) == len(answers)
            path = course / "submitted" / student / f"a{a.number}" / a.notebook
            path.parent.mkdir(parents=True)
            nbformat.write(nb, str(path))
            if student == "wrong":
                wrong_paths.append(str(path))
    # validate fails every wrong answer without any environment variable (checks.score asserts)
    out = sh("validate", *wrong_paths, ok=True)
    assert "Success! Your notebook passes all the tests." not in out, out
    assert out.count("did not pass its check") >= len(ASSIGNMENTS), out
    sh("autograde", "a*", "--force")  # the students and the assignments, one process
    sh("export")
    rows = list(csv.DictReader((course / "grades.csv").open()))
    scores = {(r["assignment"], r["student_id"]): float(r["raw_score"]) for r in rows}
    expected = {(f"a{a.number}", student): CHECKED_POINTS[a.number] * (student in ("right", "alternative"))
                for a in ASSIGNMENTS for student in SUBMISSIONS.CASES}
    assert scores == expected


# ------------------------------------------------------------------------------------------------
# editions never destroy work (issue 15)
# ------------------------------------------------------------------------------------------------
def _sources(tmp_path):
    import shutil

    src = tmp_path / "src"
    shutil.copytree(E.default_source(), src)
    return src


def _snapshot(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_edited_notebook_is_not_overwritten_without_force(tmp_path):
    out = tmp_path / "out"
    E.build_editions(out)
    edited = out / "student" / "a1_from_scratch.ipynb"
    edited.write_text(edited.read_text(encoding="utf-8").replace("YOUR CODE HERE", "my work"), encoding="utf-8")
    before = _snapshot(out)
    with pytest.raises(ValueError, match=r"1 file\(s\) .* would be overwritten .* pass --force"):
        E.build_editions(out)
    assert _snapshot(out) == before  # nothing written
    assert E.main(["build", "--out", str(out)]) == 2 and _snapshot(out) == before
    E.build_editions(out, force=True)
    assert "my work" not in edited.read_text(encoding="utf-8")
    E.build_editions(out)  # identical files: a rerun is fine


@pytest.mark.parametrize("layout", ["same", "src inside out", "out inside src"])
def test_src_and_out_may_not_hold_each_other(tmp_path, layout, capsys):
    src = _sources(tmp_path)
    if layout == "same":
        out = src
    elif layout == "src inside out":
        out = tmp_path
    else:
        out = src / "editions"
    before = _snapshot(tmp_path)
    word = {"same": "the same folder", "src inside out": "is inside --out", "out inside src": "is inside --src"}[layout]
    with pytest.raises(ValueError, match=word):
        E.build_editions(out, src, force=True)
    assert E.main(["build", "--out", str(out), "--src", str(src), "--force"]) == 2
    assert word in capsys.readouterr().err
    assert _snapshot(tmp_path) == before  # checked before anything is written


def test_the_issue_15_sequence_keeps_the_solutions(tmp_path):
    """`build --src DIR/student --out DIR` used to overwrite the sources; now it is refused."""
    out = tmp_path / "kit"
    E.build_editions(out)
    assert E.main(["build", "--src", str(out / "student"), "--out", str(out)]) == 2
    assert "### BEGIN SOLUTION" in (out / "teacher" / "a1_from_scratch.ipynb").read_text(encoding="utf-8")
