"""Sphinx extension of the CLASSP book: reading and run time under every chapter's title (issue 13 §3).

For every chapter (a document ``book/NN_*``) it reads ``book/results/timings.json`` (written by
``python scripts/timings.py``: the words of prose at a fixed reading speed, and the seconds the
notebook took to execute) and inserts one line right after the chapter's title, e.g.

    About 9 min to read · about 10 s to run (2 CPU cores; measured by python scripts/timings.py)

No notebook is edited and no number is typed: the line follows the file. A chapter missing from
the file (a new or renamed chapter), or whose recorded run failed, gets a build warning naming
``python scripts/timings.py`` (the book builds with ``-W``, so the warning stops the build until
the file is regenerated).

Enabled in ``_config.yml`` under ``sphinx: local_extensions``; tested by
``tests/test_book_statements_a.py``.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

CHAPTER = re.compile(r"^book/\d\d_[^/]+$")
TIMINGS = Path("book") / "results" / "timings.json"
COMMAND = "python scripts/timings.py"


def _load(app) -> dict:
    if not hasattr(app, "_classp_timings"):
        path = Path(app.srcdir) / TIMINGS
        try:
            app._classp_timings = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            logger.warning(f"classp_timings: cannot read {TIMINGS} ({exc}); run `{COMMAND}`")
            app._classp_timings = {}
    return app._classp_timings


def run_time(seconds: float) -> str:
    """``9.1`` -> ``'10 s'``, ``75`` -> ``'2 min'``: rounded up, never below the measurement."""
    if seconds < 60:
        return f"{max(1, math.ceil(seconds / 5) * 5 if seconds > 10 else math.ceil(seconds))} s"
    return f"{math.ceil(seconds / 60)} min"


def timing_line(entry: dict, cores) -> str:
    """The sentence under a chapter's title, from its entry of the timings file."""
    reading = math.ceil(float(entry["reading_min"]))
    where = f"{cores} CPU cores; " if cores else ""
    return (f"About {reading} min to read · about {run_time(float(entry['exec_s']))} to run "
            f"({where}measured by {COMMAND})")


def _insert(app, doctree) -> None:
    docname = app.env.docname
    if not CHAPTER.match(docname):
        return
    data = _load(app)
    app.env.note_dependency(str(Path(app.srcdir) / TIMINGS))  # a new timings file re-renders the chapter
    entry = (data.get("notebooks") or {}).get(f"{docname}.ipynb")
    if entry is None:
        logger.warning(f"{docname} has no entry in {TIMINGS}: run `{COMMAND}` to measure its reading "
                       f"and run time", location=docname)
        return
    if entry.get("status") != "ok":
        logger.warning(f"{docname}: its run recorded in {TIMINGS} did not succeed ({entry.get('status')}); "
                       f"run `{COMMAND}` again", location=docname)
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not section.children or not isinstance(section[0], nodes.title):
        logger.warning(f"{docname}: no title to put the reading time under", location=docname)
        return
    para = nodes.paragraph("", "", nodes.emphasis("", timing_line(entry, (data.get("machine") or {}).get("cpu_count"))),
                           classes=["classp-timing"])
    section.insert(1, para)


def setup(app):
    app.connect("doctree-read", _insert)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
