"""A Sphinx extension of the book's build: the public site's downloadable assignment notebooks
hold no solutions.

The assignment pages drop their solution cells (tag ``remove-cell``: the cells run, so the
numbers after them are computed, but neither the code nor the model answers reach the HTML).
The page's download button serves the page's source notebook from ``_sources/``; when the build
has finished, this extension replaces each assignment's copy there by its student edition
(``scripts/editions.py``: stubs instead of solutions, no model answers), keeping the install line
of the repository. Listed in ``_config.yml`` under ``sphinx: extra_extensions``.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path


def _editions(root: Path):
    spec = importlib.util.spec_from_file_location("scripts_editions", root / "scripts" / "editions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def replace_sources(outdir, root) -> list:
    """Overwrite ``outdir/_sources/book/assignments/<notebook>`` with its student edition; returns
    the files replaced."""
    import nbformat

    from .assignments import ASSIGNMENTS

    root, outdir = Path(root), Path(outdir)
    E = _editions(root)
    done = []
    for a in ASSIGNMENTS:
        target = outdir / "_sources" / "book" / "assignments" / a.notebook
        if not target.is_file():
            continue
        nb = nbformat.read(str(root / "book" / "assignments" / a.notebook), as_version=4)
        student = E.student_notebook(nb, a.notebook)
        for cell in student.cells:  # no wheel next to a downloaded page: install from the repository
            cell["source"] = cell["source"].replace(E.WHEEL_INSTALL, E.REPO_INSTALL)
        target.write_text(E._dumps(student), encoding="utf-8")
        done.append(target)
    return done


def _finished(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        replace_sources(app.outdir, Path(app.srcdir))


def setup(app):
    app.connect("build-finished", _finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
