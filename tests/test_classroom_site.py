"""The public site holds no assignment solution (issue 15): the assignment pages leave out the
solution cells and the model answers, and their downloadable notebooks are the student edition.
The `book` tests read the built site (`_build/html`); the last test checks the extension that
rewrites the downloadable copies, without a build."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from classp.teaching.assignments import ASSIGNMENTS
from classp.teaching.public_site import replace_sources

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "book" / "assignments"
HTML = ROOT / "_build" / "html"


def solution_lines(notebook):
    """Distinctive lines of the solutions: the code between the markers, the model answers' text."""
    out = []
    for cell in nbformat.read(str(SRC / notebook), as_version=4).cells:
        if "solution" not in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "code":
            body = cell.source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
        else:
            body = re.sub(r"\{glue:text\}`[^`]*`|\$[^$]*\$|`[^`]*`", "", cell.source)
        out += [ln.strip() for ln in body.splitlines() if len(ln.strip()) >= 25 and not ln.strip().startswith(":")]
    return out


def _text(path):
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


@pytest.mark.book
@pytest.mark.parametrize("notebook", [a.notebook for a in ASSIGNMENTS])
def test_the_built_assignment_page_has_no_solution(notebook):
    page = HTML / "book" / "assignments" / notebook.replace(".ipynb", ".html")
    if not page.is_file():
        pytest.skip("build the book first (README set-up command)")
    text = _text(page)
    lines = solution_lines(notebook)
    assert len(lines) >= 3
    leaked = [ln for ln in lines if ln in text]
    assert not leaked, leaked[:3]
    assert "Model answer" not in text and "BEGIN SOLUTION" not in text
    download = HTML / "_sources" / "book" / "assignments" / notebook
    if download.is_file():
        body = download.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in body and "Model answer" not in body
        assert "NotImplementedError" in body


@pytest.mark.book
def test_no_built_page_holds_an_assignment_solution():
    if not HTML.is_dir():
        pytest.skip("build the book first (README set-up command)")
    chapters = "\n".join(c.source for p in (ROOT / "book").glob("*.ipynb")
                          for c in nbformat.read(str(p), as_version=4).cells)
    # lines the chapters print too (e.g. `params = list(model.parameters())`) are not a solution
    lines = [ln for a in ASSIGNMENTS for ln in solution_lines(a.notebook) if ln not in chapters]
    assert len(lines) >= 20
    for page in HTML.rglob("*.html"):
        text = _text(page)
        leaked = [ln for ln in lines if ln in text]
        assert not leaked, (page, leaked[:2])


def test_downloadable_copies_become_the_student_edition(tmp_path):
    sources = tmp_path / "_sources" / "book" / "assignments"
    sources.mkdir(parents=True)
    for a in ASSIGNMENTS:
        shutil.copy(SRC / a.notebook, sources / a.notebook)
    done = replace_sources(tmp_path, ROOT)
    assert len(done) == len(ASSIGNMENTS)
    for a in ASSIGNMENTS:
        body = (sources / a.notebook).read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in body and "Model answer" not in body and "NotImplementedError" in body
        assert "git+https" in body and "--find-links ../wheel" not in body  # no wheel next to a download
        for ln in solution_lines(a.notebook):
            assert ln not in body
