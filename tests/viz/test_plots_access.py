"""Accessibility of the book's figures (issue 13 §3): colour-blind-safe palette and alt texts
computed from the data a figure draws (classp.viz.plots.describe / show)."""
from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from classp.viz import plots  # noqa: E402

OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}


def test_palette_is_okabe_ito_and_style_sets_it():
    assert set(plots.PALETTE) == OKABE_ITO and len(plots.PALETTE) == 8
    assert plots.color(0) == "#0072B2" and plots.color(9) == plots.PALETTE[1]
    with matplotlib.rc_context():
        plots.use_book_style()
        assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"] == list(plots.PALETTE)
        assert matplotlib.rcParams["image.cmap"] == "viridis"
        assert matplotlib.rcParams["savefig.facecolor"] == "white"


def test_alt_text_of_a_line_uses_its_data():
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2, 3], [0.25, 0.13, 0.2, 0.28], label="density")
    ax.set_title("Update density: CLASSP")
    ax.set_xlabel("training step")
    ax.set_ylabel("fraction of weights changed")
    ax.set_xlim(0, 3)
    text = plots.describe(fig)
    assert text == ("Line chart titled “Update density: CLASSP”. Horizontal axis: training step from 0 to 3; "
                    "vertical axis: fraction of weights changed. density: starts at 0.25, ranges from 0.13 "
                    "to 0.28, ends at 0.28, mean 0.215.")
    plt.close(fig)


def test_alt_text_of_a_heatmap_lists_small_matrices_and_skips_the_colorbar():
    R = np.array([[0.9, 0.1], [0.5, 0.8]])
    ax = plots.plot_accuracy_matrix(R, task_names=["a", "b"])
    text = plots.describe(ax)
    assert text.startswith("Heatmap titled “Accuracy matrix”.")
    assert "2 by 2 cells from 0.1 to 0.9, mean 0.575; rows: 0.90, 0.10; 0.50, 0.80." in text
    assert "panels" not in text  # the colorbar is not a panel
    plt.close(ax.figure)


def test_alt_text_of_a_frontier_gives_the_points():
    ax = plots.plot_frontier([(0.9, 0.2), (0.7, 0.6)], labels=["sgd", "classp"])
    text = plots.describe(ax)
    assert "sgd: 1 point at (0.9, 0.2)." in text and "classp: 1 point at (0.7, 0.6)." in text
    plt.close(ax.figure)


def test_two_panels_are_numbered_and_bad_input_refused():
    fig, (a, b) = plt.subplots(1, 2)
    a.plot([0, 1], [1, 2], label="x")
    b.plot([0, 1], [3, 4], label="y")
    text = plots.describe(fig)
    assert text.startswith("2 panels. Panel 1: Line chart.") and "Panel 2: Line chart." in text
    with pytest.raises(ValueError, match="fig must be a matplotlib Figure or Axes"):
        plots.describe("not a figure")
    plt.close(fig)


def test_show_puts_the_alt_text_in_the_png_output_metadata(monkeypatch):
    import base64

    shown = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj, metadata=None, raw=False: shown.append((obj, metadata, raw)))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0.5, 1.0], label='a "quoted" <line>')
    text = plots.show(fig)
    (obj, metadata, raw), = shown
    assert raw and obj["text/plain"] == f"[figure] {text}" and metadata == {"image/png": {"alt": text}}
    assert 'a "quoted" <line>: starts at 0.5, ranges from 0.5 to 1, ends at 1, mean 0.75.' in text
    assert base64.b64decode(obj["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)  # closed: no second copy from the inline backend
    fig2, _ = plt.subplots()
    assert plots.show(fig2, alt="given") == "given"
    with pytest.raises(ValueError, match="dpi"):
        plots.show(plt.figure(), dpi=5)


def test_kernel_free_slider_frames_get_alt_texts_from_their_figures():
    from matplotlib.figure import Figure

    from classp.viz.kernel_free import KernelFreeSlider

    def frame(p):
        fig = Figure(figsize=(2, 1.5))
        ax = fig.add_subplot()
        ax.plot([0, 1, 2], [p, 2 * p, 3 * p], label="line")
        return fig

    s = KernelFreeSlider.from_function(frame, {"p": [1, 2]})
    assert s.alts[0] == "p = 1. Line chart. line: starts at 1, ranges from 1 to 3, ends at 3, mean 2."
    assert s.alts[1] == "p = 2. Line chart. line: starts at 2, ranges from 2 to 6, ends at 6, mean 4."
    # an explicit alt still wins
    assert KernelFreeSlider.from_function(frame, {"p": [1]}, alt="given {values}").alts == ["given p = 1"]
