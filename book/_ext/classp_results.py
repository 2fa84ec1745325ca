"""Sphinx extension of the CLASSP book: numbers for the Markdown pages, read from the results files.

The chapters glue their numbers with MyST-NB; the appendix pages are plain Markdown and execute no
code. This extension reads the results files of ``book/results/`` when the build starts and adds
MyST substitutions (``{{ name }}`` in a page) computed from them, so that a number on those pages
is never typed either. Today: the mean update density of SGD, AdaGrad, Adam and CLASSP in the
head-to-head runs (chapter 8's files ``head_to_head_<sequence>.json`` for the three digit
sequences, ``sentiment.json`` for the sentiment sequence), used by the glossary's "Update
density". A missing file or method is a build warning.

Enabled in ``_config.yml`` under ``sphinx: local_extensions``; tested by
``tests/test_book_statements_a.py``.
"""
from __future__ import annotations

import json
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

RESULTS = Path("book") / "results"
DIGITS = ("split-digits", "permuted-digits", "digits-shared-head")
METHODS = ("sgd", "adagrad", "adam", "classp")


def _mean_density(path: Path) -> dict[str, float]:
    summary = json.loads(path.read_text(encoding="utf-8"))["summary"]
    return {row["method"]: float(row["mean_density"]) for row in summary}


def _classp_threshold(path: Path) -> str:
    """The threshold of the file's CLASSP runs (one value), e.g. ``1e-6``."""
    runs = json.loads(path.read_text(encoding="utf-8"))["runs"]
    taus = {float(r["config"]["options"]["threshold"]) for r in runs if r["method"] == "classp"}
    if len(taus) != 1:
        raise ValueError(f"{path.name}: CLASSP ran with thresholds {sorted(taus)}, expected one")
    mantissa, exponent = f"{taus.pop():.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _span(values) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:.2f}" if f"{lo:.2f}" == f"{hi:.2f}" else f"{lo:.2f}–{hi:.2f}"


def density_substitutions(results: Path) -> dict[str, str]:
    """``density_<method>_digits`` (the range over the three digit sequences, two decimals),
    ``density_<method>_text`` (the sentiment sequence, three decimals), and CLASSP's threshold in
    those runs, ``classp_tau_digits`` and ``classp_tau_text``."""
    digits = [_mean_density(results / f"head_to_head_{name}.json") for name in DIGITS]
    text = _mean_density(results / "sentiment.json")
    out = {}
    for method in METHODS:
        out[f"density_{method}_digits"] = _span([d[method] for d in digits])
        out[f"density_{method}_text"] = f"{text[method]:.3f}"
    digit_taus = {_classp_threshold(results / f"head_to_head_{name}.json") for name in DIGITS}
    if len(digit_taus) != 1:
        raise ValueError(f"the digit sequences ran CLASSP with different thresholds {sorted(digit_taus)}")
    out["classp_tau_digits"] = digit_taus.pop()
    out["classp_tau_text"] = _classp_threshold(results / "sentiment.json")
    return out


def _add(app, config) -> None:
    try:
        subs = density_substitutions(Path(app.srcdir) / RESULTS)
    except (OSError, KeyError, ValueError) as exc:
        logger.warning(f"classp_results: cannot read the head-to-head results in {RESULTS} ({exc!r}); "
                       "regenerate them with the `command` recorded in each file")
        return
    config.myst_substitutions = {**(config.myst_substitutions or {}), **subs}


def setup(app):
    app.connect("config-inited", _add, priority=100)  # before MyST reads its configuration
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
