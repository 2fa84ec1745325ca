"""Sphinx extension of the CLASSP book: let the saved ipywidgets typeset with MathJax 3.

The HTML manager of ipywidgets (``@jupyter-widgets/html-manager`` 1.x, which MyST-NB loads to
render saved widget state) typesets every widget label with MathJax 2's
``MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])``. Sphinx loads MathJax 3, which has no
``Hub``, so each label raised ``Cannot read properties of undefined (reading 'Queue')`` in the
page. ``static/widgets-mathjax3.js`` maps that call onto MathJax 3's ``typesetPromise``. It is
loaded with ``defer`` after MathJax (a higher priority than MathJax's 500), so it runs once MathJax
has installed itself and before the widgets render (on DOMContentLoaded).

Enabled in ``_config.yml`` under ``sphinx: local_extensions``.
"""
from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"


def _add_static_path(app) -> None:
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("builder-inited", _add_static_path)
    app.add_js_file("widgets-mathjax3.js", defer="defer", priority=600)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
