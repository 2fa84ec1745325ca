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
           "plot_frontier", "frontier_point"]


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
                         cmap: str = "viridis", title: str = "Accuracy matrix"):
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
        ax.plot(steps, curve[:, j], marker="o", ms=3, lw=1.3, label=result.task_names[j])
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
    _curve(result, result.density, ax, smooth, "C2", "density")
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
    _curve(result, result.losses, ax, smooth, "C0", "loss")
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
    base = plt.get_cmap("tab10" if T <= 10 else "tab20")
    colors = ["0.85"] + [base(i % base.N) for i in range(T)]
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
        color = f"C{c % 10}"
        ax.scatter(p[:, 0], p[:, 1], s=14, color=color, alpha=0.45)
        m = p.mean(axis=0)
        means.append(m)
        if len(p) > 1:
            s = p.std(axis=0, ddof=1)
            ax.errorbar(m[0], m[1], xerr=s[0], yerr=s[1], fmt="o", ms=7, color=color, capsize=3, label=lab)
        else:
            ax.scatter(m[0], m[1], s=50, color=color, label=lab)
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
