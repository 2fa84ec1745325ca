"""Sphinx extension of the CLASSP book: Vega, Vega-Lite and vega-embed on the pages that draw with them.

The kernel-free lab of chapter 12 (:mod:`classp.viz.lab_page`) is a Vega-Lite chart in a cell's HTML
output, marked ``class="classp-vega"``. On every page whose body holds that mark, this extension adds
the three scripts to the page's ``<head>`` (before the output's inline script runs):

* from ``_static/vega/`` when a folder of ``html_static_path`` holds them (the offline build:
  ``scripts/vendor_js.sh`` puts them in ``book/_vendor/static/vega/``), so the site works without
  a network;
* else from the jsDelivr CDN, at the versions of :data:`classp.viz.lab_page.VEGA_VERSIONS`.

Other pages load nothing. Enabled in ``_config.yml`` under ``sphinx: local_extensions``.
"""
from __future__ import annotations

from pathlib import Path

MARK = 'class="classp-vega'
FILES = ("vega/vega.min.js", "vega/vega-lite.min.js", "vega/vega-embed.min.js")


def _local(app) -> bool:
    """Whether a static folder of the build holds the vendored files."""
    for folder in app.config.html_static_path:
        base = Path(folder) if Path(folder).is_absolute() else Path(app.confdir) / folder
        if all((base / f).is_file() for f in FILES):
            return True
    return False


def _add_scripts(app, pagename, templatename, context, doctree) -> None:
    if app.builder is None or app.builder.format != "html" or MARK not in (context.get("body") or ""):
        return
    if _local(app):
        for f in FILES:
            app.add_js_file(f)
    else:
        from classp.viz.lab_page import VEGA_CDN

        for url in VEGA_CDN:
            app.add_js_file(url)


def setup(app):
    app.connect("html-page-context", _add_scripts)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
