"""Matplotlib figures for runs: used by the chapters, the widgets and the sliders.

Every function draws on ``ax`` (a new figure when None), sets axis labels and a title, and returns
the :class:`matplotlib.axes.Axes`.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .._validation import check_int
from ..lab import metrics as _metrics

__all__ = ["plot_accuracy_matrix", "plot_accuracy_curves", "plot_density", "plot_losses", "plot_last_changed",
           "plot_frontier", "frontier_point", "PALETTE", "CMAP", "color", "use_book_style", "describe", "show"]

#: The book's colours, in order: Okabe & Ito's colour-blind-safe palette (Okabe and Ito, "Color
#: Universal Design", 2008), yellow last because thin yellow lines are hard to see on white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
#: Colormap of heatmaps: viridis is perceptually uniform and readable with every common colour-vision deficiency.
CMAP = "viridis"


def color(k: int) -> str:
    """The ``k``-th colour of :data:`PALETTE` (cycling)."""
    return PALETTE[int(k) % len(PALETTE)]


def use_book_style() -> None:
    """Make matplotlib's defaults the book's: :data:`PALETTE` as the colour cycle, :data:`CMAP` for
    images, and an opaque white figure background (legible in the theme's dark mode).

    Each chapter calls it once in its set-up cell; the functions of this module use the palette
    whether or not it was called.
    """
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams["axes.prop_cycle"] = cycler(color=list(PALETTE))
    mpl.rcParams["image.cmap"] = CMAP
    for key in ("figure.facecolor", "savefig.facecolor", "axes.facecolor"):
        mpl.rcParams[key] = "white"
    mpl.rcParams["savefig.transparent"] = False


def _axes(ax, figsize=(5, 4)):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize)
    return ax


def _task_boundaries(ax, result, stride: float = 1.0, label=True):
    for i, s in enumerate(result.task_boundaries[1:], start=1):
        ax.axvline(s, color="0.5", lw=0.8, ls="--", zorder=0)
    if label and result.task_boundaries:
        ymax = ax.get_ylim()[1]
        for i, s in enumerate(result.task_boundaries):
            ax.annotate(result.task_names[i] if i < len(result.task_names) else f"task {i}", (s, ymax),
                        xytext=(2, -2), textcoords="offset points", fontsize=7, va="top", ha="left", color="0.35")


def plot_accuracy_matrix(R, task_names: Sequence[str] | None = None, ax=None, annotate: bool = True,
                         cmap: str = CMAP, title: str = "Accuracy matrix"):
    """Heatmap of an accuracy matrix, ``R[i, j]`` = accuracy on task ``j`` after training task ``i``.

    Parameters
    ----------
    R : array-like (T, T) or Result
        The matrix, or a run whose ``accuracy_matrix`` (and task names) to show.
    task_names : sequence of str, optional
        Tick labels; default ``0..T-1`` (or the run's task names).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    annotate : bool, default True
        Write each value in its cell.
    cmap : str, default "viridis"
        Colormap (values are shown on a fixed 0..1 scale).
    title : str
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if hasattr(R, "accuracy_matrix"):
        task_names = task_names or R.task_names
        R = R.accuracy_matrix
    arr = _metrics.as_matrix(R)
    T = arr.shape[0]
    names = list(task_names) if task_names is not None else [str(i) for i in range(T)]
    if len(names) != T:
        raise ValueError(f"task_names must have T = {T} entries; got {len(names)}")
    ax = _axes(ax, figsize=(1.2 + 0.7 * T, 1.0 + 0.6 * T))
    im = ax.imshow(arr, vmin=0.0, vmax=1.0, cmap=cmap)
    ax.set_xticks(range(T), names, rotation=45 if max(map(len, names)) > 3 else 0, ha="right" if max(map(len, names)) > 3 else "center")
    ax.set_yticks(range(T), names)
    ax.set_xlabel("evaluated on task j")
    ax.set_ylabel("after training task i")
    ax.set_title(title)
    if annotate:
        for i in range(T):
            for j in range(T):
                ax.text(j, i, f"{arr[i, j]:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if arr[i, j] < 0.6 else "black")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="test accuracy")
    return ax


def plot_accuracy_curves(result, ax=None, title: str | None = None):
    """Test accuracy on every task over training steps, with dashed task boundaries.

    Parameters
    ----------
    result : Result
        A run; more points appear when it was run with ``eval_every``.
    ax : matplotlib.axes.Axes, optional
    title : str, optional
        Default: ``"Accuracy over time: <label>"``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, figsize=(6, 3.5))
    steps = np.asarray(result.eval_steps)
    curve = np.asarray(result.accuracy_curve)
    for j in range(result.n_tasks):
        ax.plot(steps, curve[:, j], marker="o", ms=3, lw=1.3, label=result.task_names[j], color=color(j))
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("training step")
    ax.set_ylabel("test accuracy")
    ax.set_title(title or f"Accuracy over time: {result.label}")
    _task_boundaries(ax, result, label=False)
    ax.legend(title="task", fontsize=7, title_fontsize=8, loc="lower left", ncol=max(1, result.n_tasks // 5))
    return ax


def _smooth(y: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(y) < window:
        return y
    kernel = np.ones(window) / window
    head = np.cumsum(y[: window - 1]) / np.arange(1, window)
    return np.concatenate([head, np.convolve(y, kernel, mode="valid")])


def _curve(result, values, ax, smooth, color, label):
    values = np.asarray(values, dtype=float)
    stride = getattr(result, "curve_stride", 1)
    x = np.arange(len(values)) * stride + (stride - 1) / 2
    if smooth is None:
        smooth = max(1, len(values) // 100)
    if smooth > 1:
        ax.plot(x, values, color=color, alpha=0.25, lw=0.6)
        ax.plot(x, _smooth(values, smooth), color=color, lw=1.5, label=f"{label} (mean of {smooth})")
    else:
        ax.plot(x, values, color=color, lw=1.2, label=label)


def plot_density(result, ax=None, smooth: int | None = None, title: str | None = None):
    """Update density per step: the fraction of weights a step changed.

    Parameters
    ----------
    result : Result
    ax : matplotlib.axes.Axes, optional
    smooth : int, optional
        Width of a running mean drawn over the raw curve (default: about 1 % of the steps;
        1 disables it).
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    smooth = check_int("smooth", smooth, 1, allow_none=True)
    ax = _axes(ax, figsize=(6, 3))
    _curve(result, result.density, ax, smooth, color(2), "density")
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("training step")
    ax.set_ylabel("fraction of weights changed")
    ax.set_title(title or f"Update density: {result.label}")
    _task_boundaries(ax, result)
    return ax


def plot_losses(result, ax=None, smooth: int | None = None, log: bool = False, title: str | None = None):
    """Training loss per step, with task boundaries.

    Parameters
    ----------
    result : Result
    ax : matplotlib.axes.Axes, optional
    smooth : int, optional
        Running-mean width (default about 1 % of the steps; 1 disables it).
    log : bool, default False
        Logarithmic y axis.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    smooth = check_int("smooth", smooth, 1, allow_none=True)
    ax = _axes(ax, figsize=(6, 3))
    _curve(result, result.losses, ax, smooth, color(0), "loss")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss (cross-entropy)")
    ax.set_title(title or f"Training loss: {result.label}")
    _task_boundaries(ax, result)
    return ax


def plot_last_changed(result, ax=None, width: int | None = None, title: str | None = None):
    """Per-weight map: which task last changed each weight (grey: never changed).

    The flattened weights (``model.parameters()`` order) are laid out row by row in a rectangle
    ``width`` pixels wide.

    Parameters
    ----------
    result : Result
        An in-memory run (``last_changed`` is not stored in results files).
    ax : matplotlib.axes.Axes, optional
    width : int, optional
        Pixels per row (default: about the square root of the number of weights).
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.colors as mcolors
    import matplotlib.patches as mpatches
    import matplotlib.pyplot as plt

    width = check_int("width", width, 1, allow_none=True)
    last = result.last_changed
    if last is None:
        raise ValueError("result.last_changed is None (runs loaded from a results file do not keep per-weight arrays)")
    last = np.asarray(last)
    n = len(last)
    if width is None:
        width = max(1, int(math.ceil(math.sqrt(n))))
    rows = int(math.ceil(n / width))
    img = np.full(rows * width, np.nan)
    img[:n] = last
    img = img.reshape(rows, width)
    T = result.n_tasks
    colors = ["0.85"] + [color(i) for i in range(T)]
    cmap = mcolors.ListedColormap(colors).with_extremes(bad="white")
    norm = mcolors.BoundaryNorm(np.arange(-1.5, T + 0.5), cmap.N)
    ax = _axes(ax, figsize=(5, 5 * rows / max(width, 1) + 0.8))
    ax.imshow(np.ma.masked_invalid(img), cmap=cmap, norm=norm, interpolation="nearest", aspect="auto")
    ax.set_xlabel(f"weight index mod {width}")
    ax.set_ylabel(f"weight index // {width}")
    ax.set_title(title or f"Task that last changed each weight: {result.label}")
    counts = [(last == k).sum() for k in range(-1, T)]
    handles = [mpatches.Patch(color=colors[0], label=f"never ({counts[0] / n:.0%})")]
    handles += [mpatches.Patch(color=colors[k + 1], label=f"{result.task_names[k]} ({counts[k + 1] / n:.0%})") for k in range(T)]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return ax


def frontier_point(R) -> tuple[float, float]:
    """The (new-task, old-task) accuracy pair of a run, for the stability-plasticity frontier.

    Parameters
    ----------
    R : array-like (T, T) or Result
        Accuracy matrix with ``T >= 2``.

    Returns
    -------
    (float, float)
        ``R[T-1, T-1]`` (plasticity: the task just learned) and the mean of ``R[T-1, :T-1]``
        (stability: the earlier tasks).
    """
    if hasattr(R, "accuracy_matrix"):
        R = R.accuracy_matrix
    arr = _metrics.as_matrix(R)
    if arr.shape[0] < 2:
        raise ValueError("R must have T >= 2 tasks to split old and new tasks")
    return float(arr[-1, -1]), float(arr[-1, :-1].mean())


def plot_frontier(results, ax=None, labels: Sequence[str] | None = None, connect: bool = False,
                  title: str = "Stability–plasticity frontier"):
    """Old-task accuracy against new-task accuracy at the end of each run.

    Each run is a small point; runs with the same label also get their mean with ± one standard
    deviation bars.  Upper-right is better: learning the new task without forgetting old ones.

    Parameters
    ----------
    results : sequence of Result, or sequence of (new_acc, old_acc) pairs
        Runs to place (see :func:`frontier_point`).
    ax : matplotlib.axes.Axes, optional
    labels : sequence of str, optional
        One label per entry (default: each run's ``label``; ``"run k"`` for bare pairs).
    connect : bool, default False
        Join the per-label means in the given order with a line (e.g. a hyper-parameter sweep).
    title : str

    Returns
    -------
    matplotlib.axes.Axes
    """
    results = list(results)
    if not results:
        raise ValueError("results must hold at least one run")
    if labels is not None and len(labels) != len(results):
        raise ValueError(f"labels must have one entry per run ({len(results)}); got {len(labels)}")
    pts, labs = [], []
    for k, r in enumerate(results):
        if hasattr(r, "accuracy_matrix"):
            pts.append(frontier_point(r))
            labs.append(labels[k] if labels is not None else r.label)
        else:
            new, old = r
            pts.append((float(new), float(old)))
            labs.append(labels[k] if labels is not None else f"run {k}")
    ax = _axes(ax, figsize=(5, 4.5))
    order = list(dict.fromkeys(labs))
    means = []
    for c, lab in enumerate(order):
        p = np.array([pt for pt, l in zip(pts, labs) if l == lab])
        col = color(c)
        ax.scatter(p[:, 0], p[:, 1], s=14, color=col, alpha=0.45)
        m = p.mean(axis=0)
        means.append(m)
        if len(p) > 1:
            s = p.std(axis=0, ddof=1)
            ax.errorbar(m[0], m[1], xerr=s[0], yerr=s[1], fmt="o", ms=7, color=col, capsize=3, label=lab)
        else:
            ax.scatter(m[0], m[1], s=50, color=col, label=lab)
    if connect and len(means) > 1:
        mm = np.array(means)
        ax.plot(mm[:, 0], mm[:, 1], color="0.4", lw=1, zorder=0)
    ax.set_xlabel("new-task accuracy (plasticity)")
    ax.set_ylabel("old-task accuracy (stability)")
    ax.set_title(title)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.plot([0, 1], [0, 1], color="0.85", lw=0.8, zorder=0)
    ax.legend(fontsize=7, loc="lower left")
    return ax


# ------------------------------------------------------------------------------------------ alt text
def _g(x: float) -> str:
    return f"{x:.3g}"


def _describe_axes(ax) -> str:
    """One paragraph about one axes, computed from the artists it holds."""
    parts = []
    title = ax.get_title()
    xl, yl = ax.get_xlabel(), ax.get_ylabel()
    kind = []
    lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_") and len(np.atleast_1d(ln.get_xdata())) > 1]
    images = ax.get_images()
    points = [c for c in ax.collections if hasattr(c, "get_offsets") and len(c.get_offsets())]
    if lines:
        kind.append("line chart")
    if images:
        kind.append("heatmap")
    if points and not lines:
        kind.append("scatter plot")
    head = (" and ".join(kind) or "chart").capitalize()
    parts.append(f"{head}{f' titled “{title}”' if title else ''}.")
    if xl or yl:
        x0, x1 = ax.get_xlim()
        parts.append(f"Horizontal axis: {xl or 'unlabelled'} from {_g(x0)} to {_g(x1)}; vertical axis: {yl or 'unlabelled'}.")
    for ln in lines:
        y = np.asarray(ln.get_ydata(), dtype=float)
        y = y[np.isfinite(y)]
        if not len(y):
            continue
        parts.append(f"{ln.get_label()}: starts at {_g(y[0])}, ranges from {_g(y.min())} to {_g(y.max())}, "
                     f"ends at {_g(y[-1])}, mean {_g(y.mean())}.")
    for im in images:
        a = np.ma.masked_invalid(np.asarray(im.get_array(), dtype=float))
        if a.ndim != 2 or a.count() == 0:
            continue
        txt = f"{a.shape[0]} by {a.shape[1]} cells from {_g(a.min())} to {_g(a.max())}, mean {_g(a.mean())}"
        if a.shape[0] <= 10 and a.shape[1] <= 10:
            rows = "; ".join(", ".join("–" if np.ma.is_masked(v) else f"{v:.2f}" for v in row) for row in a)
            txt += f"; rows: {rows}"
        parts.append(txt + ".")
    for c in points:
        off = np.asarray(c.get_offsets(), dtype=float)
        lab = c.get_label()
        name = "" if lab.startswith("_") else f"{lab}: "
        if len(off) <= 6:
            pts = ", ".join(f"({_g(px)}, {_g(py)})" for px, py in off)
            parts.append(f"{name}{len(off)} point{'s' * (len(off) > 1)} at {pts}.")
        else:
            m = off.mean(axis=0)
            parts.append(f"{name}{len(off)} points, mean ({_g(m[0])}, {_g(m[1])}).")
    legend = ax.get_legend()
    if legend is not None and not lines:
        labels = [t.get_text() for t in legend.get_texts()]
        if labels:
            parts.append("Legend: " + "; ".join(labels) + ".")
    return " ".join(parts)


def describe(fig) -> str:
    """Alt text of a figure, computed from the data it draws (never written by hand).

    For each axes (colorbars skipped): its kind, title and axis labels; for every labelled line its
    first, smallest, largest, last and mean value; for every heatmap its shape and range (all cells
    when at most 10 × 10); for every scatter its points (or their mean when more than six).

    Parameters
    ----------
    fig : matplotlib.figure.Figure or matplotlib.axes.Axes

    Returns
    -------
    str
    """
    if hasattr(fig, "get_figure") and not hasattr(fig, "axes"):
        fig = fig.get_figure()
    if hasattr(fig, "figure") and not hasattr(fig, "savefig"):
        fig = fig.figure
    if not hasattr(fig, "savefig"):
        raise ValueError(f"fig must be a matplotlib Figure or Axes; got {type(fig).__name__}")
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    if not axes:
        return "Empty figure."
    texts = [_describe_axes(ax) for ax in axes]
    if len(texts) == 1:
        return texts[0]
    return f"{len(texts)} panels. " + " ".join(f"Panel {k + 1}: {t}" for k, t in enumerate(texts))


def show(fig, alt: str | None = None, dpi: int = 100) -> str:
    """Display ``fig`` as a PNG output carrying its alt text, close it, and return the text.

    The alt text (from :func:`describe`, or ``alt``) travels in the output's metadata,
    ``{"image/png": {"alt": ...}}``, which the book's Sphinx extension (``book/_ext/classp_access.py``)
    puts on the ``<img>``: MyST-NB alone takes alt texts only from static cell metadata
    (``mystnb: image: alt:``), which a computed figure can contradict. A chapter therefore ends a
    figure cell with ``plots.show(fig)`` instead of ``plt.show()``; the cell's ``mystnb: figure:``
    caption and name still apply. Front ends without images print ``[figure] <alt text>``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure or matplotlib.axes.Axes
    alt : str, optional
        Alt text to use instead of :func:`describe` (e.g. one built from the same data).
    dpi : int, default 100

    Returns
    -------
    str
        The alt text (assert on it, or glue it).
    """
    import base64
    import io

    dpi = check_int("dpi", dpi, 10, 600)
    if hasattr(fig, "figure") and not hasattr(fig, "savefig"):
        fig = fig.figure
    text = describe(fig) if alt is None else str(alt)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", facecolor="white", transparent=False)
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except Exception:  # pragma: no cover - a Figure made without pyplot
        pass
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython is not installed
        return text
    display({"image/png": base64.b64encode(buf.getvalue()).decode("ascii"), "text/plain": f"[figure] {text}"},
            metadata={"image/png": {"alt": text}}, raw=True)
    return text
