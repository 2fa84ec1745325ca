"""Shared fixtures. Book only: ``book_html``, the built book's HTML folder (built once per session)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _jupyter_book() -> str:
    """The jupyter-book executable next to this Python (a venv), else the one on PATH."""
    exe = Path(sys.executable).with_name("jupyter-book")
    return str(exe) if exe.exists() else "jupyter-book"


@pytest.fixture(scope="session")
def book_html() -> Path:
    """The built book's HTML folder, ``CLASSP_BOOK_HTML`` (default ``<repo>/_build/html``).

    The book is built with ``jupyter-book build <repo> --all -W --keep-going`` (into the folder two
    levels above the HTML folder, via ``--path-output``) only if its ``index.html`` is missing or
    ``CLASSP_BUILD_BOOK=1``; CI builds it first and the tests only read it. ``CLASSP_BOOK_CONFIG``
    passes ``--config`` (e.g. ``book/_vendor/_config_offline.yml`` for the offline site).
    """
    html = Path(os.environ.get("CLASSP_BOOK_HTML", REPO / "_build" / "html")).resolve()
    if os.environ.get("CLASSP_BUILD_BOOK") == "1" or not (html / "index.html").exists():
        if html.parts[-2:] != ("_build", "html"):
            pytest.fail(f"cannot build into {html}: CLASSP_BOOK_HTML must end in _build/html", pytrace=False)
        cmd = [_jupyter_book(), "build", str(REPO), "--path-output", str(html.parent.parent),
               "--all", "-W", "--keep-going"]
        if os.environ.get("CLASSP_BOOK_CONFIG"):
            cmd += ["--config", os.environ["CLASSP_BOOK_CONFIG"]]
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        if proc.returncode != 0:
            log = (proc.stdout + proc.stderr)[-6000:]
            pytest.fail(f"book build failed (rc {proc.returncode}): {' '.join(cmd)}\n{log}", pytrace=False)
    return html

