"""Sphinx extension of the CLASSP book: phones, dark mode and print (issue 13 §3).

Adds ``static/classp-access.css`` to every page:

* phones (a 390-px-wide screen): long display equations, tables and code blocks scroll
  horizontally inside their own box instead of running off the right edge of the page;
  images never exceed the text width;
* dark mode (sphinx-book-theme sets ``html[data-theme=dark]``): figures keep an opaque white
  background and padding, so black axes and labels on matplotlib's transparent or white PNGs stay
  legible on the dark page;
* alt texts computed by :func:`classp.viz.plots.show` (in the output metadata) reach the ``<img>``;
* print (``scripts/pdf.sh`` prints the single-page build with headless Chromium): no sidebars,
  no buttons, equations and tables wrap instead of being clipped by a scroll box.

Enabled in ``_config.yml`` under ``sphinx: local_extensions``; tested by
``tests/test_browser_layout.py``.
"""
from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"


def _add_static_path(app) -> None:
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))


def _singlehtml_handlers(app) -> None:
    """Let the single-page build (``--builder singlehtml``, scripts/pdf.sh) render every node the
    multi-page build renders. Sphinx looks up a builder's node visitors by its name first and only
    falls back to the format (``html``) when that name has none; sphinx-exercise registers visitors
    for ``singlehtml``, so the ``html``-only ones (e.g. MyST-NB's ``HideCodeCellNode``) would be
    missing and the build raise ``NotImplementedError``. Copy the missing ones over."""
    handlers = app.registry.translation_handlers
    if app.builder.name == "singlehtml" and "singlehtml" in handlers:
        for node, visitors in handlers.get("html", {}).items():
            handlers["singlehtml"].setdefault(node, visitors)


def _alt_from_output_metadata() -> None:
    """Give an image output the alt text stored in its output metadata.

    MyST-NB 1.x copies only ``width`` and ``height`` from an output's metadata
    (``{"image/png": {...}}``) to the image; the alt text comes from static cell metadata. The
    book's figures are shown with :func:`classp.viz.plots.show`, which stores an alt text computed
    from the figure's data under ``alt`` there; this wrapper applies it (it wins over cell metadata,
    which it replaces)."""
    from myst_nb.core.render import NbElementRenderer

    if getattr(NbElementRenderer.render_image, "_classp_alt", False):
        return
    original = NbElementRenderer.render_image

    def render_image(self, data):
        out = original(self, data)
        alt = (data.output_metadata or {}).get(data.mime_type, {}).get("alt")
        if alt:
            for node in out:
                node["alt"] = str(alt)
        return out

    render_image._classp_alt = True
    NbElementRenderer.render_image = render_image


def setup(app):
    _alt_from_output_metadata()
    app.connect("builder-inited", _add_static_path)
    app.connect("builder-inited", _singlehtml_handlers)
    app.add_css_file("classp-access.css", priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
