"""Seeing what happened: matplotlib figures (:mod:`classp.viz.plots`), sliders that work on a static
page without a kernel (:mod:`classp.viz.kernel_free`, the machinery, and :mod:`classp.viz.sliders`,
the chapters' ready-made sliders), the kernel-free lab (:mod:`classp.viz.lab_grid`, its grid of stored
runs, and :mod:`classp.viz.lab_page`, its Vega-Lite page, needs ``altair``) and live ipywidgets
(:mod:`classp.viz.widgets`, needs a kernel and ``ipywidgets``). Submodules load on first access, so
``import classp.viz`` is cheap.
"""
import importlib
from typing import TYPE_CHECKING

__all__ = ["plots", "kernel_free", "sliders", "lab_grid", "lab_page", "widgets"]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from . import kernel_free, lab_grid, lab_page, plots, sliders, widgets


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'classp.viz' has no attribute {name!r}")
