"""Sphinx extension of the CLASSP book: the package's wheel on the built site (issue 13 §2).

When the builder starts, it builds the wheel of the repository's package, exactly as
``pip wheel --no-deps --no-build-isolation`` does, from a copy of ``pyproject.toml``,
``README.md`` and ``classp/`` (so the checkout gets no ``build/`` or ``*.egg-info`` folders), and
when the build has finished it copies the wheel to the root of the output folder. The directive

    ```{classp-wheel}
    ```

puts a link to it (its file name, e.g. ``classp-0.1.0-py3-none-any.whl``, is the link text) on a
page, relative to that page, so it works on any host and offline. The page "Get the package"
(book/appendix/get_the_package.md) uses it, and the chapters' set-up cell installs the file when
it lies next to the notebook. A failed build of the wheel is a build warning (an error with -W).

Enabled in ``_config.yml`` under ``sphinx: local_extensions``; tested by
``tests/test_book_statements_a.py``.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.osutil import relative_uri

logger = logging.getLogger(__name__)

SOURCES = ("pyproject.toml", "README.md")


def build_wheel(root: Path, dest: Path) -> Path:
    """Build the wheel of the package at ``root`` into ``dest`` and return its path."""
    with tempfile.TemporaryDirectory(prefix="classp-wheel-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in SOURCES:
            shutil.copy(root / name, src / name)
        shutil.copytree(root / "classp", src / "classp", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        dest.mkdir(parents=True, exist_ok=True)
        for old in dest.glob("classp-*.whl"):
            old.unlink()
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                               "--no-index", "-q", "-w", str(dest), str(src)],
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(proc.stdout[-2000:] + proc.stderr[-2000:])
    wheels = sorted(dest.glob("classp-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one wheel in {dest}, found {[w.name for w in wheels]}")
    return wheels[0]


def _build(app) -> None:
    app._classp_wheel = None
    try:
        app._classp_wheel = build_wheel(Path(app.srcdir), Path(app.doctreedir).parent / "classp-wheel")
        logger.info(f"classp_wheel: built {app._classp_wheel.name}")
    except Exception as exc:  # reported as a warning: -W turns it into a failed build
        logger.warning(f"classp_wheel: `pip wheel --no-deps --no-build-isolation .` failed: {exc}")


class ClasspWheel(SphinxDirective):
    has_content = False

    def run(self):
        wheel = getattr(self.env.app, "_classp_wheel", None)
        if wheel is None:
            return [nodes.paragraph("", "(the wheel could not be built; see the build log)")]
        link = nodes.reference("", "", nodes.literal("", wheel.name), refuri=wheel.name, classes=["classp-wheel-link"])
        link["classp_wheel"] = wheel.name
        return [nodes.paragraph("", "", link, classes=["classp-wheel"])]


def _resolve(app, doctree, docname) -> None:
    for node in doctree.findall(nodes.reference):
        if "classp_wheel" not in node.attributes:
            continue
        try:
            node["refuri"] = relative_uri(app.builder.get_target_uri(docname), node["classp_wheel"])
        except Exception:  # builders without URIs (e.g. text) keep the bare file name
            node["refuri"] = node["classp_wheel"]


def _copy(app, exception) -> None:
    wheel = getattr(app, "_classp_wheel", None)
    if exception is None and wheel is not None and app.builder.format == "html":
        shutil.copy(wheel, Path(app.outdir) / wheel.name)


def setup(app):
    app.connect("builder-inited", _build)
    app.add_directive("classp-wheel", ClasspWheel)
    app.connect("doctree-resolved", _resolve)
    app.connect("build-finished", _copy)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
